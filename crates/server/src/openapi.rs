//! The OpenAPI 3.1 document of the API, generated from the handlers'
//! `#[utoipa::path]` attributes and the wire types, served at
//! `GET /api/v1/openapi.json` (public: it describes, it holds no data).
//! The web UI renders it at `/#/api`; a test checks that every route of the
//! router is in it and nothing else is.

use axum::Json;
use axum::response::IntoResponse;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityScheme};

use crate::{
    admin, assignments, beats, cameras, council, dto, evaluation, forecast, hotspots, imports, incidents, jobs, layers, near_repeat,
    patterns, plans, posts, public, risk_terrain, session, setup, threat,
};

struct Security;

impl utoipa::Modify for Security {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                session::COOKIE_NAME,
                "Set by POST /api/v1/auth/login (HttpOnly, SameSite=Strict). State-changing requests also need the X-CSRF-Token header from /api/v1/auth/me.",
            ))),
        );
    }
}

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Qalqan API",
        description = "Place-based public-safety analysis: territories, incidents, hotspots, time patterns, CompStat, imports, administration. Every read of incident detail and every write is recorded in a hash-chained audit trail. Errors are `{\"error\": \"…\"}`; 5xx bodies never carry internals.",
        license(name = "MIT")
    ),
    modifiers(&Security),
    security(("session" = [])),
    paths(
        crate::health, crate::ready, crate::territories, crate::stats,
        incidents::list, hotspots::get_hotspots, patterns::get_time, patterns::get_compstat, patterns::get_places, near_repeat::get_near_repeat, forecast::get_forecast, forecast::get_backtest, cameras::list, cameras::upload, cameras::coverage, posts::list, posts::upload, posts::plan, plans::camera_plan, plans::streets, plans::travel_time, plans::scenarios, plans::save_scenario, beats::list, beats::upload, beats::plan, assignments::bodies, assignments::add_body, assignments::meetings, assignments::add_meeting, assignments::list, assignments::create, assignments::dashboard, assignments::show, assignments::act, assignments::report, assignments::request_extension, assignments::decide_extension, assignments::attachment, assignments::notifications, assignments::read_notification, threat::facilities, threat::upload_facilities, threat::measures, threat::replace_measures, threat::levels, threat::declare, threat::extend, threat::lift, threat::checklist, threat::done, threat::inspections, threat::add_inspection, evaluation::list_interventions, evaluation::add_intervention, evaluation::get_evaluation, risk_terrain::get_risk_terrain, risk_terrain::list_layers, risk_terrain::upload_layer, council::get_council, public::territories, public::summary, public::cells, public::boundary,
        layers::boundaries, layers::points, layers::categories,
        imports::mappings, imports::upload, jobs::enqueue, jobs::list, jobs::show, jobs::result,
        session::login, session::logout, session::me, session::change_password, setup::create_first_administrator,
        admin::users, admin::add_user, admin::disable, admin::enable, admin::reset, admin::revoke_user_sessions, admin::set_scopes, admin::set_email,
        admin::agencies, admin::add_agency, admin::sessions, admin::revoke_session, admin::audit, admin::verify,
    ),
    components(schemas(
        crate::ErrorBody, dto::TerritoryDto, dto::StatsDto, dto::CategoryCount, dto::MonthCount, dto::DistrictCount,
        incidents::IncidentPage, incidents::IncidentDto, session::Me, session::LoginRequest, session::PasswordChange,
        setup::SetupRequest, admin::NewUserRequest, admin::ScopesRequest, admin::EmailRequest, admin::ScopeDto, admin::AgencyRequest, plans::ScenarioRequest, assignments::BodyRequest, assignments::MeetingRequest, assignments::ProtocolItemBody, assignments::AssignmentRequest, assignments::ActionRequest, assignments::ExtensionRequestBody, assignments::DecisionBody, threat::DeclareBody, threat::ExtendBody, threat::DoneBody, threat::InspectionBody, threat::FindingBody, evaluation::InterventionBody, jobs::JobRequest,
    )),
    tags(
        (name = "territories", description = "Territories, districts and their boundaries"),
        (name = "incidents", description = "Incident-level detail (audited; not for viewers and agency executors)"),
        (name = "analysis", description = "Hotspots, time patterns, CompStat, near repeats, forecasts"),
        (name = "imports", description = "Importing police exports"),
        (name = "planning", description = "Cameras, posts and their coverage; placement"),
        (name = "coordination", description = "Councils, commissions, meetings and assignments tracked to execution"),
        (name = "evaluation", description = "Prevention measures and whether they worked"),
        (name = "reports", description = "The council briefing pack"),
        (name = "public", description = "Aggregated open data of published territories, small counts withheld (no login)"),
        (name = "auth", description = "Sessions, passwords, first-administrator setup"),
        (name = "admin", description = "Accounts, agencies, sessions, audit (administrators)"),
        (name = "system", description = "Health and readiness"),
    )
)]
pub struct ApiDoc;

/// The document as JSON text: the handlers' attributes, plus what every operation may answer
/// before its handler runs (see [`document_rejections`]) and the other formats some return.
pub fn json() -> String {
    let mut doc = serde_json::to_value(ApiDoc::openapi()).unwrap_or_default();
    document_rejections(&mut doc);
    document_formats(&mut doc);
    doc.to_string()
}

fn error_response(description: &str) -> serde_json::Value {
    serde_json::json!({"description": description, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}}})
}

/// Answers the framework gives before a handler runs, for every operation they apply to: a
/// malformed path or query parameter or body (400), a body over its limit (413), a JSON body
/// sent as another content type (415) or of the wrong shape (422). All are `{"error": …}`
/// (`middleware::observe` turns the framework's plain-text rejections into it).
fn document_rejections(doc: &mut serde_json::Value) {
    let Some(paths) = doc.get_mut("paths").and_then(|p| p.as_object_mut()) else { return };
    for item in paths.values_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (method, op) in item.iter_mut() {
            if !["get", "post", "put", "patch", "delete"].contains(&method.as_str()) {
                continue;
            }
            let has_params = op["parameters"].as_array().is_some_and(|p| !p.is_empty());
            let body = op.get("requestBody").cloned();
            let json_body = body.as_ref().is_some_and(|b| b["content"].get("application/json").is_some());
            let Some(responses) = op.get_mut("responses").and_then(|r| r.as_object_mut()) else { continue };
            let mut add = |code: &str, description: &str| {
                responses.entry(code.to_owned()).or_insert_with(|| error_response(description));
            };
            if has_params || body.is_some() {
                add("400", "Invalid parameter or body (the message names it)");
            }
            if body.is_some() {
                add("413", "The body is over the size limit");
            }
            if json_body {
                add("415", "The body was not sent as application/json");
                add("422", "The JSON does not have the documented shape (the message names the field)");
            }
        }
    }
}

/// Success formats besides the one the attributes name: GeoJSON's own media type, CSV and HTML
/// where a `format` parameter asks for them, and the binary point layer as bytes.
fn document_formats(doc: &mut serde_json::Value) {
    const ALSO: &[(&str, &str, &[&str])] = &[
        ("/api/v1/public/territories/{name}/boundary", "application/json", &["application/geo+json"]),
        ("/api/v1/public/territories/{name}/cells", "application/json", &["application/geo+json", "text/csv"]),
        ("/api/v1/public/territories/{name}/summary", "application/json", &["text/csv"]),
        ("/api/v1/territories/{name}/hotspots", "application/json", &["application/geo+json", "text/csv"]),
        ("/api/v1/territories/{name}/reports/council", "application/pdf", &["text/html"]),
    ];
    for (path, known, also) in ALSO {
        let Some(content) = doc["paths"][*path]["get"]["responses"]["200"].get_mut("content").and_then(|c| c.as_object_mut()) else {
            continue;
        };
        let schema = content.get(*known).cloned().unwrap_or_else(|| serde_json::json!({}));
        for ty in *also {
            let schema = if ty.starts_with("text/") { serde_json::json!({"schema": {"type": "string"}}) } else { schema.clone() };
            content.entry(ty.to_string()).or_insert(schema);
        }
    }
    if let Some(c) =
        doc["paths"]["/api/v1/territories/{name}/points"]["get"]["responses"]["200"]["content"].get_mut("application/octet-stream")
    {
        *c = serde_json::json!({"schema": {"type": "string", "format": "binary"}});
    }
}

pub(crate) async fn document() -> impl IntoResponse {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    Json(DOC.get_or_init(|| serde_json::from_str(&json()).unwrap_or_default()).clone())
}

#[cfg(test)]
mod tests {
    /// The API paths the router serves, read from its source.
    fn routed_paths() -> std::collections::BTreeSet<String> {
        let src = include_str!("lib.rs");
        let router = &src[src.find("pub fn router(").expect("router fn")..];
        let router = &router[..router.find("\n}\n").expect("end of router fn")];
        router.split('"').filter(|s| s.starts_with("/api/v1/") && *s != "/api/v1/openapi.json").map(str::to_owned).collect()
    }

    #[test]
    fn every_operation_documents_the_rejections_that_can_precede_it() {
        let doc: serde_json::Value = serde_json::from_str(&super::json()).unwrap();
        let login = &doc["paths"]["/api/v1/auth/login"]["post"]["responses"];
        for code in ["400", "413", "415", "422"] {
            assert!(login.get(code).is_some(), "login lacks {code}");
        }
        let me = &doc["paths"]["/api/v1/auth/me"]["get"]["responses"];
        assert!(me.get("400").is_none() && me.get("415").is_none(), "no parameters, no body: nothing to reject");
        let cells = &doc["paths"]["/api/v1/public/territories/{name}/cells"]["get"]["responses"]["200"]["content"];
        assert!(cells.get("text/csv").is_some() && cells.get("application/geo+json").is_some(), "{cells}");
    }

    #[test]
    fn every_routed_path_is_documented_and_nothing_else() {
        let doc: serde_json::Value = serde_json::from_str(&super::json()).unwrap();
        let documented: std::collections::BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
        assert_eq!(documented, routed_paths());
        assert!(doc["openapi"].as_str().unwrap().starts_with("3."));
        // Every operation names its success and at least one failure (liveness cannot fail: it answers or not).
        for (path, item) in doc["paths"].as_object().unwrap().iter().filter(|(p, _)| *p != "/api/v1/health") {
            for (method, op) in item.as_object().unwrap() {
                let codes: Vec<&String> = op["responses"].as_object().unwrap().keys().collect();
                assert!(codes.iter().any(|c| c.starts_with('2')), "{method} {path}");
                assert!(codes.iter().any(|c| c.starts_with('4') || c.starts_with('5')), "{method} {path}");
            }
        }
    }
}

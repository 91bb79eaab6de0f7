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
    admin, assignments, beats, cameras, council, dto, evaluation, forecast, hotspots, imports, incidents, layers, near_repeat, patterns,
    plans, posts, public, risk_terrain, session, setup, threat,
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
        imports::mappings, imports::upload,
        session::login, session::logout, session::me, session::change_password, setup::create_first_administrator,
        admin::users, admin::add_user, admin::disable, admin::enable, admin::reset, admin::revoke_user_sessions, admin::set_scopes, admin::set_email,
        admin::agencies, admin::add_agency, admin::sessions, admin::revoke_session, admin::audit, admin::verify,
    ),
    components(schemas(
        crate::ErrorBody, dto::TerritoryDto, dto::StatsDto, dto::CategoryCount, dto::MonthCount, dto::DistrictCount,
        incidents::IncidentPage, incidents::IncidentDto, session::Me, session::LoginRequest, session::PasswordChange,
        setup::SetupRequest, admin::NewUserRequest, admin::ScopesRequest, admin::EmailRequest, admin::ScopeDto, admin::AgencyRequest, plans::ScenarioRequest, assignments::BodyRequest, assignments::MeetingRequest, assignments::ProtocolItemBody, assignments::AssignmentRequest, assignments::ActionRequest, assignments::ExtensionRequestBody, assignments::DecisionBody, threat::DeclareBody, threat::ExtendBody, threat::DoneBody, threat::InspectionBody, threat::FindingBody, evaluation::InterventionBody,
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

/// The document as JSON text.
pub fn json() -> String {
    ApiDoc::openapi().to_json().unwrap_or_else(|_| "{}".to_owned())
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

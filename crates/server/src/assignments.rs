//! Coordination on the wire: bodies, meetings, and assignments (поручения) tracked to execution.
//!
//! Who may do what:
//! - **See**: administrators, analysts and commanders see every assignment; anyone else only
//!   those their agency executes or co-executes (an account without an agency sees none).
//! - **Write** bodies, meetings and assignments: administrators, analysts, commanders.
//! - **Issue / cancel**: the assignment's author, its controller, or an administrator.
//! - **Accept / return** a report, **grant / refuse** an extension: the controller or an
//!   administrator.
//! - **Report / ask for an extension**: an account of the executing agency (not a viewer), or an
//!   administrator.
//!
//! Every write is audited by the store, with the assignment's own history of events.

use axum::Json;
use axum::extract::{ConnectInfo, Multipart, Path, Query, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::NaiveDate;
use qalqan_domain::account::Role;
use qalqan_domain::assignment::{AssignmentAction, AssignmentStatus, BodyKind, Deadline, NewAssignment, Priority, days_left, is_overdue};
use qalqan_store::Session;
use qalqan_store::coordination::{Assignment, AssignmentFilter, NewAttachment, NewBody, NewMeeting, NewReport, ProtocolItem, Source};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::session::CurrentSession;
use crate::{ApiError, AppState, ErrorBody};

/// Largest report upload (text and attachments), bytes.
pub const MAX_REPORT_BYTES: usize = 50 * 1024 * 1024;

fn manages(session: &Session) -> bool {
    matches!(session.user.role, Role::Administrator | Role::Analyst | Role::Commander)
}

fn require_manager(session: &Session) -> Result<(), ApiError> {
    if manages(session) {
        Ok(())
    } else {
        Err(ApiError::Forbidden(format!("the {} role cannot change coordination records", session.user.role)))
    }
}

/// Whether the user may see the assignment (see the module docs).
fn sees(session: &Session, a: &Assignment) -> bool {
    manages(session)
        || session
            .user
            .agency
            .as_deref()
            .is_some_and(|agency| a.assignment.executor == agency || a.assignment.co_executors.iter().any(|c| c == agency))
}

fn is_executor(session: &Session, a: &Assignment) -> bool {
    session.user.role == Role::Administrator
        || (session.user.role != Role::Viewer && session.user.agency.as_deref() == Some(a.assignment.executor.as_str()))
}

fn is_controller(session: &Session, a: &Assignment) -> bool {
    session.user.role == Role::Administrator || session.user.login.as_str() == a.assignment.controller
}

/// The assignment, or 404 when the user may not see it (as if absent).
async fn visible(state: &AppState, session: &Session, id: i64) -> Result<Assignment, ApiError> {
    let a = state.store.assignment(id).await?;
    if sees(session, &a) { Ok(a) } else { Err(ApiError::NotFound(format!("assignment '{id}' not found"))) }
}

/// The server's local calendar date (coordination records belong to no territory).
pub(crate) fn today() -> NaiveDate {
    chrono::Local::now().date_naive()
}

fn assignment_json(a: &Assignment, today: NaiveDate) -> Value {
    let x = &a.assignment;
    json!({
        "id": a.id, "body_id": a.source.body_id, "meeting_id": a.source.meeting_id, "parent_id": a.source.parent_id,
        "item": x.item, "text": x.text, "author": a.author, "executor": x.executor, "executor_person": x.executor_person,
        "co_executors": x.co_executors, "controller": x.controller, "deadline": x.deadline.to_string(), "due_on": a.due_on.to_string(),
        "priority": x.priority.code(), "place": x.place, "status": a.status.code(),
        "overdue": is_overdue(a.status, a.due_on, today), "days_left": a.status.is_open().then(|| days_left(a.due_on, today)),
        "version": a.version,
    })
}

/// The version a change was made on, from `If-Match` (`"7"`, `7` or `W/"7"`, as the `ETag` of
/// `GET /assignments/{id}` gives it); none or `*`: whatever the version is.
fn if_match(headers: &axum::http::HeaderMap) -> Result<Option<i64>, ApiError> {
    let Some(v) = headers.get(axum::http::header::IF_MATCH) else { return Ok(None) };
    let text = v.to_str().unwrap_or_default().trim();
    if text == "*" {
        return Ok(None);
    }
    text.trim_start_matches("W/").trim_matches('"').parse::<i64>().map(Some).map_err(|_| {
        ApiError::BadRequest(format!("If-Match '{text}' is not a version such as \"3\" (the ETag of GET /assignments/{{id}})"))
    })
}

/// The assignment as JSON with its version as the `ETag`.
fn with_etag(a: &Assignment, body: Value) -> Response {
    let mut r = Json(body).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("\"{}\"", a.version)) {
        r.headers_mut().insert(axum::http::header::ETAG, v);
    }
    r
}

/// Body of `POST /bodies`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct BodyRequest {
    pub name: String,
    /// coordination_council, antiterrorist_commission, operational_headquarters or other.
    pub kind: String,
    /// Member agencies, each optionally with a person: `[["Police department", ""], ["Akimat", "Deputy akim"]]`.
    #[serde(default)]
    pub members: Vec<(String, String)>,
    /// The territory it serves (its council packs show its assignments); none: several.
    pub territory: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/bodies", tag = "coordination", summary = "Councils, commissions and headquarters with their members", responses((status = 200, description = "The bodies", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody)))]
pub(crate) async fn bodies(State(state): State<AppState>, CurrentSession(_session): CurrentSession) -> Result<Response, ApiError> {
    let names: std::collections::HashMap<i64, String> =
        state.store.territories().await?.into_iter().map(|t| (t.id.0, t.name.to_string())).collect();
    let list: Vec<Value> = state
        .store
        .bodies()
        .await?
        .into_iter()
        .map(|b| {
            json!({
                "id": b.id, "name": b.name, "kind": b.kind.code(), "territory": b.territory_id.and_then(|t| names.get(&t).cloned()),
                "members": b.members.iter().map(|(a, p)| json!({"agency": a, "person": p})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({"bodies": list})).into_response())
}

#[utoipa::path(post, path = "/api/v1/bodies", tag = "coordination", summary = "Register a body (audited)", request_body = BodyRequest, responses((status = 201, description = "Its id", body = serde_json::Value), (status = 400, description = "Invalid field (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role does not allow it", body = ErrorBody), (status = 409, description = "A body of that name exists", body = ErrorBody)))]
pub(crate) async fn add_body(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Json(req): Json<BodyRequest>,
) -> Result<Response, ApiError> {
    require_manager(&session)?;
    let kind: BodyKind = req.kind.parse().map_err(|e: qalqan_domain::DomainError| ApiError::BadRequest(e.to_string()))?;
    let territory_id = match req.territory.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        None => None,
        Some(t) => Some(crate::scope::whole_territory(&state, &session, t).await?.id.0),
    };
    let body = NewBody { name: req.name, kind, members: req.members, territory_id };
    let id = state.store.add_body(&body, &crate::session::actor(&session, peer)).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

/// Body of `POST /bodies/{id}/meetings`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct MeetingRequest {
    /// `YYYY-MM-DD`.
    pub held_on: String,
    pub number: String,
    #[serde(default)]
    pub agenda: String,
    /// The protocol's items, in order.
    #[serde(default)]
    pub items: Vec<ProtocolItemBody>,
}

/// An item of a meeting's protocol.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ProtocolItemBody {
    /// "1", "2.1", …
    pub number: String,
    /// What was heard and decided.
    pub text: String,
}

/// A `YYYY-MM-DD` field, or 400 naming it.
pub(crate) fn date(field: &str, s: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").map_err(|_| ApiError::BadRequest(format!("{field} '{s}' is not a date YYYY-MM-DD")))
}

#[utoipa::path(get, path = "/api/v1/bodies/{id}/meetings", tag = "coordination", summary = "A body's meetings", params(("id" = i64, Path, description = "Body id")), responses((status = 200, description = "The meetings", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody)))]
pub(crate) async fn meetings(
    State(state): State<AppState>,
    CurrentSession(_session): CurrentSession,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let list: Vec<Value> = state
        .store
        .meetings(id)
        .await?
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id, "body_id": m.body_id, "held_on": m.held_on.to_string(), "number": m.number, "agenda": m.agenda,
                "items": m.items.iter().map(|i| json!({"number": i.number, "text": i.text})).collect::<Vec<_>>(),
            })
        })
        .collect();
    Ok(Json(json!({"meetings": list})).into_response())
}

#[utoipa::path(post, path = "/api/v1/bodies/{id}/meetings", tag = "coordination", summary = "Record a meeting (audited)", params(("id" = i64, Path, description = "Body id")), request_body = MeetingRequest, responses((status = 201, description = "Its id", body = serde_json::Value), (status = 400, description = "Invalid field (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role does not allow it", body = ErrorBody), (status = 409, description = "That protocol number exists", body = ErrorBody), (status = 404, description = "No such body", body = ErrorBody)))]
pub(crate) async fn add_meeting(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(id): Path<i64>,
    Json(req): Json<MeetingRequest>,
) -> Result<Response, ApiError> {
    require_manager(&session)?;
    if !state.store.bodies().await?.iter().any(|b| b.id == id) {
        return Err(ApiError::NotFound(format!("body '{id}' not found")));
    }
    let m = NewMeeting {
        body_id: id,
        held_on: date("held_on", &req.held_on)?,
        number: req.number.trim().to_owned(),
        agenda: req.agenda,
        items: req.items.into_iter().map(|i| ProtocolItem { number: i.number, text: i.text }).collect(),
    };
    let id = state.store.add_meeting(&m, &crate::session::actor(&session, peer)).await?;
    Ok((StatusCode::CREATED, Json(json!({"id": id}))).into_response())
}

/// Query of `GET /assignments`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssignmentQuery {
    /// Only this agency's (as executor or co-executor).
    pub agency: Option<String>,
    /// A status code.
    pub status: Option<String>,
    pub body: Option<i64>,
    /// Only overdue ones.
    pub overdue: Option<bool>,
    /// Only open ones due within this many days.
    pub due_within: Option<i64>,
}

async fn visible_list(state: &AppState, session: &Session, f: AssignmentFilter) -> Result<Vec<Assignment>, ApiError> {
    Ok(state.store.assignments(&f).await?.into_iter().filter(|a| sees(session, a)).collect())
}

#[utoipa::path(get, path = "/api/v1/assignments", tag = "coordination", summary = "Assignments by due date, those the user may see", params(AssignmentQuery), responses((status = 200, description = "The assignments", body = serde_json::Value), (status = 400, description = "Invalid parameter", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody)))]
pub(crate) async fn list(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Query(q): Query<AssignmentQuery>,
) -> Result<Response, ApiError> {
    let status = q.status.as_deref().map(str::parse::<AssignmentStatus>).transpose().map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let today = today();
    let list: Vec<Value> = visible_list(&state, &session, AssignmentFilter { agency: q.agency.clone(), status, body_id: q.body })
        .await?
        .iter()
        .filter(|a| !q.overdue.unwrap_or(false) || is_overdue(a.status, a.due_on, today))
        .filter(|a| q.due_within.is_none_or(|d| a.status.is_open() && days_left(a.due_on, today) <= d))
        .map(|a| assignment_json(a, today))
        .collect();
    Ok(Json(json!({"today": today.to_string(), "assignments": list})).into_response())
}

/// Body of `POST /assignments`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AssignmentRequest {
    pub body_id: i64,
    pub meeting_id: Option<i64>,
    pub parent_id: Option<i64>,
    #[serde(default)]
    pub item: String,
    pub text: String,
    pub executor: String,
    pub executor_person: Option<String>,
    #[serde(default)]
    pub co_executors: Vec<String>,
    /// The controller's login.
    pub controller: String,
    /// `YYYY-MM-DD` or `monthly|quarterly|half_yearly|yearly:DAY`.
    pub deadline: String,
    /// normal (default), high or urgent.
    pub priority: Option<String>,
    pub place: Option<String>,
    /// Keep as a draft instead of issuing at once.
    #[serde(default)]
    pub draft: bool,
}

#[utoipa::path(post, path = "/api/v1/assignments", tag = "coordination", summary = "Write an assignment, issued at once unless a draft (audited)", request_body = AssignmentRequest, responses((status = 201, description = "The assignment", body = serde_json::Value), (status = 400, description = "Invalid field (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role does not allow it", body = ErrorBody), (status = 404, description = "No such body, meeting or parent", body = ErrorBody)))]
pub(crate) async fn create(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Json(req): Json<AssignmentRequest>,
) -> Result<Response, ApiError> {
    require_manager(&session)?;
    let bad = |e: qalqan_domain::DomainError| ApiError::BadRequest(e.to_string());
    if !state.store.bodies().await?.iter().any(|b| b.id == req.body_id) {
        return Err(ApiError::NotFound(format!("body '{}' not found", req.body_id)));
    }
    if let Some(m) = req.meeting_id {
        if !state.store.meetings(req.body_id).await?.iter().any(|x| x.id == m) {
            return Err(ApiError::NotFound(format!("meeting '{m}' of body '{}' not found", req.body_id)));
        }
    }
    if let Some(p) = req.parent_id {
        visible(&state, &session, p).await?;
    }
    let deadline: Deadline = req.deadline.parse().map_err(bad)?;
    let priority: Priority = req.priority.as_deref().unwrap_or("normal").parse().map_err(bad)?;
    let a = NewAssignment::new(
        &req.item,
        &req.text,
        &req.executor,
        req.executor_person.as_deref(),
        &req.co_executors,
        &req.controller,
        deadline,
        priority,
        req.place.as_deref(),
    )
    .map_err(bad)?;
    let source = Source { body_id: req.body_id, meeting_id: req.meeting_id, parent_id: req.parent_id };
    let id = state.store.add_assignment(source, &a, !req.draft, today(), &crate::session::actor(&session, peer)).await?;
    let stored = state.store.assignment(id).await?;
    Ok((StatusCode::CREATED, Json(assignment_json(&stored, today()))).into_response())
}

#[utoipa::path(get, path = "/api/v1/assignments/{id}", tag = "coordination", summary = "An assignment with its history, extension requests and reports", params(("id" = i64, Path, description = "Assignment id")), responses((status = 200, description = "The assignment", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 404, description = "No such assignment (or not the user's agency's)", body = ErrorBody)))]
pub(crate) async fn show(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    let a = visible(&state, &session, id).await?;
    let events: Vec<Value> = state
        .store
        .assignment_events(id)
        .await?
        .into_iter()
        .map(|e| json!({"at": e.at, "actor": e.actor, "action": e.action, "from": e.from.map(|s| s.code()), "to": e.to.code(), "due_on": e.due_on.to_string(), "note": e.note}))
        .collect();
    let extensions: Vec<Value> = state
        .store
        .extension_requests(id)
        .await?
        .into_iter()
        .map(|r| json!({"id": r.id, "requested_by": r.requested_by, "new_due_on": r.new_due_on.to_string(), "reason": r.reason, "granted": r.granted, "decided_by": r.decided_by, "note": r.decision_note}))
        .collect();
    let reports: Vec<Value> = state
        .store
        .assignment_reports(id)
        .await?
        .into_iter()
        .map(|r| {
            json!({"id": r.id, "submitted_by": r.submitted_by, "submitted_at": r.submitted_at, "due_on": r.due_on.to_string(), "text": r.text,
                   "attachments": r.attachments.iter().map(|f| json!({"id": f.id, "file_name": f.file_name, "content_type": f.content_type, "size": f.size, "sha256": f.sha256})).collect::<Vec<_>>()})
        })
        .collect();
    let mut v = assignment_json(&a, today());
    v["events"] = json!(events);
    v["extensions"] = json!(extensions);
    v["reports"] = json!(reports);
    Ok(with_etag(&a, v))
}

/// Body of `POST /assignments/{id}/actions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ActionRequest {
    /// issue, accept, return or cancel (reports go to `…/reports`).
    pub action: String,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/assignments/{id}/actions", tag = "coordination", summary = "Issue, accept, return for rework or cancel (audited)", params(("id" = i64, Path, description = "Assignment id"), ("If-Match" = Option<String>, Header, description = "The version the change is made on (the ETag of GET /assignments/{id}); 409 if it changed since")), request_body = ActionRequest, responses((status = 200, description = "The assignment after it", body = serde_json::Value), (status = 400, description = "Not possible in its state", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "Not the user's to do", body = ErrorBody), (status = 404, description = "No such assignment", body = ErrorBody), (status = 409, description = "Changed meanwhile", body = ErrorBody)))]
pub(crate) async fn act(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
    Json(req): Json<ActionRequest>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let a = visible(&state, &session, id).await?;
    let action: AssignmentAction = req.action.parse().map_err(|e: qalqan_domain::DomainError| ApiError::BadRequest(e.to_string()))?;
    let allowed = match action {
        AssignmentAction::Issue | AssignmentAction::Cancel => {
            manages(&session) && (session.user.login.as_str() == a.author || is_controller(&session, &a))
        }
        AssignmentAction::Accept | AssignmentAction::Return => is_controller(&session, &a),
        AssignmentAction::SubmitReport => return Err(ApiError::BadRequest("reports are submitted to …/reports".into())),
    };
    if !allowed {
        return Err(ApiError::Forbidden(format!("only the assignment's author or controller may {action}")));
    }
    let after = state.store.act_on_assignment_at(id, expected, action, &req.note, None, &crate::session::actor(&session, peer)).await?;
    Ok(with_etag(&after, assignment_json(&after, today())))
}

#[utoipa::path(post, path = "/api/v1/assignments/{id}/reports", tag = "coordination", summary = "The executor's report (multipart: `text`, then any `file` parts: PDF, PNG, JPEG, text, CSV or DOCX up to 20 MiB each); audited", params(("id" = i64, Path, description = "Assignment id"), ("If-Match" = Option<String>, Header, description = "The version the change is made on (the ETag of GET /assignments/{id}); 409 if it changed since")), responses((status = 200, description = "The assignment after it", body = serde_json::Value), (status = 400, description = "Invalid report or state", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "Not the executing agency", body = ErrorBody), (status = 404, description = "No such assignment", body = ErrorBody)))]
pub(crate) async fn report(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
    mut form: Multipart,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let a = visible(&state, &session, id).await?;
    if !is_executor(&session, &a) {
        return Err(ApiError::Forbidden("only the executing agency reports on an assignment".into()));
    }
    let bad = |m: String| ApiError::BadRequest(m);
    let mut report = NewReport { text: String::new(), attachments: Vec::new() };
    while let Some(field) = form.next_field().await.map_err(|e| bad(format!("the upload could not be read: {e}")))? {
        match field.name().unwrap_or_default() {
            "text" => report.text = field.text().await.map_err(|e| bad(format!("text: {e}")))?,
            "file" => {
                let file_name = field.file_name().unwrap_or_default().to_owned();
                let content_type = field.content_type().unwrap_or("application/octet-stream").to_owned();
                let bytes = field.bytes().await.map_err(|e| bad(format!("{file_name}: {e}")))?.to_vec();
                report.attachments.push(NewAttachment { file_name, content_type, bytes });
            }
            other => return Err(bad(format!("unexpected part '{other}' (text, file)"))),
        }
    }
    let after = state
        .store
        .act_on_assignment_at(id, expected, AssignmentAction::SubmitReport, "", Some(&report), &crate::session::actor(&session, peer))
        .await?;
    Ok(with_etag(&after, assignment_json(&after, today())))
}

/// Body of `POST /assignments/{id}/extensions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ExtensionRequestBody {
    /// `YYYY-MM-DD`, after the current due date.
    pub new_due_on: String,
    pub reason: String,
}

#[utoipa::path(post, path = "/api/v1/assignments/{id}/extensions", tag = "coordination", summary = "The executor asks for a later due date (audited)", params(("id" = i64, Path, description = "Assignment id"), ("If-Match" = Option<String>, Header, description = "The version the change is made on (the ETag of GET /assignments/{id}); 409 if it changed since")), request_body = ExtensionRequestBody, responses((status = 201, description = "The request's id", body = serde_json::Value), (status = 400, description = "Invalid request or state", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "Not the executing agency", body = ErrorBody), (status = 404, description = "No such assignment", body = ErrorBody), (status = 409, description = "A request is pending", body = ErrorBody)))]
pub(crate) async fn request_extension(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
    Json(req): Json<ExtensionRequestBody>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let a = visible(&state, &session, id).await?;
    if !is_executor(&session, &a) {
        return Err(ApiError::Forbidden("only the executing agency asks for more time".into()));
    }
    let rid = state
        .store
        .request_extension_at(id, expected, date("new_due_on", &req.new_due_on)?, &req.reason, &crate::session::actor(&session, peer))
        .await?;
    Ok((StatusCode::CREATED, Json(json!({"id": rid}))).into_response())
}

/// Body of `POST /assignments/{id}/extensions/decision`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct DecisionBody {
    pub grant: bool,
    #[serde(default)]
    pub note: String,
}

#[utoipa::path(post, path = "/api/v1/assignments/{id}/extensions/decision", tag = "coordination", summary = "The controller grants or refuses the pending extension request (audited)", params(("id" = i64, Path, description = "Assignment id"), ("If-Match" = Option<String>, Header, description = "The version the change is made on (the ETag of GET /assignments/{id}); 409 if it changed since")), request_body = DecisionBody, responses((status = 200, description = "The assignment after it", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "Not the controller", body = ErrorBody), (status = 404, description = "No such assignment or no pending request", body = ErrorBody)))]
pub(crate) async fn decide_extension(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<std::net::SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(id): Path<i64>,
    headers: axum::http::HeaderMap,
    Json(req): Json<DecisionBody>,
) -> Result<Response, ApiError> {
    let expected = if_match(&headers)?;
    let a = visible(&state, &session, id).await?;
    if !is_controller(&session, &a) {
        return Err(ApiError::Forbidden("only the assignment's controller decides on more time".into()));
    }
    let after = state.store.decide_extension_at(id, expected, req.grant, &req.note, &crate::session::actor(&session, peer)).await?;
    Ok(with_etag(&after, assignment_json(&after, today())))
}

#[utoipa::path(get, path = "/api/v1/assignments/{id}/attachments/{file}", tag = "coordination", summary = "A report's attachment, as stored (its SHA-256 is in the assignment)", params(("id" = i64, Path, description = "Assignment id"), ("file" = i64, Path, description = "Attachment id")), responses((status = 200, description = "The file"), (status = 401, description = "Not logged in", body = ErrorBody), (status = 404, description = "No such attachment of a visible assignment", body = ErrorBody)))]
pub(crate) async fn attachment(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path((id, file)): Path<(i64, i64)>,
) -> Result<Response, ApiError> {
    visible(&state, &session, id).await?;
    let info = state
        .store
        .assignment_reports(id)
        .await?
        .into_iter()
        .flat_map(|r| r.attachments)
        .find(|f| f.id == file)
        .ok_or_else(|| ApiError::NotFound(format!("attachment '{file}' not found")))?;
    let bytes = state.store.attachment_bytes(file).await?;
    let mut response = bytes.into_response();
    let h = response.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&info.content_type) {
        h.insert(header::CONTENT_TYPE, v);
    }
    let safe: String = info.file_name.chars().map(|c| if c.is_ascii_alphanumeric() || ".-_".contains(c) { c } else { '_' }).collect();
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{safe}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/assignments/dashboard", tag = "coordination", summary = "On control, due within 7 days, overdue by agency, share of reports on time, extensions granted — over the assignments the user may see", responses((status = 200, description = "The figures", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody)))]
pub(crate) async fn dashboard(State(state): State<AppState>, CurrentSession(session): CurrentSession) -> Result<Response, ApiError> {
    let today = today();
    let all = visible_list(&state, &session, AssignmentFilter::default()).await?;
    let open: Vec<&Assignment> = all.iter().filter(|a| a.status.is_open()).collect();
    let due_soon = open.iter().filter(|a| a.status.awaits_executor() && (0..=7).contains(&days_left(a.due_on, today))).count();
    let mut by_agency: std::collections::BTreeMap<&str, (u64, u64)> = std::collections::BTreeMap::new();
    for a in &open {
        let e = by_agency.entry(a.assignment.executor.as_str()).or_default();
        e.0 += 1;
        e.1 += u64::from(is_overdue(a.status, a.due_on, today));
    }
    let (mut reports, mut on_time, mut asked, mut granted) = (0u64, 0u64, 0u64, 0u64);
    let visible: std::collections::HashSet<i64> = all.iter().map(|a| a.id).collect();
    let (report_times, decisions) = state.store.coordination_record().await?;
    for (_, submitted_at, due_on) in report_times.iter().filter(|r| visible.contains(&r.0)) {
        reports += 1;
        let submitted = chrono::DateTime::from_timestamp(*submitted_at, 0).map(|t| t.with_timezone(&chrono::Local).date_naive());
        on_time += u64::from(submitted.is_some_and(|d| d <= *due_on));
    }
    for (_, g) in decisions.iter().filter(|d| visible.contains(&d.0)) {
        asked += 1;
        granted += u64::from(*g);
    }
    let share = |n: u64, of: u64| if of == 0 { None } else { Some((n as f64 / of as f64 * 1e4).round() / 1e4) };
    Ok(Json(json!({
        "today": today.to_string(),
        "on_control": open.len(),
        "due_within_7_days": due_soon,
        "overdue": open.iter().filter(|a| is_overdue(a.status, a.due_on, today)).count(),
        "by_agency": by_agency.iter().map(|(k, (n, late))| json!({"agency": k, "on_control": n, "overdue": late})).collect::<Vec<_>>(),
        "reports": {"total": reports, "on_time": on_time, "share_on_time": share(on_time, reports)},
        "extensions": {"decided": asked, "granted": granted, "share_granted": share(granted, asked)},
        "accepted": all.iter().filter(|a| a.status == AssignmentStatus::Accepted).count(),
    }))
    .into_response())
}

/// Days before the due date a reminder goes out.
pub const REMIND_DAYS: i64 = 3;

/// Writes the reminders and escalations now and every hour (see `Store::generate_notifications`)
/// and e-mails them when a relay is configured (see [`crate::email`]); failures are logged and
/// retried at the next hour.
pub async fn notify_every_hour(
    store: qalqan_store::Store,
    mailer: Option<std::sync::Arc<crate::email::Mailer>>,
    retention: qalqan_domain::retention::RetentionPolicy,
    holder: String,
) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    // Several instances may serve one database: the one holding the lease runs the job (renewed
    // every hour; taken over by another instance once it lapses).
    loop {
        tick.tick().await;
        match store.try_lease("hourly", &holder, chrono::Duration::minutes(65)).await {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                tracing::warn!(error = %e, "the hourly job's lease could not be taken");
                continue;
            }
        }
        let actor = qalqan_domain::audit::Actor { name: "qalqan".into(), origin: "notifier".into() };
        match store.generate_notifications(today(), REMIND_DAYS, &actor).await {
            Ok(0) => {}
            Ok(n) => tracing::info!(new = n, "assignment notifications written"),
            Err(e) => tracing::warn!(error = %e, "assignment notifications failed"),
        }
        if let Some(mailer) = &mailer {
            match crate::email::deliver(&store, mailer, today(), &actor).await {
                Ok(r) if r.relay_error.is_some() => tracing::warn!(
                    error = r.relay_error.as_deref().unwrap_or(""),
                    "notification e-mail: relay unavailable, retrying in an hour"
                ),
                Ok(r) if r.sent + r.refused > 0 => tracing::info!(sent = r.sent, refused = r.refused, "notification e-mail delivered"),
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "notification e-mail failed"),
            }
        }
        let retention_actor = qalqan_domain::audit::Actor { name: "qalqan".into(), origin: "retention".into() };
        match crate::apply_retention(&store, &retention, chrono::Utc::now(), false, &retention_actor).await {
            Ok(done) => {
                for (category, cutoff, rows) in done.into_iter().filter(|d| d.2 > 0) {
                    tracing::info!(category = category.code(), %cutoff, rows, "retention: purged");
                }
            }
            Err(e) => tracing::warn!(error = %e, "retention failed"),
        }
    }
}

/// Query of `GET /notifications`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NotificationQuery {
    /// Only unread ones.
    pub unread: Option<bool>,
}

#[utoipa::path(get, path = "/api/v1/notifications", tag = "coordination", summary = "The user's reminders (due within 3 days) and escalations (overdue), newest first", params(NotificationQuery), responses((status = 200, description = "The notifications", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody)))]
pub(crate) async fn notifications(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Query(q): Query<NotificationQuery>,
) -> Result<Response, ApiError> {
    let list: Vec<Value> = state
        .store
        .notifications(session.user.login.as_str(), q.unread.unwrap_or(false))
        .await?
        .into_iter()
        .map(|n| json!({"id": n.id, "assignment_id": n.assignment_id, "kind": n.kind, "due_on": n.due_on.to_string(), "message": n.message, "created_at": n.created_at, "read": n.read_at.is_some()}))
        .collect();
    Ok(Json(json!({"notifications": list})).into_response())
}

#[utoipa::path(post, path = "/api/v1/notifications/{id}/read", tag = "coordination", summary = "Mark one of the user's notifications read", params(("id" = i64, Path, description = "Notification id")), responses((status = 204, description = "Marked"), (status = 401, description = "Not logged in", body = ErrorBody), (status = 404, description = "Not the user's, or already read", body = ErrorBody)))]
pub(crate) async fn read_notification(
    State(state): State<AppState>,
    CurrentSession(session): CurrentSession,
    Path(id): Path<i64>,
) -> Result<Response, ApiError> {
    if state.store.mark_notification_read(id, session.user.login.as_str()).await? {
        Ok(StatusCode::NO_CONTENT.into_response())
    } else {
        Err(ApiError::NotFound(format!("unread notification '{id}' not found")))
    }
}

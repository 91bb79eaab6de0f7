//! Administration over HTTP (administrators only): accounts, their
//! territory scope and sessions, agencies, and the audit trail. Every
//! change is audited by the store in the same transaction.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::StatusCode;
use chrono::SecondsFormat;
use qalqan_domain::account::{Login, NewPassword, Role};
use qalqan_domain::{DistrictId, TerritoryId, TerritoryName};
use qalqan_store::{AccountState, NewUser, PasswordState, Session, SessionsOf};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::auth::{generate_password, hash_password};
use crate::session::{CurrentSession, actor};
use crate::{ApiError, AppState, ErrorBody};

fn require_admin(session: &Session) -> Result<(), ApiError> {
    if session.user.role == Role::Administrator {
        Ok(())
    } else {
        Err(ApiError::Forbidden("administration is for administrators only".into()))
    }
}

fn login(s: &str) -> Result<Login, ApiError> {
    Login::parse(s).map_err(|e| ApiError::BadRequest(e.to_string()))
}

fn rfc3339(t: chrono::DateTime<chrono::Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// A new one-time password and its Argon2id hash (hashed off the async threads).
async fn one_time_password(login: &Login) -> Result<(String, String), ApiError> {
    let plain = generate_password().map_err(|e| ApiError::Internal(e.to_string()))?;
    let password = NewPassword::parse(&plain, login).map_err(|e| ApiError::Internal(e.to_string()))?;
    let hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    Ok((plain, hash))
}

/// A scope as the API names it.
#[derive(Debug, Serialize, Deserialize, Clone, PartialEq, utoipa::ToSchema)]
pub struct ScopeDto {
    pub territory: String,
    pub district: Option<String>,
}

/// Resolves named scopes to ids; unknown names are a 400 naming them.
async fn resolve_scopes(state: &AppState, scopes: &[ScopeDto]) -> Result<Vec<(TerritoryId, Option<DistrictId>)>, ApiError> {
    let mut out = Vec::new();
    for s in scopes {
        let name = TerritoryName::parse(&s.territory).map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let t = state.store.territory(&name).await.map_err(|e| match e {
            qalqan_store::StoreError::NotFound { .. } => ApiError::BadRequest(format!("no territory '{}'", s.territory)),
            other => other.into(),
        })?;
        let d = match &s.district {
            None => None,
            Some(d) => Some(
                t.district_by_name(d).ok_or_else(|| ApiError::BadRequest(format!("territory {} has no district '{d}'", s.territory)))?.id,
            ),
        };
        if !out.contains(&(t.id, d)) {
            out.push((t.id, d));
        }
    }
    Ok(out)
}

#[utoipa::path(get, path = "/api/v1/admin/users", tag = "admin", summary = "Accounts with scope and live sessions", responses((status = 200, description = "Accounts", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody)))]
pub(crate) async fn users(State(state): State<AppState>, CurrentSession(session): CurrentSession) -> Result<Json<Value>, ApiError> {
    require_admin(&session)?;
    let territories = state.store.territories().await?;
    let sessions = state.store.live_sessions().await?;
    let emails = state.store.user_emails().await?;
    let mut out = Vec::new();
    for u in state.store.users().await? {
        let mut scopes = Vec::new();
        for (t, d) in &u.scopes {
            let Some(summary) = territories.iter().find(|x| x.id == *t) else { continue };
            let district = match d {
                None => None,
                Some(d) => {
                    let full =
                        state.store.territory(&TerritoryName::parse(&summary.name).map_err(|e| ApiError::Internal(e.to_string()))?).await?;
                    full.districts.iter().find(|x| x.id == *d).map(|x| x.name.to_string())
                }
            };
            scopes.push(ScopeDto { territory: summary.name.clone(), district });
        }
        out.push(json!({
            "login": u.login.as_str(),
            "display_name": u.display_name,
            "role": u.role.code(),
            "agency": u.agency,
            "email": emails.get(u.login.as_str()),
            "state": match u.state { AccountState::Active => "active", AccountState::Disabled => "disabled" },
            "locked_until": u.locked_until.map(rfc3339),
            "must_change_password": u.password_state == PasswordState::MustChange,
            "scopes": scopes,
            "sessions": sessions.iter().filter(|s| s.login == u.login.as_str()).count(),
        }));
    }
    Ok(Json(Value::Array(out)))
}

/// Body of `POST /api/v1/admin/users`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewUserRequest {
    pub login: String,
    pub display_name: Option<String>,
    /// administrator, analyst, commander, district_inspector, agency_executor or viewer.
    pub role: String,
    pub agency: Option<String>,
    /// Whole territories the user may see.
    #[serde(default)]
    pub territories: Vec<String>,
}

#[utoipa::path(post, path = "/api/v1/admin/users", tag = "admin", summary = "Create an account; answers its one-time password once", request_body = NewUserRequest, responses((status = 201, description = "Created", body = serde_json::Value), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 409, description = "Already exists", body = ErrorBody)))]
pub(crate) async fn add_user(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Json(req): Json<NewUserRequest>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    require_admin(&session)?;
    let l = login(&req.login)?;
    let role: Role = req.role.parse().map_err(|e: qalqan_domain::DomainError| ApiError::BadRequest(e.to_string()))?;
    let scopes: Vec<ScopeDto> = req.territories.iter().map(|t| ScopeDto { territory: t.clone(), district: None }).collect();
    let scopes = resolve_scopes(&state, &scopes).await?;
    let (plain, hash) = one_time_password(&l).await?;
    let user = NewUser {
        display_name: req.display_name.map(|n| n.trim().to_owned()).filter(|n| !n.is_empty()).unwrap_or_else(|| l.to_string()),
        login: l.clone(),
        role,
        agency: req.agency.map(|a| a.trim().to_owned()).filter(|a| !a.is_empty()),
        password_hash: hash,
        password_state: PasswordState::MustChange,
    };
    let who = actor(&session, peer);
    state.store.add_user(&user, &who).await.map_err(|e| match e {
        qalqan_store::StoreError::Conflict { .. } => ApiError::Conflict(format!("user '{l}' already exists")),
        other => other.into(),
    })?;
    if !scopes.is_empty() {
        state.store.set_scopes(&l, &scopes, &who).await?;
    }
    // Shown once; only its hash is stored.
    Ok((StatusCode::CREATED, Json(json!({"login": l.as_str(), "password": plain}))))
}

pub(crate) async fn set_state(
    state: &AppState,
    peer: SocketAddr,
    session: &Session,
    l: &str,
    to: AccountState,
) -> Result<StatusCode, ApiError> {
    require_admin(session)?;
    let l = login(l)?;
    if to == AccountState::Disabled && l == session.user.login {
        return Err(ApiError::BadRequest("you cannot disable your own account".into()));
    }
    state.store.set_account_state(&l, to, &actor(session, peer)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(post, path = "/api/v1/admin/users/{login}/disable", tag = "admin", summary = "Disable an account and end its sessions", params(("login" = String, Path, description = "Account login")), responses((status = 204, description = "Disabled"), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody)))]
pub(crate) async fn disable(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(l): Path<String>,
) -> Result<StatusCode, ApiError> {
    set_state(&state, peer, &session, &l, AccountState::Disabled).await
}

#[utoipa::path(post, path = "/api/v1/admin/users/{login}/enable", tag = "admin", summary = "Enable an account", params(("login" = String, Path, description = "Account login")), responses((status = 204, description = "Enabled"), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody)))]
pub(crate) async fn enable(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(l): Path<String>,
) -> Result<StatusCode, ApiError> {
    set_state(&state, peer, &session, &l, AccountState::Active).await
}

#[utoipa::path(post, path = "/api/v1/admin/users/{login}/reset", tag = "admin", summary = "Issue a new one-time password; ends the account's sessions", params(("login" = String, Path, description = "Account login")), responses((status = 200, description = "The one-time password", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody)))]
pub(crate) async fn reset(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(l): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&session)?;
    let l = login(&l)?;
    state.store.user(&l).await?.ok_or_else(|| ApiError::NotFound(format!("user '{l}' not found")))?;
    let (plain, hash) = one_time_password(&l).await?;
    state.store.set_password(&l, &hash, PasswordState::MustChange, None, &actor(&session, peer)).await?;
    Ok(Json(json!({"login": l.as_str(), "password": plain})))
}

#[utoipa::path(post, path = "/api/v1/admin/users/{login}/sessions/revoke", tag = "admin", summary = "End every session of an account", params(("login" = String, Path, description = "Account login")), responses((status = 200, description = "How many were ended", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody)))]
pub(crate) async fn revoke_user_sessions(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(l): Path<String>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&session)?;
    let l = login(&l)?;
    state.store.user(&l).await?.ok_or_else(|| ApiError::NotFound(format!("user '{l}' not found")))?;
    let n = state.store.revoke_sessions(SessionsOf::User(&l), &actor(&session, peer)).await?;
    Ok(Json(json!({"revoked": n})))
}

/// Body of `PUT /api/v1/admin/users/{login}/scopes`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ScopesRequest {
    pub scopes: Vec<ScopeDto>,
}

#[utoipa::path(put, path = "/api/v1/admin/users/{login}/scopes", tag = "admin", summary = "Replace the territories and districts an account may see", params(("login" = String, Path, description = "Account login")), request_body = ScopesRequest, responses((status = 204, description = "Replaced"), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody)))]
pub(crate) async fn set_scopes(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(l): Path<String>,
    Json(req): Json<ScopesRequest>,
) -> Result<StatusCode, ApiError> {
    require_admin(&session)?;
    let l = login(&l)?;
    state.store.user(&l).await?.ok_or_else(|| ApiError::NotFound(format!("user '{l}' not found")))?;
    let scopes = resolve_scopes(&state, &req.scopes).await?;
    state.store.set_scopes(&l, &scopes, &actor(&session, peer)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `PUT /api/v1/admin/users/{login}/email`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct EmailRequest {
    /// Where the account's reminders and escalations are e-mailed; null or empty removes it.
    pub email: Option<String>,
}

#[utoipa::path(put, path = "/api/v1/admin/users/{login}/email", tag = "admin", summary = "Set or remove the address an account's reminders and escalations are e-mailed to", params(("login" = String, Path, description = "Account login")), request_body = EmailRequest, responses((status = 204, description = "Set"), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such account", body = ErrorBody)))]
pub(crate) async fn set_email(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(l): Path<String>,
    Json(req): Json<EmailRequest>,
) -> Result<StatusCode, ApiError> {
    require_admin(&session)?;
    let l = login(&l)?;
    let email = match req.email.as_deref().map(str::trim) {
        None | Some("") => None,
        Some(e) => Some(qalqan_domain::account::EmailAddress::parse(e).map_err(|e| ApiError::BadRequest(e.to_string()))?),
    };
    state.store.set_email(&l, email.as_ref(), &actor(&session, peer)).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/api/v1/admin/agencies", tag = "admin", summary = "Agencies with their number of accounts", responses((status = 200, description = "Agencies", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody)))]
pub(crate) async fn agencies(State(state): State<AppState>, CurrentSession(session): CurrentSession) -> Result<Json<Value>, ApiError> {
    require_admin(&session)?;
    let list = state.store.agencies().await?;
    Ok(Json(Value::Array(list.into_iter().map(|(name, users)| json!({"name": name, "users": users})).collect())))
}

/// Body of `POST /api/v1/admin/agencies`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct AgencyRequest {
    pub name: String,
}

#[utoipa::path(post, path = "/api/v1/admin/agencies", tag = "admin", summary = "Register an agency", request_body = AgencyRequest, responses((status = 201, description = "Created"), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 409, description = "Already exists", body = ErrorBody)))]
pub(crate) async fn add_agency(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Json(req): Json<AgencyRequest>,
) -> Result<StatusCode, ApiError> {
    require_admin(&session)?;
    let name = req.name.trim();
    if name.is_empty() || name.chars().count() > 200 || name.chars().any(char::is_control) {
        return Err(ApiError::BadRequest("an agency name is 1 to 200 printable characters".into()));
    }
    state.store.add_agency(name, &actor(&session, peer)).await.map_err(|e| match e {
        qalqan_store::StoreError::Conflict { .. } => ApiError::Conflict(format!("agency '{name}' already exists")),
        other => other.into(),
    })?;
    Ok(StatusCode::CREATED)
}

#[utoipa::path(get, path = "/api/v1/admin/sessions", tag = "admin", summary = "Live sessions", responses((status = 200, description = "Sessions", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody)))]
pub(crate) async fn sessions(State(state): State<AppState>, CurrentSession(session): CurrentSession) -> Result<Json<Value>, ApiError> {
    require_admin(&session)?;
    let list = state.store.live_sessions().await?;
    Ok(Json(Value::Array(
        list.into_iter()
            .map(|s| {
                json!({"id": s.id, "login": s.login, "created_at": rfc3339(s.created_at), "expires_at": rfc3339(s.expires_at),
                       "origin": s.origin, "current": s.id == session.id})
            })
            .collect(),
    )))
}

#[utoipa::path(delete, path = "/api/v1/admin/sessions/{id}", tag = "admin", summary = "End one session", params(("id" = i64, Path, description = "Session id")), responses((status = 204, description = "Ended"), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody), (status = 404, description = "No such live session", body = ErrorBody)))]
pub(crate) async fn revoke_session(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Path(id): Path<i64>,
) -> Result<StatusCode, ApiError> {
    require_admin(&session)?;
    match state.store.revoke_sessions(SessionsOf::Id(id), &actor(&session, peer)).await? {
        0 => Err(ApiError::NotFound(format!("no live session {id}"))),
        _ => Ok(StatusCode::NO_CONTENT),
    }
}

/// Query of `GET /api/v1/admin/audit`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditQuery {
    /// Entries older than this sequence number (newest first). Default: the newest.
    pub before: Option<i64>,
    /// Page size, 1–1000. Default 100.
    pub limit: Option<u32>,
    /// Only actions containing this text.
    pub action: Option<String>,
    /// Only actors containing this text.
    pub actor: Option<String>,
}

#[utoipa::path(get, path = "/api/v1/admin/audit", tag = "admin", summary = "The audit trail, newest first (reading it is itself audited)", params(AuditQuery), responses((status = 200, description = "Entries and the cursor of the next page", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody)))]
pub(crate) async fn audit(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Query(q): Query<AuditQuery>,
) -> Result<Json<Value>, ApiError> {
    require_admin(&session)?;
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let (action, who) = (q.action.as_deref().unwrap_or("").trim(), q.actor.as_deref().unwrap_or("").trim());
    let entries = state.store.audit_search(q.before, limit, action, who).await?;
    // Reading the trail is itself recorded: it shows who looked at whom.
    let read = qalqan_domain::audit::NewAuditEntry {
        actor: actor(&session, peer),
        action: "audit.read".into(),
        object: "audit_log".into(),
        detail: json!({"before": q.before, "action": action, "actor": who, "returned": entries.len()}).to_string(),
        purpose: None,
    };
    state.store.audit(&read).await?;
    let next_before = (entries.len() == limit as usize).then(|| entries.last().map(|e| e.id)).flatten();
    let list: Vec<Value> = entries
        .iter()
        .map(|e| {
            json!({"seq": e.id, "at": e.at.to_rfc3339_opts(SecondsFormat::Millis, true), "actor": e.actor, "origin": e.origin,
                   "action": e.action, "object": e.object, "detail": e.detail, "purpose": e.purpose})
        })
        .collect();
    Ok(Json(json!({"entries": list, "next_before": next_before})))
}

#[utoipa::path(get, path = "/api/v1/admin/audit/verify", tag = "admin", summary = "Verify the audit trail's hash chain", responses((status = 200, description = "Intact, or the first broken entry", body = serde_json::Value), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody)))]
pub(crate) async fn verify(State(state): State<AppState>, CurrentSession(session): CurrentSession) -> Result<Json<Value>, ApiError> {
    require_admin(&session)?;
    let (entries, result) = state.store.verify_audit().await?;
    Ok(Json(match result {
        Ok(head) => json!({"ok": true, "entries": entries, "head": head, "break": null}),
        Err(b) => {
            let seq = match b {
                qalqan_domain::audit::ChainBreak::Altered { id } | qalqan_domain::audit::ChainBreak::Unlinked { id } => id,
                qalqan_domain::audit::ChainBreak::Gap { next, .. } => next,
            };
            json!({"ok": false, "entries": entries, "head": null, "break": {"seq": seq, "reason": b.to_string()}})
        }
    }))
}

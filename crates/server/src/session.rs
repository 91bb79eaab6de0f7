//! Logging in and out: server-side sessions in the database, an HttpOnly
//! SameSite=Strict cookie holding a random token (only its SHA-256 is
//! stored), a per-session CSRF token required on every state-changing
//! request, and account lockout after repeated failures.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, FromRequestParts, State};
use axum::http::header::{COOKIE, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use qalqan_domain::account::{Login, NewPassword};
use qalqan_domain::audit::Actor;
use qalqan_store::{AccountState, PasswordState, Session};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::auth::{hash_password, random_bytes, verify_password};
use crate::{ApiError, AppState, ErrorBody};

/// Name of the session cookie.
pub const COOKIE_NAME: &str = "qalqan_session";
/// Header carrying the CSRF token on POST, PUT, PATCH and DELETE.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Session and lockout settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SessionPolicy {
    /// Session lifetime. Default 12 hours (a shift).
    pub ttl: chrono::Duration,
    /// Failed logins in a row before the account locks. Default 5.
    pub lock_after: u32,
    /// How long a lock lasts. Default 15 minutes.
    pub lock_for: chrono::Duration,
    /// Add `Secure` to the cookie (set when served over TLS). Default false.
    pub secure_cookie: bool,
    /// Login attempts allowed per client address per minute. Default 20.
    pub attempts_per_minute: u32,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            ttl: chrono::Duration::hours(12),
            lock_after: 5,
            lock_for: chrono::Duration::minutes(15),
            secure_cookie: false,
            attempts_per_minute: 20,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn cookie_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE_NAME)
        .map(|(_, v)| v.to_owned())
}

/// The logged-in user's session; rejects with 401 without one, and with 403
/// on a state-changing request whose CSRF header does not match.
pub struct CurrentSession(pub Session);

impl FromRequestParts<AppState> for CurrentSession {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        // A job run by a worker on behalf of its user (set in code, never from the network).
        if let Some(crate::jobs::JobSession(session)) = parts.extensions.get::<crate::jobs::JobSession>() {
            return Ok(CurrentSession(session.clone()));
        }
        let token = cookie_token(&parts.headers).ok_or(ApiError::Unauthorized)?;
        let session = state.store.session(&token_hash(&token)).await?.ok_or(ApiError::Unauthorized)?;
        // A one-time password (new account, reset) must be replaced before anything else.
        if session.user.password_state == PasswordState::MustChange
            && !matches!(parts.uri.path(), "/api/v1/auth/me" | "/api/v1/auth/password" | "/api/v1/auth/logout")
        {
            return Err(ApiError::Forbidden("change your one-time password first (POST /api/v1/auth/password)".into()));
        }
        let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
        if !safe {
            let sent = parts.headers.get(CSRF_HEADER).and_then(|v| v.to_str().ok()).unwrap_or("");
            // Both are 64 hex digits; compare without an early exit.
            let same = sent.len() == session.csrf_token.len()
                && sent.bytes().zip(session.csrf_token.bytes()).fold(0u8, |acc, (a, b)| acc | (a ^ b)) == 0;
            if !same {
                return Err(ApiError::Forbidden("missing or wrong CSRF token (send the X-CSRF-Token header from /api/v1/auth/me)".into()));
            }
        }
        Ok(CurrentSession(session))
    }
}

/// Login attempts per client address in fixed one-minute windows (in
/// memory: a restart forgets them, the per-account lockout in the database
/// does not).
#[derive(Debug, Default)]
pub struct AttemptLimiter {
    windows: std::sync::Mutex<std::collections::HashMap<std::net::IpAddr, (std::time::Instant, u32)>>,
}

impl AttemptLimiter {
    /// Counts an attempt from `ip`; false when it is over `per_minute`.
    pub fn allow(&self, ip: std::net::IpAddr, per_minute: u32) -> bool {
        let now = std::time::Instant::now();
        let Ok(mut windows) = self.windows.lock() else { return false };
        if windows.len() > 10_000 {
            windows.retain(|_, (start, _)| now.duration_since(*start).as_secs() < 60);
        }
        let entry = windows.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0).as_secs() >= 60 {
            *entry = (now, 0);
        }
        entry.1 += 1;
        entry.1 <= per_minute
    }
}

/// The logged-in user acting from the client's address, for the audit trail.
pub(crate) fn actor(session: &Session, peer: SocketAddr) -> Actor {
    Actor { name: session.user.login.to_string(), origin: peer.ip().to_string() }
}

/// Body of `POST /api/v1/auth/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    pub login: String,
    pub password: String,
}

/// Who is logged in, and the CSRF token for their requests.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Me {
    pub login: String,
    pub display_name: String,
    pub role: String,
    pub agency: Option<String>,
    pub must_change_password: bool,
    pub csrf_token: String,
}

impl Me {
    fn of(s: &Session) -> Self {
        Self {
            login: s.user.login.to_string(),
            display_name: s.user.display_name.clone(),
            role: s.user.role.code().to_owned(),
            agency: s.user.agency.clone(),
            must_change_password: s.user.password_state == PasswordState::MustChange,
            csrf_token: s.csrf_token.clone(),
        }
    }
}

fn wrong_credentials() -> ApiError {
    ApiError::Unauthorized
}

/// A valid Argon2id hash of a random password, verified against when the
/// login does not exist, so both cases take the same time.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$cXFxcXFxcXFxcXFxcXFxcQ$4xV0XCaLmH7lzO7T5vDtTfIpkC5DmcXwD/mRM3pVJxI";

#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth", summary = "Log in: sets the session cookie", request_body = LoginRequest, responses((status = 200, description = "The user and the CSRF token", body = Me), (status = 401, description = "Not logged in", body = ErrorBody), (status = 429, description = "Too many attempts", body = ErrorBody)))]
pub(crate) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<LoginRequest>,
) -> Result<Response, ApiError> {
    let policy = state.sessions;
    if !state.login_attempts.allow(peer.ip(), policy.attempts_per_minute) {
        return Err(ApiError::TooManyAttempts);
    }
    let login = Login::parse(&req.login).ok();
    let user = match &login {
        Some(l) => state.store.user(l).await?,
        None => None,
    };
    let actor = Actor { name: req.login.trim().to_lowercase(), origin: peer.ip().to_string() };
    let Some(user) = user else {
        let password = req.password.clone();
        let _ = tokio::task::spawn_blocking(move || verify_password(&password, DUMMY_HASH)).await;
        return Err(wrong_credentials());
    };
    if user.locked_until.is_some_and(|t| t > Utc::now()) {
        return Err(ApiError::TooManyAttempts);
    }
    let (password, phc) = (req.password.clone(), user.password_hash.clone());
    let ok = tokio::task::spawn_blocking(move || verify_password(&password, &phc)).await.unwrap_or(false);
    if !ok || user.state == AccountState::Disabled {
        if !ok && state.store.login_failed(&user, policy.lock_after, policy.lock_for, &actor).await?.is_some() {
            return Err(ApiError::TooManyAttempts);
        }
        return Err(wrong_credentials());
    }
    let token = hex(&random_bytes::<32>().map_err(|e| ApiError::Internal(e.to_string()))?);
    let csrf = hex(&random_bytes::<32>().map_err(|e| ApiError::Internal(e.to_string()))?);
    let expires = Utc::now() + policy.ttl;
    state.store.create_session(&user, &token_hash(&token), &csrf, expires, &actor).await?;
    let session = state.store.session(&token_hash(&token)).await?.ok_or(ApiError::Unauthorized)?;
    let cookie = format!(
        "{COOKIE_NAME}={token}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        policy.ttl.num_seconds(),
        if policy.secure_cookie { "; Secure" } else { "" }
    );
    let mut response = Json(Me::of(&session)).into_response();
    response.headers_mut().insert(SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?);
    Ok(response)
}

#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth", summary = "Who is logged in, with the CSRF token", responses((status = 200, description = "The user", body = Me), (status = 401, description = "Not logged in", body = ErrorBody)))]
pub(crate) async fn me(CurrentSession(session): CurrentSession) -> Json<Me> {
    Json(Me::of(&session))
}

#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth", summary = "Log out: ends this session", responses((status = 204, description = "Logged out"), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody)))]
pub(crate) async fn logout(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
) -> Result<Response, ApiError> {
    let actor = actor(&session, peer);
    state.store.revoke_session(&session, &actor).await?;
    let mut response = StatusCode::NO_CONTENT.into_response();
    let cookie = format!("{COOKIE_NAME}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0");
    response.headers_mut().insert(SET_COOKIE, HeaderValue::from_str(&cookie).map_err(|e| ApiError::Internal(e.to_string()))?);
    Ok(response)
}

/// Body of `POST /api/v1/auth/password`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct PasswordChange {
    pub current: String,
    pub new: String,
}

#[utoipa::path(post, path = "/api/v1/auth/password", tag = "auth", summary = "Change one's password", request_body = PasswordChange, responses((status = 204, description = "Changed; other sessions ended"), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 401, description = "Not logged in", body = ErrorBody), (status = 403, description = "The role or scope does not allow it", body = ErrorBody)))]
pub(crate) async fn change_password(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    CurrentSession(session): CurrentSession,
    Json(req): Json<PasswordChange>,
) -> Result<StatusCode, ApiError> {
    let phc = session.user.password_hash.clone();
    let current = req.current.clone();
    if !tokio::task::spawn_blocking(move || verify_password(&current, &phc)).await.unwrap_or(false) {
        return Err(ApiError::Forbidden("the current password is wrong".into()));
    }
    let new = NewPassword::parse(&req.new, &session.user.login).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let hash = tokio::task::spawn_blocking(move || hash_password(&new))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let actor = actor(&session, peer);
    state.store.set_password(&session.user.login, &hash, PasswordState::Set, Some(session.id), &actor).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_dummy_hash_is_a_real_argon2id_hash_so_unknown_logins_cost_the_same() {
        assert!(argon2::password_hash::phc::PasswordHash::new(DUMMY_HASH).is_ok());
        assert!(!verify_password("anything", DUMMY_HASH));
    }

    #[test]
    fn the_attempt_limiter_counts_per_address() {
        let l = AttemptLimiter::default();
        let (a, b): (std::net::IpAddr, std::net::IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        assert!((0..3).all(|_| l.allow(a, 3)));
        assert!(!l.allow(a, 3));
        assert!(l.allow(b, 3), "another address has its own budget");
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(COOKIE, HeaderValue::from_static("theme=dark; qalqan_session=abc123; lang=ru"));
        assert_eq!(cookie_token(&h).as_deref(), Some("abc123"));
        assert_eq!(cookie_token(&HeaderMap::new()), None);
    }
}

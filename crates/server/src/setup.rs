//! The first administrator: with no account in the database, `qalqan serve`
//! prints a one-time token; whoever holds it creates the first
//! administrator through `POST /api/v1/setup`. There is no default password.

use std::net::SocketAddr;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use qalqan_domain::account::{Login, NewPassword, Role};
use qalqan_domain::audit::Actor;
use qalqan_store::{NewUser, PasswordState};
use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::auth::{hash_password, random_bytes};
use crate::{ApiError, AppState, ErrorBody};

/// Body of `POST /api/v1/setup`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct SetupRequest {
    pub token: String,
    pub login: String,
    pub display_name: String,
    pub password: String,
}

fn hash(token: &str) -> String {
    Sha256::digest(token.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// Issues a new one-time token when no account exists; `None` otherwise.
pub async fn issue_token(state: &AppState) -> Result<Option<String>, ApiError> {
    if state.store.has_users().await? {
        return Ok(None);
    }
    let token: String = random_bytes::<16>().map_err(|e| ApiError::Internal(e.to_string()))?.iter().map(|b| format!("{b:02x}")).collect();
    *state.setup_token.lock().map_err(|_| ApiError::Internal("setup lock poisoned".into()))? = Some(hash(&token));
    Ok(Some(token))
}

#[utoipa::path(post, path = "/api/v1/setup", tag = "auth", summary = "Create the first administrator with the one-time setup token", request_body = SetupRequest, responses((status = 201, description = "Created"), (status = 400, description = "Invalid parameter (the message names it)", body = ErrorBody), (status = 403, description = "Setup is closed or the token is wrong", body = ErrorBody)))]
pub(crate) async fn create_first_administrator(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    Json(req): Json<SetupRequest>,
) -> Result<StatusCode, ApiError> {
    let expected = state.setup_token.lock().map_err(|_| ApiError::Internal("setup lock poisoned".into()))?.clone();
    if expected.as_deref() != Some(hash(&req.token).as_str()) || state.store.has_users().await? {
        return Err(ApiError::Forbidden("setup is closed, or the token is wrong".into()));
    }
    let login = Login::parse(&req.login).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let password = NewPassword::parse(&req.password, &login).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let password_hash = tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    let user = NewUser {
        login: login.clone(),
        display_name: req.display_name.trim().to_owned(),
        role: Role::Administrator,
        agency: None,
        password_hash,
        password_state: PasswordState::Set,
    };
    state.store.add_user(&user, &Actor { name: login.to_string(), origin: peer.ip().to_string() }).await?;
    *state.setup_token.lock().map_err(|_| ApiError::Internal("setup lock poisoned".into()))? = None;
    Ok(StatusCode::CREATED)
}

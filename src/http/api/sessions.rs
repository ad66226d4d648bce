//! Web logins: `POST /api/v1/sessions` trades a user name (or extension) and
//! web password for a session token — a bearer token like any other that
//! expires after [`SESSION_LIFETIME`] — and `DELETE /api/v1/sessions/current`
//! revokes the token it is called with.
//!
//! An unknown user and a wrong password get the same 401 after the same
//! argon2 work (the store verifies against a dummy hash); failures are
//! counted per address and per user name by the [`LoginGuard`], which answers
//! 429 with `Retry-After` while either is locked out.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::auth::{Caller, bearer_secret};
use crate::http::body::JsonBody;
use crate::http::login_guard::LoginGuard;
use crate::http::problem::Problem;
use crate::store::{LoginOutcome, Millis};

/// How long a session token works.
pub const SESSION_LIFETIME: Duration = Duration::from_secs(12 * 3600);

/// A login.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoginRequest {
    /// The tenant's name; optional when the user name is in one tenant only.
    #[serde(default)]
    pub tenant: Option<String>,
    /// A user name or an extension.
    pub username: String,
    /// The user's web password.
    pub password: String,
}

/// Who logged in.
#[derive(Debug, Serialize, ToSchema)]
pub struct SessionUser {
    pub username: String,
    pub display_name: String,
    pub extension: Option<String>,
    /// `agent`, `supervisor` or `admin`.
    pub role: String,
    /// The tenant's name.
    pub tenant: String,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// The bearer token (`kefu_session_…`); shown only now.
    pub token: String,
    /// When the token stops working (Unix ms).
    pub expires_at: i64,
    pub user: SessionUser,
}

/// Logs a user in: a session token for their user name and web password.
#[utoipa::path(post, path = "/api/v1/sessions", tag = "identity",
    request_body = LoginRequest,
    responses((status = 201, body = Session), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 422, body = Problem),
        (status = 429, body = Problem)))]
pub async fn create(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    JsonBody(login): JsonBody<LoginRequest>,
) -> Result<Response, Problem> {
    let username = login.username.trim();
    if username.is_empty() || username.len() > 128 {
        return Err(Problem::invalid(
            "username",
            "give a user name or an extension (1-128 characters)",
        ));
    }
    if login.password.is_empty() || login.password.len() > 1024 {
        return Err(Problem::invalid(
            "password",
            "give the password (1-1024 characters)",
        ));
    }
    let tenant = login
        .tenant
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty());
    let guard: &LoginGuard = &state.logins;
    let user_key = format!("{}/{username}", tenant.unwrap_or(""));
    if let Some(wait) = guard.locked(peer.ip(), &user_key, Instant::now()) {
        return Ok(too_many(wait));
    }
    match state
        .store
        .verify_login(tenant, username, &login.password)
        .await?
    {
        LoginOutcome::Verified { user, tenant } => {
            guard.succeeded(&user_key);
            let lifetime = i64::try_from(SESSION_LIFETIME.as_millis()).unwrap_or(i64::MAX);
            let expires_at = Millis(Millis::now().0.saturating_add(lifetime));
            let token = state
                .store
                .issue_session(&user.tenant_id, &user.id, expires_at)
                .await?;
            tracing::info!(%tenant, user = %user.username, "web login");
            let session = Session {
                token: token.secret,
                expires_at: expires_at.0,
                user: SessionUser {
                    username: user.username,
                    display_name: user.display_name,
                    extension: user.extension,
                    role: user.role,
                    tenant,
                },
            };
            Ok((StatusCode::CREATED, Json(session)).into_response())
        }
        LoginOutcome::Ambiguous => Err(Problem::invalid(
            "tenant",
            "this user name is in several tenants: name the tenant",
        )),
        LoginOutcome::Failed => {
            guard.failed(peer.ip(), &user_key, Instant::now());
            tracing::info!(%peer, user = %username, "web login failed");
            Ok(Problem::unauthorized("wrong user name or password"))
        }
    }
}

fn too_many(wait: Duration) -> Response {
    let secs = wait.as_secs().max(1);
    let mut response = Problem::new(
        StatusCode::TOO_MANY_REQUESTS,
        format!("too many failed logins; try again in {secs} s"),
    )
    .into_response();
    if let Ok(value) = HeaderValue::from_str(&secs.to_string()) {
        response.headers_mut().insert(header::RETRY_AFTER, value);
    }
    response
}

/// Logs out: revokes the session token this request carries.
#[utoipa::path(delete, path = "/api/v1/sessions/current", tag = "identity", security(("bearer" = [])),
    responses((status = 204), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn delete_current(
    State(state): State<AppState>,
    _caller: Caller,
    headers: HeaderMap,
) -> Result<StatusCode, Problem> {
    let secret = bearer_secret(&headers)
        .ok_or_else(|| Problem::new(StatusCode::BAD_REQUEST, "no bearer token"))?;
    if state.store.revoke_session(secret).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(Problem::new(
            StatusCode::BAD_REQUEST,
            "this is an API token, not a session token; API tokens are not revoked by logging out",
        ))
    }
}

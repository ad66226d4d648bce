//! Bearer-token authentication for `/api/v1/`: the admin token (configured or
//! generated) and per-user tokens from the store (API tokens and the session
//! tokens of web logins, which expire). A request that passes gets
//! a [`Caller`] in its extensions; handlers take it as an extractor.

use axum::extract::{FromRequestParts, Request, State};
use axum::http::{HeaderMap, header, request::Parts};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use super::AppState;
use super::problem::Problem;
use crate::store::{Role, Scope, token_hash};

/// Who is calling the API.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// The admin token: everything, in every tenant.
    Admin,
    /// A user's token, limited to its tenant.
    User {
        tenant_id: String,
        user_id: String,
        /// The user's role when the request came.
        role: Role,
    },
}

impl Caller {
    /// Whether the caller administers (the admin token, or a tenant's admin
    /// user, in their own tenant).
    pub fn is_admin(&self) -> bool {
        matches!(
            self,
            Caller::Admin
                | Caller::User {
                    role: Role::Admin,
                    ..
                }
        )
    }

    /// Whether this caller may read the tenant's data.
    pub fn may_read(&self, tenant_id: &str) -> bool {
        match self {
            Caller::Admin => true,
            Caller::User { tenant_id: own, .. } => own == tenant_id,
        }
    }
}

/// Middleware: 401 unless the request carries a valid bearer token.
pub async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    if !request.headers().contains_key(header::AUTHORIZATION) {
        return Problem::unauthorized("missing Authorization: Bearer <token> header");
    }
    let Some(secret) = bearer_secret(request.headers()) else {
        return Problem::unauthorized("the Authorization header must be `Bearer <token>`");
    };
    let caller = match caller_for(&state, secret).await {
        Ok(Some(caller)) => caller,
        Ok(None) => {
            return Problem::unauthorized("the token is not valid (unknown, expired or revoked)");
        }
        Err(problem) => return problem.into_response(),
    };
    request.extensions_mut().insert(caller);
    next.run(request).await
}

/// The secret of an `Authorization: Bearer <token>` header, if there is one.
pub fn bearer_secret(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()
        .and_then(|v| {
            v.strip_prefix("Bearer ")
                .or_else(|| v.strip_prefix("bearer "))
        })
        .map(str::trim)
        .filter(|s| !s.is_empty())
}

/// The caller of a WebSocket upgrade, whose token comes as a bearer header
/// or, for browsers (which cannot set headers on a WebSocket), as
/// `?token=`; else the 401 to answer.
pub async fn websocket_caller(
    state: &AppState,
    headers: &HeaderMap,
    query_token: Option<&str>,
) -> Result<Caller, Response> {
    let Some(secret) = bearer_secret(headers).or(query_token.filter(|s| !s.is_empty())) else {
        return Err(Problem::unauthorized(
            "give the token as `Authorization: Bearer <token>` or `?token=`",
        ));
    };
    match caller_for(state, secret).await {
        Ok(Some(caller)) => Ok(caller),
        Ok(None) => Err(Problem::unauthorized(
            "the token is not valid (unknown, expired or revoked)",
        )),
        Err(problem) => Err(problem.into_response()),
    }
}

/// The caller a token secret stands for, if it is valid.
pub async fn caller_for(state: &AppState, secret: &str) -> Result<Option<Caller>, Problem> {
    if let Some(configured) = &state.admin_token_hash {
        if token_hash(secret)
            .as_bytes()
            .ct_eq(configured.as_bytes())
            .into()
        {
            return Ok(Some(Caller::Admin));
        }
    }
    let Some(token) = state.store.find_token(secret).await? else {
        return Ok(None);
    };
    Ok(
        match (token.scope, token.tenant_id, token.user_id, token.role) {
            (Scope::Admin, _, _, _) => Some(Caller::Admin),
            (Scope::Agent, Some(tenant_id), Some(user_id), Some(role)) => Some(Caller::User {
                tenant_id,
                user_id,
                role,
            }),
            (Scope::Agent, _, _, _) => None,
        },
    )
}

impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or_else(|| Problem::unauthorized("authentication required"))
    }
}

//! `GET /api/v1/me`: who the bearer token belongs to.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::store::{Scope, User};

/// The identity behind a token.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub scope: Scope,
    /// The tenant a user token is limited to; absent for the admin token.
    pub tenant_id: Option<String>,
    /// The user a token belongs to; absent for the admin token.
    pub user: Option<User>,
    /// The digest realm the user's phones (and the workspace's softphone)
    /// register in; absent for the admin token.
    pub sip_realm: Option<String>,
}

/// Who am I?
#[utoipa::path(get, path = "/api/v1/me", tag = "identity", security(("bearer" = [])),
    responses((status = 200, body = Me), (status = 401, body = Problem)))]
pub async fn me(State(state): State<AppState>, caller: Caller) -> Result<Json<Me>, Problem> {
    Ok(Json(match caller {
        Caller::Admin => Me {
            scope: Scope::Admin,
            tenant_id: None,
            user: None,
            sip_realm: None,
        },
        Caller::User {
            tenant_id, user_id, ..
        } => Me {
            scope: Scope::Agent,
            user: Some(state.store.user(&user_id).await?),
            sip_realm: Some(state.store.tenant(&tenant_id).await?.sip_realm),
            tenant_id: Some(tenant_id),
        },
    }))
}

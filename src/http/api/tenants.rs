//! Tenants and what they hold, read-only for now: `/api/v1/tenants` and
//! `/api/v1/tenants/{tenant}/{agents,queues,numbers,trunks}`.
//!
//! The admin token sees every tenant; a user token sees its own tenant only,
//! and trunks (carrier details) are for admins (the admin token and the
//! tenant's admin users).

use axum::Json;
use axum::extract::{Path, State};

use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::store::{NumberRoute, Queue, Role, Tenant, Trunk, User};

/// The tenants the caller may see.
#[utoipa::path(get, path = "/api/v1/tenants", tag = "tenants", security(("bearer" = [])),
    responses((status = 200, body = [Tenant]), (status = 401, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<Tenant>>, Problem> {
    let tenants = state.store.tenants().await?;
    Ok(Json(
        tenants
            .into_iter()
            .filter(|t| caller.may_read(&t.id))
            .collect(),
    ))
}

/// Finds the named tenant if the caller may read it (404 either way otherwise,
/// so tenant names do not leak).
async fn readable_tenant(state: &AppState, caller: &Caller, name: &str) -> Result<Tenant, Problem> {
    match state.store.tenant_by_name(name).await? {
        Some(tenant) if caller.may_read(&tenant.id) => Ok(tenant),
        _ => Err(Problem::not_found(format!("no tenant named `{name}`"))),
    }
}

/// The tenant's agents.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/agents", tag = "tenants", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 200, body = [User]), (status = 404, body = Problem)))]
pub async fn agents(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<User>>, Problem> {
    let tenant = readable_tenant(&state, &caller, &tenant).await?;
    Ok(Json(
        state.store.users_with_role(&tenant.id, Role::Agent).await?,
    ))
}

/// The tenant's queues.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/queues", tag = "tenants", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 200, body = [Queue]), (status = 404, body = Problem)))]
pub async fn queues(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<Queue>>, Problem> {
    let tenant = readable_tenant(&state, &caller, &tenant).await?;
    Ok(Json(state.store.queues(&tenant.id).await?))
}

/// The tenant's numbers (DIDs) and where they go.
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/numbers", tag = "tenants", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 200, body = [NumberRoute]), (status = 404, body = Problem)))]
pub async fn numbers(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<NumberRoute>>, Problem> {
    let tenant = readable_tenant(&state, &caller, &tenant).await?;
    Ok(Json(state.store.number_routes(&tenant.id).await?))
}

/// The tenant's SIP trunks (admin only).
#[utoipa::path(get, path = "/api/v1/tenants/{tenant}/trunks", tag = "tenants", security(("bearer" = [])),
    params(("tenant" = String, Path, description = "tenant name")),
    responses((status = 200, body = [Trunk]), (status = 403, body = Problem), (status = 404, body = Problem)))]
pub async fn trunks(
    State(state): State<AppState>,
    caller: Caller,
    Path(tenant): Path<String>,
) -> Result<Json<Vec<Trunk>>, Problem> {
    let tenant = readable_tenant(&state, &caller, &tenant).await?;
    if !caller.is_admin() {
        return Err(Problem::forbidden("trunks are visible to admins only"));
    }
    Ok(Json(state.store.trunks(&tenant.id).await?))
}

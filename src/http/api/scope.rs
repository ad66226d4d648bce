//! Which tenant a request about tenant-owned objects (calendars, IVR flows)
//! is for: `?tenant=NAME`, else the caller's own tenant, else, for the
//! admin token, the only tenant there is. Also the rule for the names of
//! such objects in paths.

use axum::http::StatusCode;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::flows::is_flow_name;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::store::Tenant;

/// The `tenant` query parameter.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct TenantQuery {
    /// Tenant name; optional for a user token (its own tenant) and for the
    /// admin token when there is only one tenant.
    pub tenant: Option<String>,
}

/// The tenant the request is for (404 for one the caller may not read, so
/// names do not leak).
pub async fn tenant(
    state: &AppState,
    caller: &Caller,
    query: &TenantQuery,
) -> Result<Tenant, Problem> {
    if let Some(name) = &query.tenant {
        return match state.store.tenant_by_name(name).await? {
            Some(tenant) if caller.may_read(&tenant.id) => Ok(tenant),
            _ => Err(Problem::not_found(format!("no tenant named `{name}`"))),
        };
    }
    let mut tenants = state.store.tenants().await?;
    if let Caller::User { tenant_id, .. } = caller {
        tenants.retain(|t| &t.id == tenant_id);
    }
    match tenants.len() {
        1 => Ok(tenants.remove(0)),
        0 => Err(Problem::not_found("there is no tenant yet")),
        n => Err(Problem::new(
            StatusCode::BAD_REQUEST,
            format!("query parameter `tenant` is required: there are {n} tenants"),
        )),
    }
}

/// Only the admin token and the tenant's admin users may change its
/// configuration ([`tenant`] keeps a user to their own tenant).
pub fn require_admin(caller: &Caller, what: &str) -> Result<(), Problem> {
    if caller.is_admin() {
        Ok(())
    } else {
        Err(Problem::forbidden(format!("only admins may change {what}")))
    }
}

/// 400 unless `name` is 1-64 letters, digits, `-` or `_`.
pub fn object_name(kind: &str, name: &str) -> Result<(), Problem> {
    if is_flow_name(name) {
        Ok(())
    } else {
        Err(Problem::new(
            StatusCode::BAD_REQUEST,
            format!(
                "path parameter `name` = {name:?}: a {kind} name is 1-64 letters, digits, '-' or '_'"
            ),
        ))
    }
}

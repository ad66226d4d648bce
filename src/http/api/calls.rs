//! Call detail records: `GET /api/v1/calls` (newest first, filtered by DID,
//! paged with `before`) and `GET /api/v1/calls/{id}` (the call, its legs and
//! the recordings the caller may listen to, see [`super::recordings`]).
//! The admin token sees every tenant's calls; a user token its tenant's.

use axum::Json;
use axum::extract::{Path, Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::recordings::may_listen;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::store::{AuditEntry, Call, CallFilter, CallLeg, Recording, StoreError};

/// Calls per page when `limit` is not given, and the most a page may hold.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

/// Filters of the call listing. Numbers are read as text so that a bad one is
/// answered with a problem naming it.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct CallQuery {
    /// Only calls to this number (DID).
    pub did: Option<String>,
    /// Only the call of this ACD contact (what an agent's voice offer names).
    pub contact: Option<String>,
    /// Only calls started before this time (ms since the epoch): the
    /// `started_at` of the last call of the previous page.
    pub before: Option<String>,
    /// Calls per page, 1-500 (default 50).
    pub limit: Option<String>,
}

/// A call with its legs and recordings.
#[derive(Debug, Serialize, ToSchema)]
pub struct CallDetail {
    #[serde(flatten)]
    pub call: Call,
    pub legs: Vec<CallLeg>,
    /// The call's recordings if the caller may listen to them (the admin
    /// token, supervisors, admins, the call's agent), else none. Download
    /// each with `GET /api/v1/recordings/{id}`.
    pub recordings: Vec<Recording>,
    /// Who supervised the call, and how (the audit log's entries on it),
    /// for the same readers as the recordings.
    pub audit: Vec<AuditEntry>,
}

/// The calls the caller may see, newest first.
#[utoipa::path(get, path = "/api/v1/calls", tag = "calls", security(("bearer" = [])),
    params(CallQuery),
    responses((status = 200, body = [Call]), (status = 400, body = Problem), (status = 401, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<CallQuery>,
) -> Result<Json<Vec<Call>>, Problem> {
    let limit = match &query.limit {
        None => DEFAULT_LIMIT,
        Some(text) => number(text)
            .filter(|n| (1..=MAX_LIMIT).contains(n))
            .ok_or_else(|| {
                Problem::bad_query("limit", text, "must be a whole number from 1 to 500")
            })?,
    };
    let before = match &query.before {
        None => None,
        Some(text) => Some(number(text).ok_or_else(|| {
            Problem::bad_query(
                "before",
                text,
                "must be a time in milliseconds since the epoch",
            )
        })?),
    };
    let tenant_id = match &caller {
        Caller::Admin => None,
        Caller::User { tenant_id, .. } => Some(tenant_id.as_str()),
    };
    let filter = CallFilter {
        tenant_id,
        did: query.did.as_deref(),
        contact_id: query.contact.as_deref(),
        before,
        limit,
    };
    Ok(Json(state.store.calls(&filter).await?))
}

/// One call, its legs and the recordings the caller may listen to.
#[utoipa::path(get, path = "/api/v1/calls/{id}", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "call id")),
    responses((status = 200, body = CallDetail), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<CallDetail>, Problem> {
    let call = visible_call(&state, &caller, &id).await?;
    let legs = state.store.call_legs(&call.id).await?;
    let (recordings, audit) = match (&call.tenant_id, may_listen(&state, &caller, &call).await?) {
        (Some(tenant_id), true) => (
            state.store.recordings_of_call(&call.id).await?,
            state.store.audit_of(tenant_id, &call.id).await?,
        ),
        _ => (Vec::new(), Vec::new()),
    };
    Ok(Json(CallDetail {
        call,
        legs,
        recordings,
        audit,
    }))
}

/// The call with this id, if the caller may see it (404 otherwise, so ids
/// of other tenants' calls do not leak).
pub(super) async fn visible_call(
    state: &AppState,
    caller: &Caller,
    id: &str,
) -> Result<Call, Problem> {
    let not_found = || Problem::not_found(format!("no call `{id}`"));
    let call = match state.store.call(id).await {
        Ok(call) => call,
        Err(StoreError::NotFound { .. }) => return Err(not_found()),
        Err(error) => return Err(error.into()),
    };
    let visible = match &call.tenant_id {
        Some(tenant_id) => caller.may_read(tenant_id),
        None => matches!(caller, Caller::Admin),
    };
    if visible { Ok(call) } else { Err(not_found()) }
}

fn number(text: &str) -> Option<i64> {
    text.trim().parse().ok()
}

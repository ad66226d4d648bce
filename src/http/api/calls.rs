//! Call detail records: `GET /api/v1/calls` (newest first, filtered by DID,
//! paged with `before`), `GET /api/v1/calls/{id}` (the call, its legs and
//! recordings) and `GET /api/v1/recordings/{id}` (the WAV file).
//! The admin token sees every tenant's calls; a user token its tenant's.

use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::store::{Call, CallFilter, CallLeg, Recording, StoreError};

/// Calls per page when `limit` is not given, and the most a page may hold.
const DEFAULT_LIMIT: i64 = 50;
const MAX_LIMIT: i64 = 500;

/// Filters of the call listing. Numbers are read as text so that a bad one is
/// answered with a problem naming it.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct CallQuery {
    /// Only calls to this number (DID).
    pub did: Option<String>,
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
    /// Download each with `GET /api/v1/recordings/{id}`.
    pub recordings: Vec<Recording>,
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
            .ok_or_else(|| bad("limit", text, "must be a whole number from 1 to 500"))?,
    };
    let before = match &query.before {
        None => None,
        Some(text) => Some(number(text).ok_or_else(|| {
            bad(
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
        before,
        limit,
    };
    Ok(Json(state.store.calls(&filter).await?))
}

/// One call and its legs.
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
    let recordings = state.store.recordings_of_call(&call.id).await?;
    Ok(Json(CallDetail {
        call,
        legs,
        recordings,
    }))
}

/// A call's stereo WAV recording (caller left, callee right).
#[utoipa::path(get, path = "/api/v1/recordings/{id}", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "recording id")),
    responses((status = 200, content_type = "audio/wav"), (status = 404, body = Problem)))]
pub async fn recording(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, Problem> {
    let not_found = || Problem::not_found(format!("no recording `{id}`"));
    let recording = match state.store.recording(&id).await {
        Ok(recording) => recording,
        Err(StoreError::NotFound { .. }) => return Err(not_found()),
        Err(error) => return Err(error.into()),
    };
    visible_call(&state, &caller, &recording.call_id)
        .await
        .map_err(|_| not_found())?;
    let data_dir = state.data_dir.clone();
    let path = std::path::PathBuf::from(&recording.path);
    let bytes = tokio::task::spawn_blocking(move || {
        let mut file = kefu_recordings::open_for_read(&data_dir, &path)?;
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes)?;
        Ok::<_, Box<dyn std::error::Error + Send + Sync>>(bytes)
    })
    .await
    .map_err(|error| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?
    .map_err(|error| {
        tracing::warn!(%error, recording = %id, "cannot read a recording");
        Problem::new(StatusCode::GONE, "the recording's file is no longer there")
    })?;
    Ok(([(header::CONTENT_TYPE, "audio/wav")], bytes).into_response())
}

/// The call with this id, if the caller may see it (404 otherwise, so ids
/// of other tenants' calls do not leak).
async fn visible_call(state: &AppState, caller: &Caller, id: &str) -> Result<Call, Problem> {
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

fn bad(field: &str, value: &str, rule: &str) -> Problem {
    Problem::new(
        StatusCode::BAD_REQUEST,
        format!("query parameter `{field}` = {value:?} {rule}"),
    )
}

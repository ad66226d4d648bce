//! `POST /api/v1/calls/{id}/recording/pause` and `…/resume`: stop recording
//! a live call for a while — while the caller reads out a card number (PCI
//! DSS) — and start again. Silence is written meanwhile, so the file keeps
//! wall-clock time, and the pause is kept in the recording's metadata
//! (`pauses`). Allowed to those who may listen to the call ([`may_listen`]:
//! the agent who handles it, supervisors, admins); every use is written to
//! the audit log.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use serde::Serialize;
use serde_json::json;
use utoipa::ToSchema;

use super::calls::visible_call;
use super::recordings::may_listen;
use crate::calls::SuperviseError;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::store::NewAudit;

/// The recording's state after the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct RecordingState {
    pub call: String,
    pub paused: bool,
}

/// Pauses a live call's recording.
#[utoipa::path(post, path = "/api/v1/calls/{id}/recording/pause", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "call id")),
    responses((status = 200, body = RecordingState), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the call is not bridged on this node, or not recorded")))]
pub async fn pause(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RecordingState>, Problem> {
    switch(&state, &caller, id, true).await
}

/// Resumes a live call's paused recording.
#[utoipa::path(post, path = "/api/v1/calls/{id}/recording/resume", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "call id")),
    responses((status = 200, body = RecordingState), (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the call is not bridged on this node, or not recorded")))]
pub async fn resume(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<RecordingState>, Problem> {
    switch(&state, &caller, id, false).await
}

async fn switch(
    state: &AppState,
    caller: &Caller,
    id: String,
    pause: bool,
) -> Result<Json<RecordingState>, Problem> {
    let call = visible_call(state, caller, &id).await?;
    if !may_listen(state, caller, &call).await? {
        return Err(Problem::not_found(format!("no call `{id}`")));
    }
    let done = state.calls.pause_recording(&id, pause).await;
    if let Some(tenant_id) = &call.tenant_id {
        let actor = match caller {
            Caller::Admin => "admin",
            Caller::User { user_id, .. } => user_id.as_str(),
        };
        let entry = NewAudit {
            tenant_id,
            actor,
            action: if pause {
                "call.recording.pause"
            } else {
                "call.recording.resume"
            },
            target: &id,
            data: json!({"result": done.as_ref().map_or_else(ToString::to_string, |()| "ok".to_owned())}),
        };
        if let Err(error) = state.store.audit(&entry).await {
            tracing::error!(%error, call = %id, "cannot write the audit log");
        }
    }
    done.map_err(|error: SuperviseError| Problem::new(StatusCode::CONFLICT, error.to_string()))?;
    Ok(Json(RecordingState {
        call: id,
        paused: pause,
    }))
}

//! Supervisors joining live calls: `POST /api/v1/calls/{id}/supervise`
//! rings the supervisor's phones and joins the answer to the bridged call in
//! a mode (`monitor`: hears both; `whisper`: hears both, the agent hears
//! them; `barge`: everyone hears everyone); `PUT` changes the mode live.
//! Only the tenant's supervisors and admins (and the admin token) may; every
//! attempt is written to the audit log, with its outcome; the call's
//! detail (`GET /api/v1/calls/{id}`) shows it to those who may listen.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use kefu_media::mixer::SupervisorMode;
use serde::{Deserialize, Serialize};
use serde_json::json;
use utoipa::ToSchema;

use crate::calls::SuperviseError;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::body::JsonBody;
use crate::http::problem::Problem;
use crate::store::{NewAudit, Role, StoreError};

/// How a supervisor takes part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Hears the caller and the agent; nobody hears the supervisor.
    Monitor,
    /// Hears both; only the agent hears the supervisor.
    Whisper,
    /// Everyone hears everyone.
    Barge,
}

impl From<Mode> for SupervisorMode {
    fn from(mode: Mode) -> Self {
        match mode {
            Mode::Monitor => SupervisorMode::Monitor,
            Mode::Whisper => SupervisorMode::Whisper,
            Mode::Barge => SupervisorMode::Barge,
        }
    }
}

/// Who joins, and how.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Join {
    /// The supervisor's extension: their registered phones ring.
    pub supervisor: String,
    pub mode: Mode,
}

/// A new mode for the supervisor on the call.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ModeChange {
    pub mode: Mode,
}

/// What was asked of the call.
#[derive(Debug, Serialize, ToSchema)]
pub struct Supervision {
    pub call: String,
    pub supervisor: Option<String>,
    pub mode: Mode,
}

/// Rings the supervisor's phones and joins the answer to the call.
#[utoipa::path(post, path = "/api/v1/calls/{id}/supervise", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "call id")),
    request_body = Join,
    responses(
        (status = 202, body = Supervision, description = "the supervisor's phones ring"),
        (status = 403, body = Problem, description = "only supervisors and admins supervise"),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the call is not bridged, has a supervisor, or the supervisor has no phone"),
        (status = 422, body = Problem)))]
pub async fn join(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(join): JsonBody<Join>,
) -> Result<(StatusCode, Json<Supervision>), Problem> {
    let supervisor = join.supervisor.trim();
    if supervisor.is_empty() {
        return Err(Problem::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "`supervisor`: give the supervisor's extension",
        ));
    }
    let audit = Audit::of(&state, &caller, &id).await?;
    let joined = state
        .calls
        .supervise(&id, supervisor, join.mode.into())
        .await;
    let data = json!({"supervisor": supervisor, "mode": join.mode, "result": outcome(&joined)});
    audit.write(&state, "call.supervise", data).await;
    joined.map_err(conflict)?;
    let supervision = Supervision {
        call: id,
        supervisor: Some(supervisor.to_owned()),
        mode: join.mode,
    };
    Ok((StatusCode::ACCEPTED, Json(supervision)))
}

/// Changes how the call's supervisor takes part.
#[utoipa::path(put, path = "/api/v1/calls/{id}/supervise", tag = "calls", security(("bearer" = [])),
    params(("id" = String, Path, description = "call id")),
    request_body = ModeChange,
    responses(
        (status = 200, body = Supervision),
        (status = 403, body = Problem),
        (status = 404, body = Problem),
        (status = 409, body = Problem, description = "the call is not bridged or has no supervisor"),
        (status = 422, body = Problem)))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(change): JsonBody<ModeChange>,
) -> Result<Json<Supervision>, Problem> {
    let audit = Audit::of(&state, &caller, &id).await?;
    let changed = state.calls.set_mode(&id, change.mode.into()).await;
    let data = json!({"mode": change.mode, "result": outcome(&changed)});
    audit.write(&state, "call.supervise.mode", data).await;
    changed.map_err(conflict)?;
    Ok(Json(Supervision {
        call: id,
        supervisor: None,
        mode: change.mode,
    }))
}

/// `ok`, or why not, for the audit log.
fn outcome(result: &Result<(), SuperviseError>) -> String {
    match result {
        Ok(()) => "ok".to_owned(),
        Err(error) => error.to_string(),
    }
}

fn conflict(error: SuperviseError) -> Problem {
    Problem::new(StatusCode::CONFLICT, error.to_string())
}

/// Who supervises which call, for the audit log; made only for callers
/// allowed to.
struct Audit {
    tenant_id: String,
    actor: String,
    call: String,
}

impl Audit {
    /// 404 for a call the caller cannot see, 403 for one they may see but
    /// not supervise.
    async fn of(state: &AppState, caller: &Caller, id: &str) -> Result<Self, Problem> {
        let not_found = || Problem::not_found(format!("no call `{id}`"));
        let call = match state.store.call(id).await {
            Ok(call) => call,
            Err(StoreError::NotFound { .. }) => return Err(not_found()),
            Err(error) => return Err(error.into()),
        };
        let tenant_id = call.tenant_id.ok_or_else(not_found)?;
        let actor = match caller {
            Caller::Admin => "admin".to_owned(),
            Caller::User {
                tenant_id: own,
                user_id,
                ..
            } => {
                if *own != tenant_id {
                    return Err(not_found());
                }
                let role = state.store.user(user_id).await?.role;
                if role != Role::Supervisor.as_str() && role != Role::Admin.as_str() {
                    return Err(Problem::new(
                        StatusCode::FORBIDDEN,
                        "only supervisors and admins may supervise calls",
                    ));
                }
                user_id.clone()
            }
        };
        Ok(Self {
            tenant_id,
            actor,
            call: id.to_owned(),
        })
    }

    async fn write(&self, state: &AppState, action: &str, data: serde_json::Value) {
        let entry = NewAudit {
            tenant_id: &self.tenant_id,
            actor: &self.actor,
            action,
            target: &self.call,
            data,
        };
        if let Err(error) = state.store.audit(&entry).await {
            tracing::error!(%error, action, call = %self.call, "cannot write the audit log");
        }
    }
}

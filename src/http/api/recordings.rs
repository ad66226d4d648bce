//! `GET /api/v1/recordings/{id}`: a call's stereo WAV recording, streamed
//! with byte ranges ([`byte_ranges`](crate::http::byte_ranges)), for those
//! who may listen to the call ([`may_listen`]): the admin token, the
//! supervisors and admins of the call's tenant, and the agent who handled
//! the call. Everyone else gets the same `404` as for an unknown id, so a
//! recording's existence does not leak. The file is opened through
//! `kefu_recordings::open_for_read`, which refuses any path outside
//! `DATA_DIR/recordings`.

use std::path::PathBuf;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use kefu_recordings::{AccessError, CallId};

use super::calls::visible_call;
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::byte_ranges;
use crate::http::problem::Problem;
use crate::store::{Call, Role, StoreError};

/// Whether the caller may listen to the recordings of `call`, a call they
/// can see ([`visible_call`]): the admin token, supervisors and admins
/// always; an agent only if a contact of the call was assigned to them.
pub async fn may_listen(state: &AppState, caller: &Caller, call: &Call) -> Result<bool, Problem> {
    let Caller::User { user_id, .. } = caller else {
        return Ok(true);
    };
    let role = state.store.user(user_id).await?.role;
    if role == Role::Supervisor.as_str() || role == Role::Admin.as_str() {
        return Ok(true);
    }
    Ok(state.store.handled_call(user_id, &call.id).await?)
}

/// A call's stereo WAV recording (caller left, callee right), whole or the
/// byte range asked for.
#[utoipa::path(get, path = "/api/v1/recordings/{id}", tag = "calls", security(("bearer" = [])),
    params(
        ("id" = String, Path, description = "recording id"),
        ("Range" = Option<String>, Header, description = "one byte range, e.g. `bytes=0-43`"),
    ),
    responses(
        (status = 200, content_type = "audio/wav", description = "the whole recording"),
        (status = 206, content_type = "audio/wav", description = "the range asked for, with `Content-Range`"),
        (status = 401, body = Problem),
        (status = 404, body = Problem, description = "no such recording, or the caller may not listen to it"),
        (status = 410, body = Problem, description = "the recording's file is gone"),
        (status = 416, body = Problem, description = "the range is outside the file; `Content-Range: bytes */LENGTH`"),
    ))]
pub async fn download(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    request: HeaderMap,
) -> Result<Response, Problem> {
    let not_found = || Problem::not_found(format!("no recording `{id}`"));
    let recording = match state.store.recording(&id).await {
        Ok(recording) => recording,
        Err(StoreError::NotFound { .. }) => return Err(not_found()),
        Err(error) => return Err(error.into()),
    };
    let call = visible_call(&state, &caller, &recording.call_id)
        .await
        .map_err(|_| not_found())?;
    if !may_listen(&state, &caller, &call).await? {
        return Err(not_found());
    }
    let data_dir = state.data_dir.clone();
    let path = PathBuf::from(&recording.path);
    let opened = tokio::task::spawn_blocking(move || {
        let file = kefu_recordings::open_for_read(&data_dir, &path)?;
        let length = file
            .metadata()
            .map_err(|source| AccessError::Io { path, source })?
            .len();
        Ok::<_, AccessError>((file, length))
    })
    .await
    .map_err(|error| Problem::new(StatusCode::INTERNAL_SERVER_ERROR, error.to_string()))?;
    let (file, length) = match opened {
        Ok(opened) => opened,
        Err(AccessError::NotFound { .. }) => {
            tracing::warn!(recording = %id, path = %recording.path, "a recording's file is missing");
            return Err(Problem::new(
                StatusCode::GONE,
                "the recording's file is no longer there",
            ));
        }
        Err(error) => {
            tracing::error!(%error, recording = %id, "cannot open a recording");
            return Err(Problem::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                "the recording's file cannot be read",
            ));
        }
    };
    let mut headers = HeaderMap::new();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("audio/wav"));
    headers.insert(header::CONTENT_DISPOSITION, disposition(&call.id));
    byte_ranges::respond(
        tokio::fs::File::from_std(file),
        length,
        request.get(header::RANGE),
        headers,
    )
    .await
    .map_err(|error| {
        tracing::error!(%error, recording = %id, "cannot read a recording");
        Problem::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the recording's file cannot be read",
        )
    })
}

/// `inline; filename="<call-id>.wav"`, the call id in the file-name-safe
/// form its recording is stored under.
fn disposition(call_id: &str) -> HeaderValue {
    let stem = CallId::new(call_id)
        .map_or_else(|_| "recording".to_owned(), |id| id.file_stem().to_owned());
    HeaderValue::try_from(format!("inline; filename=\"{stem}.wav\""))
        .expect("a file stem is letters, digits, `_`, `@`, `-` and `%`")
}

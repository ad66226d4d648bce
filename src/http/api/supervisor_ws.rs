//! The supervisor WebSocket, `/api/v1/supervisor/ws`: a tenant's live
//! wallboard ([`crate::wallboard`]). Supervisors, admins and the admin token
//! only (`?tenant=NAME` with the admin token); the token comes as
//! `Authorization: Bearer …` or `?token=…`, and `?tz=` names the IANA time
//! zone "today" is counted in (default UTC). The server sends a `snapshot`,
//! then an `update` with what changed whenever the ACD or call control says
//! the tenant changed, coalesced: at most one frame per [`FRAME_GAP`], so a
//! burst of changes (hundreds of agents at once) is one frame. Today's
//! figures are read [`TODAY_SETTLE`] after a routing change and once more
//! [`crate::wallboard::TODAY_EVERY`] later (in case the change's records were
//! slow to be written), and every [`TODAY_TICK`] anyway. Nothing the client sends is obeyed (it is read only to notice the
//! close). The schema is in `docs/supervisor-protocol.md`.

use std::time::{Duration, Instant};

use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast;
use tokio::time::MissedTickBehavior;

use super::agents::{Actor, TenantQuery};
use crate::http::AppState;
use crate::http::auth::websocket_caller;
use crate::http::problem::Problem;
use crate::wallboard::{Sources, TODAY_EVERY, Wallboard};

/// The least time between two frames to one viewer.
pub const FRAME_GAP: Duration = Duration::from_millis(250);
/// How often today's figures are read again without any change notice.
pub const TODAY_TICK: Duration = Duration::from_secs(30);
/// How long after a routing change today's figures are read, so that the
/// change's contact records are written first.
pub const TODAY_SETTLE: Duration = Duration::from_millis(500);

/// The query of the supervisor WebSocket.
#[derive(Debug, Default, Deserialize)]
pub struct SupervisorWsQuery {
    /// The token, for clients that cannot set headers.
    pub token: Option<String>,
    /// The tenant's name; needed with the admin token.
    pub tenant: Option<String>,
    /// The IANA time zone "today" is counted in (default `UTC`).
    pub tz: Option<String>,
}

/// Upgrades a supervisor's authenticated request to the wallboard WebSocket.
#[utoipa::path(get, path = "/api/v1/supervisor/ws", tag = "supervisors",
    params(
        ("token" = Option<String>, Query, description = "the token, when no Authorization header can be set"),
        ("tenant" = Option<String>, Query, description = "the tenant's name, with the admin token"),
        ("tz" = Option<String>, Query, description = "IANA time zone of \"today\" (default UTC)")),
    responses((status = 101, description = "switching to the wallboard WebSocket"),
        (status = 400, body = Problem), (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn connect(
    State(state): State<AppState>,
    Query(query): Query<SupervisorWsQuery>,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    let caller = match websocket_caller(&state, &headers, query.token.as_deref()).await {
        Ok(caller) => caller,
        Err(refused) => return refused,
    };
    let tenant = TenantQuery {
        tenant: query.tenant.clone(),
    };
    let actor = match Actor::of(&state, &caller, &tenant).await {
        Ok(actor) => actor,
        Err(problem) => return problem.into_response(),
    };
    if let Err(problem) = actor.must_supervise("the wallboard") {
        return problem.into_response();
    }
    let zone_name = query.tz.as_deref().map(str::trim).unwrap_or("UTC");
    let Ok(time_zone) = jiff::tz::TimeZone::get(zone_name) else {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            format!("query parameter `tz` = {zone_name:?} is not an IANA time zone"),
        )
        .into_response();
    };
    let board = Wallboard::new(actor.tenant_id, time_zone);
    // Subscribed before the upgrade, so nothing after the snapshot is missed.
    let notices = Notices {
        routing: state.acd.changes(),
        calls: state.calls.changes(),
    };
    let sources = Sources {
        acd: state.acd.clone(),
        calls: state.calls.clone(),
        store: state.store.clone(),
    };
    upgrade.on_upgrade(move |socket| serve(socket, sources, board, notices))
}

/// Where change notices come from.
struct Notices {
    routing: broadcast::Receiver<String>,
    calls: broadcast::Receiver<String>,
}

/// Whether a notice concerns the tenant (a missed one might).
fn concerns(notice: Result<String, broadcast::error::RecvError>, tenant_id: &str) -> Option<bool> {
    match notice {
        Ok(tenant) => Some(tenant == tenant_id),
        Err(broadcast::error::RecvError::Lagged(_)) => Some(true),
        Err(broadcast::error::RecvError::Closed) => None,
    }
}

async fn serve(
    mut socket: WebSocket,
    sources: Sources,
    mut board: Wallboard,
    mut notices: Notices,
) {
    let tenant_id = board.tenant_id().to_owned();
    match board.snapshot(&sources).await {
        Ok(frame) => {
            if send(&mut socket, &frame).await.is_err() {
                return;
            }
        }
        Err(error) => {
            let _ = send(
                &mut socket,
                &json!({"type": "error", "detail": error.to_string()}),
            )
            .await;
            return;
        }
    }
    let mut frames = tokio::time::interval(FRAME_GAP);
    frames.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut today = tokio::time::interval(TODAY_TICK);
    today.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut changed = false;
    // When today's figures are to be read again.
    let mut today_from: Option<Instant> = None;
    // Whether to read them once more after that.
    let mut confirm = false;
    loop {
        let due = changed || today_from.is_some();
        tokio::select! {
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_)) | Err(_)) | None => break,
                Some(Ok(_)) => {}
            },
            notice = notices.routing.recv() => match concerns(notice, &tenant_id) {
                Some(true) => {
                    changed = true;
                    today_from.get_or_insert_with(|| Instant::now() + TODAY_SETTLE);
                    confirm = true;
                }
                Some(false) => {}
                None => break,
            },
            notice = notices.calls.recv() => match concerns(notice, &tenant_id) {
                Some(true) => changed = true,
                Some(false) => {}
                None => break,
            },
            _ = today.tick() => {
                today_from.get_or_insert_with(Instant::now);
            }
            _ = frames.tick(), if due => {
                let read_today =
                    today_from.is_some_and(|at| at <= Instant::now()) && board.today_due();
                if !changed && !read_today {
                    continue;
                }
                changed = false;
                if read_today {
                    today_from = confirm.then(|| Instant::now() + TODAY_EVERY);
                    confirm = false;
                }
                match board.update(&sources, read_today).await {
                    Ok(Some(frame)) => {
                        if send(&mut socket, &frame).await.is_err() {
                            break;
                        }
                    }
                    Ok(None) => {}
                    Err(error) => {
                        tracing::warn!(tenant = %tenant_id, %error, "cannot read the wallboard");
                        let _ = send(&mut socket, &json!({"type": "error", "detail": error.to_string()})).await;
                        break;
                    }
                }
            }
        }
    }
}

async fn send(socket: &mut WebSocket, value: &impl serde::Serialize) -> Result<(), axum::Error> {
    let text = serde_json::to_string(value).unwrap_or_default();
    socket.send(Message::Text(text.into())).await
}

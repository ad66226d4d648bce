//! kefu's HTTP side (axum): health, metrics, the JSON API under `/api/v1/`
//! with bearer-token auth, its OpenAPI document, and SIP over WebSocket at
//! `/sip` ([`sip_ws`]). One file per resource; shared state in [`AppState`].
//! The router is served with each connection's remote address
//! (`into_make_service_with_connect_info::<SocketAddr>()`).

pub mod api;
pub mod auth;
pub mod body;
pub mod byte_ranges;
pub mod health;
pub mod login_guard;
pub mod metrics;
pub mod openapi;
pub mod problem;
pub mod sip_ws;
pub mod web;

use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use axum::Router;
use axum::http::StatusCode;
use axum::middleware;
use axum::routing::{delete, get, post};
use kefu_signaling::driver::ConnectionSink;
use metrics_exporter_prometheus::PrometheusHandle;

use crate::calls::LiveCalls;
use crate::routing::AcdHandle;
use crate::store::Store;
use problem::Problem;

/// What every handler can reach. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    pub store: Store,
    /// True once storage and listeners are up; false again while draining.
    pub ready: Arc<AtomicBool>,
    pub metrics: PrometheusHandle,
    /// Hex SHA-256 of the configured admin token, if one is configured.
    pub admin_token_hash: Option<String>,
    /// The data dir, where recordings are read from.
    pub data_dir: std::path::PathBuf,
    /// Opens SIP connections with the SIP driver, for SIP over WebSocket.
    pub sip: ConnectionSink,
    /// The routing service (agents, queues, contacts).
    pub acd: AcdHandle,
    /// The bridged calls, for supervisors.
    pub calls: LiveCalls,
    /// Web chat (visitor WebSocket, agent chat commands, transcripts).
    pub chat: crate::chat::Chat,
    /// The SIP registrar's HA1 cache, reloaded when the API changes a user.
    pub sip_users: crate::registration::SipUsers,
    /// Failed web logins, per address and user name.
    pub logins: Arc<login_guard::LoginGuard>,
}

/// The whole HTTP router.
pub fn router(state: AppState) -> Router {
    let protected = Router::new()
        .route("/me", get(api::me::me))
        .route("/sessions/current", delete(api::sessions::delete_current))
        .route("/calls", get(api::calls::list))
        .route("/calls/{id}", get(api::calls::get))
        .route(
            "/calls/{id}/supervise",
            post(api::supervise::join).put(api::supervise::change),
        )
        .route(
            "/calls/{id}/recording/pause",
            post(api::recording_pause::pause),
        )
        .route(
            "/calls/{id}/recording/resume",
            post(api::recording_pause::resume),
        )
        .route("/recordings/{id}", get(api::recordings::download))
        .route("/calendars", get(api::calendars::list))
        .route(
            "/calendars/{name}",
            get(api::calendars::get).put(api::calendars::put),
        )
        .route("/ivr/flows", get(api::ivr::list))
        .route("/ivr/flows/{name}", get(api::ivr::get).put(api::ivr::put))
        .route("/ivr/flows/{name}/svg", get(api::ivr::svg))
        .route("/tenants", get(api::tenants::list))
        .route("/tenants/{tenant}/agents", get(api::tenants::agents))
        .route("/tenants/{tenant}/queues", get(api::tenants::queues))
        .route("/tenants/{tenant}/numbers", get(api::tenants::numbers))
        .route("/tenants/{tenant}/trunks", get(api::tenants::trunks))
        .merge(api::routing_routes())
        .route(
            "/contacts/{id}/messages",
            get(crate::chat::transcript::messages),
        )
        .merge(crate::chat::admin::routes())
        .fallback(api_not_found)
        .route_layer(middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    let api = Router::new()
        .route("/openapi.json", get(openapi::document))
        .route("/agent/ws", get(api::agent_ws::connect))
        .route("/sessions", post(api::sessions::create))
        .route("/supervisor/ws", get(api::supervisor_ws::connect))
        .merge(crate::chat::routes())
        .merge(protected);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/metrics", get(metrics::metrics))
        .route("/sip", get(sip_ws::upgrade))
        .nest("/api/v1", api)
        .merge(crate::chat::assets::routes())
        .merge(web::routes())
        .layer(middleware::from_fn(metrics::track))
        .with_state(state)
}

async fn api_not_found() -> Problem {
    Problem::new(
        StatusCode::NOT_FOUND,
        "no such API endpoint; see /api/v1/openapi.json",
    )
}

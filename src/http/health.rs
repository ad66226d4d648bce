//! `GET /healthz`: 200 once storage and listeners are up and the database
//! answers, 503 otherwise (while starting, while draining, or when the
//! database is unreachable).

use std::sync::atomic::Ordering;
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;

use super::AppState;

const DATABASE_TIMEOUT: Duration = Duration::from_secs(2);

/// Liveness and readiness in one: load balancers and tests poll it.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "ready", body = String),
              (status = 503, description = "starting, draining, or database unreachable", body = String)))]
pub async fn healthz(State(state): State<AppState>) -> (StatusCode, &'static str) {
    if !state.ready.load(Ordering::Acquire) {
        return (StatusCode::SERVICE_UNAVAILABLE, "not ready\n");
    }
    match tokio::time::timeout(DATABASE_TIMEOUT, state.store.ping()).await {
        Ok(Ok(())) => (StatusCode::OK, "ok\n"),
        Ok(Err(err)) => {
            tracing::warn!(error = %err, "health check: database error");
            (StatusCode::SERVICE_UNAVAILABLE, "database unavailable\n")
        }
        Err(_) => (StatusCode::SERVICE_UNAVAILABLE, "database timeout\n"),
    }
}

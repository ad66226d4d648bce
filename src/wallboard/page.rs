//! The wallboard's static files, built into the binary (no build step,
//! nothing fetched from elsewhere, so it works offline): the page at
//! `/supervisor/`, its script and its style sheet.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::http::AppState;

const HTML: &str = include_str!("../../web/supervisor/index.html");
const JS: &str = include_str!("../../web/supervisor/wallboard.js");
const CSS: &str = include_str!("../../web/supervisor/wallboard.css");

/// The routes of the wallboard's files.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/supervisor/",
            get(|| file("text/html; charset=utf-8", HTML)),
        )
        .route(
            "/supervisor/wallboard.js",
            get(|| file("text/javascript; charset=utf-8", JS)),
        )
        .route(
            "/supervisor/wallboard.css",
            get(|| file("text/css; charset=utf-8", CSS)),
        )
}

async fn file(content_type: &'static str, body: &'static str) -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
}

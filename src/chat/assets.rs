//! The chat's static files, built into the binary (no build step, nothing to
//! install): the widget at `/widget/widget.js` (and a demo page at
//! `/widget/`), the agent page at `/agent/` with its softphone
//! (`/agent/phone.js`), and the vendored libraries under `/vendor/`.

use axum::Router;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;

use crate::http::AppState;

const WIDGET_JS: &str = include_str!("../../web/widget/widget.js");
const WIDGET_DEMO: &str = include_str!("../../web/widget/index.html");
const AGENT_HTML: &str = include_str!("../../web/agent/index.html");
const AGENT_JS: &str = include_str!("../../web/agent/agent.js");
const PHONE_JS: &str = include_str!("../../web/agent/phone.js");
const WORKSPACE_JS: &str = include_str!("../../web/agent/workspace.js");
const JSSIP_JS: &str = include_str!("../../web/vendor/jssip-3.13.8.min.js");

/// The routes of the static chat files.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(
            "/widget/widget.js",
            get(|| file("text/javascript; charset=utf-8", WIDGET_JS)),
        )
        .route(
            "/widget/",
            get(|| file("text/html; charset=utf-8", WIDGET_DEMO)),
        )
        .route(
            "/agent/",
            get(|| file("text/html; charset=utf-8", AGENT_HTML)),
        )
        .route(
            "/agent/agent.js",
            get(|| file("text/javascript; charset=utf-8", AGENT_JS)),
        )
        .route(
            "/agent/workspace.js",
            get(|| file("text/javascript; charset=utf-8", WORKSPACE_JS)),
        )
        .route(
            "/agent/phone.js",
            get(|| file("text/javascript; charset=utf-8", PHONE_JS)),
        )
        .route(
            "/vendor/jssip.min.js",
            get(|| file("text/javascript; charset=utf-8", JSSIP_JS)),
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

//! The admin pages (`/admin/`), the supervisor wallboard (`/supervisor/`)
//! and the browser code kefu's pages share (`/common/`: the API client, the
//! login form, the base styles), built into
//! the binary like the chat's files (`crate::chat::assets`): no build step,
//! no CDN, nothing to install, works offline on a LAN.

use axum::Router;
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use axum::routing::get;

use crate::http::AppState;

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";
const HTML: &str = "text/html; charset=utf-8";

/// (path, content type, body) of every file.
const FILES: &[(&str, &str, &str)] = &[
    (
        "/common/api.js",
        JS,
        include_str!("../../web/common/api.js"),
    ),
    (
        "/common/login.js",
        JS,
        include_str!("../../web/common/login.js"),
    ),
    (
        "/common/common.css",
        CSS,
        include_str!("../../web/common/common.css"),
    ),
    (
        "/common/dom.js",
        JS,
        include_str!("../../web/common/dom.js"),
    ),
    ("/admin/", HTML, include_str!("../../web/admin/index.html")),
    (
        "/admin/admin.js",
        JS,
        include_str!("../../web/admin/admin.js"),
    ),
    (
        "/admin/admin.css",
        CSS,
        include_str!("../../web/admin/admin.css"),
    ),
    (
        "/admin/agents.js",
        JS,
        include_str!("../../web/admin/agents.js"),
    ),
    (
        "/admin/queues.js",
        JS,
        include_str!("../../web/admin/queues.js"),
    ),
    (
        "/admin/numbers.js",
        JS,
        include_str!("../../web/admin/numbers.js"),
    ),
    ("/admin/ivr.js", JS, include_str!("../../web/admin/ivr.js")),
    (
        "/admin/hours.js",
        JS,
        include_str!("../../web/admin/hours.js"),
    ),
    (
        "/supervisor/",
        HTML,
        include_str!("../../web/supervisor/index.html"),
    ),
    (
        "/supervisor/wallboard.js",
        JS,
        include_str!("../../web/supervisor/wallboard.js"),
    ),
    (
        "/supervisor/listen.js",
        JS,
        include_str!("../../web/supervisor/listen.js"),
    ),
    (
        "/supervisor/wallboard.css",
        CSS,
        include_str!("../../web/supervisor/wallboard.css"),
    ),
];

/// The routes of the admin pages, the wallboard and the shared files.
pub fn routes() -> Router<AppState> {
    let mut router =
        Router::new().route("/admin", get(|| async { Redirect::permanent("/admin/") }));
    for &(path, content_type, body) in FILES {
        router = router.route(path, get(move || file(content_type, body)));
    }
    router
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

//! The JSON API under `/api/v1/`, one file per resource.

pub mod agent_ws;
pub mod agents;
pub mod calendars;
pub mod calls;
pub mod contacts;
pub mod ivr;
pub mod me;
pub mod numbers;
pub mod queues;
pub mod recording_pause;
pub mod recordings;
pub mod reports;
pub mod scope;
pub mod sessions;
pub mod supervise;
pub mod supervisor_ws;
pub mod tenants;
pub mod users;

use axum::Router;
use axum::routing::{get, post, put};

use super::AppState;

/// The ACD's endpoints (agents, queues, contacts) and the directory's
/// (users, numbers, trunks), behind the bearer-token layer.
pub fn routing_routes() -> Router<AppState> {
    Router::new()
        .route("/agents", get(agents::list))
        .route("/agents/{ext}/login", post(agents::login))
        .route("/agents/{ext}/logout", post(agents::logout))
        .route("/agents/{ext}/state", put(agents::set_state))
        .route("/agents/{ext}/capacity", put(agents::set_capacity))
        .route("/users", get(users::list).post(users::create))
        .route("/users/{username}", get(users::get).put(users::update))
        .route("/numbers", get(numbers::list))
        .route(
            "/numbers/{number}",
            put(numbers::put).delete(numbers::delete),
        )
        .route("/trunks", get(numbers::trunks))
        .route("/trunks/{name}", put(numbers::put_trunk))
        .route("/queues", get(queues::list))
        .route("/queues/{name}", put(queues::configure))
        .route("/contacts", post(contacts::create).get(contacts::list))
        .route("/contacts/{id}", get(contacts::get))
        .route("/contacts/{id}/accept", post(contacts::accept))
        .route("/contacts/{id}/decline", post(contacts::decline))
        .route("/contacts/{id}/end", post(contacts::end))
        .route("/contacts/{id}/disposition", put(contacts::set_disposition))
        .route("/contacts/{id}/abandon", post(contacts::abandon))
        .route("/reports/intervals", get(reports::intervals))
}

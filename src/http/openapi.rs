//! The OpenAPI document served at `/api/v1/openapi.json`, generated from the
//! handlers' `#[utoipa::path]` annotations so it cannot drift from the code.

use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

use super::api;
use super::problem::Problem;

#[derive(OpenApi)]
#[openapi(
    info(title = "kefu API", description = "kefu contact-center server: administration and agent API."),
    paths(
        super::health::healthz,
        super::metrics::metrics,
        api::me::me,
        api::sessions::create,
        api::sessions::delete_current,
        api::calls::list,
        api::calls::get,
        api::supervise::join,
        api::supervise::change,
        api::recording_pause::pause,
        api::recording_pause::resume,
        api::recordings::download,
        api::agents::list,
        api::agents::login,
        api::agents::logout,
        api::agents::set_state,
        api::agents::set_capacity,
        api::users::list,
        api::users::get,
        api::users::create,
        api::users::update,
        api::numbers::list,
        api::numbers::put,
        api::numbers::delete,
        api::numbers::trunks,
        api::numbers::put_trunk,
        api::queues::list,
        api::queues::configure,
        api::contacts::create,
        api::contacts::list,
        api::contacts::get,
        api::contacts::accept,
        api::contacts::decline,
        api::contacts::end,
        api::contacts::set_disposition,
        api::contacts::abandon,
        api::agent_ws::connect,
        api::supervisor_ws::connect,
        api::reports::intervals,
        crate::chat::visitor::connect,
        crate::chat::transcript::messages,
        crate::chat::uploads::upload,
        crate::chat::admin::channels,
        crate::chat::admin::put_channel,
        crate::chat::admin::canned,
        crate::chat::admin::put_canned,
        crate::chat::uploads::download,
        api::calendars::list,
        api::calendars::get,
        api::calendars::put,
        api::ivr::list,
        api::ivr::get,
        api::ivr::put,
        api::ivr::svg,
        api::tenants::list,
        api::tenants::agents,
        api::tenants::queues,
        api::tenants::numbers,
        api::tenants::trunks,
    ),
    components(schemas(Problem)),
    modifiers(&BearerAuth),
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// `GET /api/v1/openapi.json`.
pub async fn document() -> axum::Json<utoipa::openapi::OpenApi> {
    axum::Json(ApiDoc::openapi())
}

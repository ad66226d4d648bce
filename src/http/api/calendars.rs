//! Business-hours calendars: `GET /api/v1/calendars` (all of a tenant's),
//! `GET /api/v1/calendars/{name}` and `PUT /api/v1/calendars/{name}`
//! (create or replace; admin token; queues bound to the calendar follow the
//! change at once). The
//! body is a [`CalendarSpec`]; a bad one is answered with a problem naming
//! the field (`weekly.mon[0]`, `holidays[2]`, `time_zone`).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use super::scope::{self, TenantQuery};
use crate::calendar::{self, Calendar, CalendarSpec};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::store::StoredCalendar;

/// A calendar and whether it is open at the time of the request.
#[derive(Debug, Serialize, ToSchema)]
pub struct CalendarView {
    #[serde(flatten)]
    pub calendar: StoredCalendar,
    pub open_now: bool,
}

/// The tenant's calendars, by name.
#[utoipa::path(get, path = "/api/v1/calendars", tag = "ivr", security(("bearer" = [])),
    params(TenantQuery),
    responses((status = 200, body = [CalendarView]), (status = 400, body = Problem)))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<TenantQuery>,
) -> Result<Json<Vec<CalendarView>>, Problem> {
    let tenant = scope::tenant(&state, &caller, &query).await?;
    let mut calendars = Vec::new();
    for name in state.store.calendar_names(&tenant.id).await? {
        if let Some(stored) = state.store.calendar(&tenant.id, &name).await? {
            calendars.push(view(stored));
        }
    }
    Ok(Json(calendars))
}

/// One calendar.
#[utoipa::path(get, path = "/api/v1/calendars/{name}", tag = "ivr", security(("bearer" = [])),
    params(("name" = String, Path, description = "calendar name"), TenantQuery),
    responses((status = 200, body = CalendarView), (status = 404, body = Problem)))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<TenantQuery>,
) -> Result<Json<CalendarView>, Problem> {
    scope::object_name("calendar", &name)?;
    let tenant = scope::tenant(&state, &caller, &query).await?;
    let stored = state
        .store
        .calendar(&tenant.id, &name)
        .await?
        .ok_or_else(|| Problem::not_found(format!("no calendar named `{name}`")))?;
    Ok(Json(view(stored)))
}

/// Creates or replaces a calendar (admin token).
#[utoipa::path(put, path = "/api/v1/calendars/{name}", tag = "ivr", security(("bearer" = [])),
    params(("name" = String, Path, description = "calendar name"), TenantQuery),
    request_body = CalendarSpec,
    responses((status = 200, body = CalendarView), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
pub async fn put(
    State(state): State<AppState>,
    caller: Caller,
    Path(name): Path<String>,
    Query(query): Query<TenantQuery>,
    body: Bytes,
) -> Result<Json<CalendarView>, Problem> {
    scope::require_admin(&caller, "calendars")?;
    scope::object_name("calendar", &name)?;
    let tenant = scope::tenant(&state, &caller, &query).await?;
    let mut json = serde_json::Deserializer::from_slice(&body);
    let spec: CalendarSpec = serde_path_to_error::deserialize(&mut json).map_err(|error| {
        let path = error.path().to_string();
        if path == "." {
            Problem::new(StatusCode::BAD_REQUEST, error.inner().to_string())
        } else {
            Problem::invalid(&path, error.inner()).bad_request()
        }
    })?;
    Calendar::from_spec(&spec).map_err(|error| Problem::invalid(&error.field, error.message))?;
    let stored = state.store.save_calendar(&tenant.id, &name, &spec).await?;
    tracing::info!(tenant = %tenant.name, calendar = %name, "calendar saved");
    state.acd.reload().await?;
    Ok(Json(view(stored)))
}

fn view(calendar: StoredCalendar) -> CalendarView {
    let open_now = Calendar::from_spec(&calendar.spec)
        .is_ok_and(|checked| calendar::is_open(&checked, jiff::Timestamp::now()));
    CalendarView { calendar, open_now }
}

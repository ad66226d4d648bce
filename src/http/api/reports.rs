//! `GET /api/v1/reports/intervals`: per queue, what was offered, answered and
//! abandoned, the service level and the average speed of answer for each
//! interval of the last hours, computed from the stored contacts (so every
//! node of a cluster answers the same). Supervisors and admins only.

use std::time::Duration;

use axum::Json;
use axum::extract::{Query, State};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::agents::{Actor, TenantQuery};
use crate::http::AppState;
use crate::http::auth::Caller;
use crate::http::problem::Problem;
use crate::reports::{QueueIntervals, Window, intervals};
use crate::store::Millis;

/// The most hours a report looks back, and the most intervals it holds.
const MAX_HOURS: u64 = 48;
const MAX_INTERVALS: u64 = 576;

/// What to report.
#[derive(Debug, Default, Deserialize, IntoParams)]
pub struct IntervalQuery {
    /// The tenant's name; needed with the admin token.
    pub tenant: Option<String>,
    /// How far back, 1-48 (default 8).
    pub hours: Option<String>,
    /// Interval length: minutes (`15m`) or hours (`1h`), at least 1 minute
    /// (default `15m`).
    pub interval: Option<String>,
}

/// Figures per queue and interval.
#[derive(Debug, Serialize, ToSchema)]
pub struct IntervalReport {
    /// Start of the first interval and end of the last (Unix ms); intervals
    /// are aligned to multiples of their length since the epoch, the last
    /// one holds now.
    pub from: i64,
    pub to: i64,
    pub interval_ms: i64,
    pub queues: Vec<QueueIntervals>,
}

/// The last hours' figures per queue and interval.
#[utoipa::path(get, path = "/api/v1/reports/intervals", tag = "reports", security(("bearer" = [])),
    params(IntervalQuery),
    responses((status = 200, body = IntervalReport), (status = 400, body = Problem),
        (status = 401, body = Problem), (status = 403, body = Problem)))]
pub async fn intervals(
    State(state): State<AppState>,
    caller: Caller,
    Query(query): Query<IntervalQuery>,
) -> Result<Json<IntervalReport>, Problem> {
    let tenant = TenantQuery {
        tenant: query.tenant.clone(),
    };
    let actor = Actor::of(&state, &caller, &tenant).await?;
    actor.must_supervise("reports")?;
    let hours = match query.hours.as_deref() {
        None => 8,
        Some(text) => text
            .trim()
            .parse::<u64>()
            .ok()
            .filter(|h| (1..=MAX_HOURS).contains(h))
            .ok_or_else(|| {
                Problem::bad_query("hours", text, "must be a whole number from 1 to 48")
            })?,
    };
    let interval = match query.interval.as_deref() {
        None => Duration::from_secs(15 * 60),
        Some(text) => parse_interval(text).ok_or_else(|| {
            Problem::bad_query(
                "interval",
                text,
                "must be minutes like `15m` or hours like `1h`",
            )
        })?,
    };
    let span = Duration::from_secs(hours * 3600);
    if span.as_secs() / interval.as_secs() > MAX_INTERVALS {
        return Err(Problem::bad_query(
            "interval",
            query.interval.as_deref().unwrap_or_default(),
            "is too short for so many hours: at most 576 intervals",
        ));
    }
    let window = Window::last(Millis::now(), span, interval);
    let queues: Vec<(String, i64)> = state
        .store
        .queues(&actor.tenant_id)
        .await?
        .into_iter()
        .map(|q| (q.name, q.service_level_secs))
        .collect();
    let outcomes = state
        .store
        .contact_outcomes(&actor.tenant_id, Millis(window.from), Millis(window.to()))
        .await?;
    Ok(Json(IntervalReport {
        from: window.from,
        to: window.to(),
        interval_ms: window.interval_ms,
        queues: intervals::per_queue(window, &queues, &outcomes),
    }))
}

/// `15m` or `1h` (1 minute to 24 hours).
fn parse_interval(text: &str) -> Option<Duration> {
    let text = text.trim();
    let secs = if let Some(minutes) = text.strip_suffix('m') {
        minutes.parse::<u64>().ok()?.checked_mul(60)?
    } else {
        text.strip_suffix('h')?
            .parse::<u64>()
            .ok()?
            .checked_mul(3600)?
    };
    (60..=24 * 3600)
        .contains(&secs)
        .then(|| Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_minutes_or_hours() {
        assert_eq!(parse_interval("15m"), Some(Duration::from_secs(900)));
        assert_eq!(parse_interval("1h"), Some(Duration::from_secs(3600)));
        for bad in ["", "m", "0m", "15", "15s", "-5m", "25h", "1.5h", "ü"] {
            assert_eq!(parse_interval(bad), None, "{bad:?}");
        }
    }
}

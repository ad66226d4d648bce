//! Business-hours calendars as stored: the admin's [`CalendarSpec`] per
//! tenant and name, its weekly hours and holidays kept as JSON text (the
//! same columns on both engines). Checking a spec is
//! [`crate::calendar`]'s job; this module only keeps it.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Millis, Store, StoreError, new_id};
use crate::calendar::{CalendarSpec, Weekly};

/// One stored calendar.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct StoredCalendar {
    pub name: String,
    #[serde(flatten)]
    pub spec: CalendarSpec,
    pub updated_at: i64,
}

/// A stored calendar with its tenant, as the ACD loads them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantCalendar {
    pub tenant_id: String,
    pub calendar: StoredCalendar,
}

#[derive(sqlx::FromRow)]
struct CalendarRow {
    name: String,
    time_zone: String,
    weekly: String,
    holidays: String,
    updated_at: i64,
}

#[derive(sqlx::FromRow)]
struct TenantCalendarRow {
    tenant_id: String,
    #[sqlx(flatten)]
    calendar: CalendarRow,
}

impl TryFrom<CalendarRow> for StoredCalendar {
    type Error = StoreError;

    fn try_from(row: CalendarRow) -> Result<Self, StoreError> {
        let corrupt = |_| StoreError::Corrupt { what: "calendar" };
        let weekly: Weekly = serde_json::from_str(&row.weekly).map_err(corrupt)?;
        let holidays: Vec<String> = serde_json::from_str(&row.holidays).map_err(corrupt)?;
        Ok(StoredCalendar {
            name: row.name,
            spec: CalendarSpec {
                time_zone: row.time_zone,
                weekly,
                holidays,
            },
            updated_at: row.updated_at,
        })
    }
}

const COLUMNS: &str = "name, time_zone, weekly, holidays, updated_at";

impl Store {
    /// Creates or replaces the tenant's calendar `name`.
    pub async fn save_calendar(
        &self,
        tenant_id: &str,
        name: &str,
        spec: &CalendarSpec,
    ) -> Result<StoredCalendar, StoreError> {
        self.insert_calendar(tenant_id, name, spec, true).await?;
        self.calendar(tenant_id, name)
            .await?
            .ok_or(StoreError::NotFound { what: "calendar" })
    }

    /// Creates the calendar unless one of that name exists (kept as is).
    pub async fn ensure_calendar(
        &self,
        tenant_id: &str,
        name: &str,
        spec: &CalendarSpec,
    ) -> Result<(), StoreError> {
        self.insert_calendar(tenant_id, name, spec, false).await
    }

    async fn insert_calendar(
        &self,
        tenant_id: &str,
        name: &str,
        spec: &CalendarSpec,
        replace: bool,
    ) -> Result<(), StoreError> {
        let on_conflict = if replace {
            "DO UPDATE SET time_zone = excluded.time_zone, weekly = excluded.weekly, \
             holidays = excluded.holidays, updated_at = excluded.updated_at"
        } else {
            "DO NOTHING"
        };
        let weekly = serde_json::to_string(&spec.weekly)
            .map_err(|_| StoreError::Corrupt { what: "calendar" })?;
        let holidays = serde_json::to_string(&spec.holidays)
            .map_err(|_| StoreError::Corrupt { what: "calendar" })?;
        sqlx::query(&format!(
            "INSERT INTO calendars (id, tenant_id, name, time_zone, weekly, holidays, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (tenant_id, name) {on_conflict}"
        ))
        .bind(new_id())
        .bind(tenant_id)
        .bind(name)
        .bind(&spec.time_zone)
        .bind(weekly)
        .bind(holidays)
        .bind(Millis::now().0)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The tenant's calendar `name`, if any.
    pub async fn calendar(
        &self,
        tenant_id: &str,
        name: &str,
    ) -> Result<Option<StoredCalendar>, StoreError> {
        let row: Option<CalendarRow> = sqlx::query_as(&format!(
            "SELECT {COLUMNS} FROM calendars WHERE tenant_id = $1 AND name = $2"
        ))
        .bind(tenant_id)
        .bind(name)
        .fetch_optional(self.pool())
        .await?;
        row.map(StoredCalendar::try_from).transpose()
    }

    /// The names of the tenant's calendars, sorted.
    pub async fn calendar_names(&self, tenant_id: &str) -> Result<Vec<String>, StoreError> {
        Ok(
            sqlx::query_scalar("SELECT name FROM calendars WHERE tenant_id = $1 ORDER BY name")
                .bind(tenant_id)
                .fetch_all(self.pool())
                .await?,
        )
    }

    /// Every tenant's calendars, by tenant then name.
    pub async fn all_calendars(&self) -> Result<Vec<TenantCalendar>, StoreError> {
        let rows: Vec<TenantCalendarRow> = sqlx::query_as(&format!(
            "SELECT tenant_id, {COLUMNS} FROM calendars ORDER BY tenant_id, name"
        ))
        .fetch_all(self.pool())
        .await?;
        rows.into_iter()
            .map(|row| {
                Ok(TenantCalendar {
                    tenant_id: row.tenant_id,
                    calendar: StoredCalendar::try_from(row.calendar)?,
                })
            })
            .collect()
    }
}

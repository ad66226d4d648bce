//! Recording rows: where a call's WAV file is and what it holds. The files
//! themselves belong to the `kefu-recordings` crate.

use serde::Serialize;
use utoipa::ToSchema;

use super::{Millis, Store, StoreError, found, new_id};

/// A recording that has just started.
#[derive(Debug, Clone)]
pub struct NewRecording<'a> {
    pub tenant_id: Option<&'a str>,
    pub call_id: &'a str,
    /// Relative to the data dir, e.g. `recordings/2026/11/25/<call-id>.wav`.
    pub path: &'a str,
    pub sample_rate: i64,
    pub started_at: Millis,
}

/// A recording's row.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow, Serialize, ToSchema)]
pub struct Recording {
    pub id: String,
    pub call_id: String,
    pub path: String,
    pub sample_rate: i64,
    pub started_at: i64,
    pub ended_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub size_bytes: Option<i64>,
    /// Paused intervals as a JSON array of `[start_ms, end_ms]`.
    pub pauses: String,
}

impl Store {
    /// Writes the row of a recording that has started; returns its id.
    pub async fn create_recording(&self, new: &NewRecording<'_>) -> Result<String, StoreError> {
        let id = new_id();
        sqlx::query(
            "INSERT INTO recordings (id, tenant_id, call_id, path, sample_rate, started_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&id)
        .bind(new.tenant_id)
        .bind(new.call_id)
        .bind(new.path)
        .bind(new.sample_rate)
        .bind(new.started_at.0)
        .execute(self.pool())
        .await?;
        Ok(id)
    }

    /// Completes a recording's row when its file is closed.
    pub async fn finish_recording(
        &self,
        id: &str,
        ended_at: Millis,
        duration_ms: i64,
        size_bytes: i64,
        pauses: &serde_json::Value,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE recordings SET ended_at = $1, duration_ms = $2, size_bytes = $3, pauses = $4 \
             WHERE id = $5",
        )
        .bind(ended_at.0)
        .bind(duration_ms)
        .bind(size_bytes)
        .bind(pauses.to_string())
        .bind(id)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// The recordings of a call, oldest first.
    pub async fn recordings_of_call(&self, call_id: &str) -> Result<Vec<Recording>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT id, call_id, path, sample_rate, started_at, ended_at, duration_ms, \
             size_bytes, pauses FROM recordings WHERE call_id = $1 ORDER BY started_at, id",
        )
        .bind(call_id)
        .fetch_all(self.pool())
        .await?)
    }

    /// The paths of the recordings that started before `cutoff`, the ones a
    /// retention sweep with that cutoff removes.
    pub async fn recording_paths_started_before(
        &self,
        cutoff: Millis,
    ) -> Result<Vec<String>, StoreError> {
        Ok(sqlx::query_scalar(
            "SELECT path FROM recordings WHERE started_at < $1 ORDER BY started_at, id",
        )
        .bind(cutoff.0)
        .fetch_all(self.pool())
        .await?)
    }

    /// Deletes the rows of the recordings at these paths (relative to the
    /// data dir) in one transaction; returns how many there were.
    pub async fn delete_recordings_at(&self, paths: &[String]) -> Result<u64, StoreError> {
        let mut tx = self.pool().begin().await?;
        let mut deleted = 0;
        for path in paths {
            deleted += sqlx::query("DELETE FROM recordings WHERE path = $1")
                .bind(path)
                .execute(&mut *tx)
                .await?
                .rows_affected();
        }
        tx.commit().await?;
        Ok(deleted)
    }

    /// The recording with this id.
    pub async fn recording(&self, id: &str) -> Result<Recording, StoreError> {
        found(
            sqlx::query_as(
                "SELECT id, call_id, path, sample_rate, started_at, ended_at, duration_ms, \
                 size_bytes, pauses FROM recordings WHERE id = $1",
            )
            .bind(id)
            .fetch_optional(self.pool())
            .await?,
            "recording",
        )
    }
}

//! What a finished recording is, as the binary stores it in a row:
//! [`RecordingMeta`], serialisable with serde. Timestamps are RFC 3339 UTC
//! strings and durations whole milliseconds, so the row reads the same in
//! SQLite, PostgreSQL and JSON.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::sample_rate::SampleRate;

/// A finished recording.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RecordingMeta {
    /// The call's Call-ID as given (not the encoded file name).
    pub call_id: String,
    /// The WAV file, relative to the data dir (`recordings/YYYY/MM/DD/<call-id>.wav`);
    /// what [`crate::open_for_read`] takes.
    pub path: PathBuf,
    /// Wall-clock time of the first sample.
    #[serde(with = "rfc3339")]
    pub started_at: SystemTime,
    /// Wall-clock time just after the last sample (`started_at + duration`).
    #[serde(with = "rfc3339")]
    pub ended_at: SystemTime,
    /// Length of the audio.
    #[serde(rename = "duration_ms", with = "millis")]
    pub duration: Duration,
    /// Sample rate of both channels.
    pub sample_rate: SampleRate,
    /// Size of the WAV file, header included.
    pub bytes: u64,
    /// When the recording was paused (silence was written), in order.
    pub pauses: Vec<PauseInterval>,
    /// Frames the media engine offered while the recorder's queue was full;
    /// their time is silence in the file.
    pub dropped_frames: u64,
}

/// A stretch of the recording that was paused and holds silence, as offsets
/// from the start of the recording.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct PauseInterval {
    /// Offset of the first silenced sample.
    #[serde(rename = "start_ms", with = "millis")]
    pub start: Duration,
    /// Offset just after the last silenced sample.
    #[serde(rename = "end_ms", with = "millis")]
    pub end: Duration,
}

mod rfc3339 {
    use std::time::SystemTime;

    use serde::{Deserialize, Deserializer, Serializer, de, ser};
    use time::OffsetDateTime;
    use time::format_description::well_known::Rfc3339;

    use crate::utc::{from_utc, to_utc};

    pub(super) fn serialize<S: Serializer>(
        at: &SystemTime,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let text = to_utc(*at)
            .map_err(ser::Error::custom)?
            .format(&Rfc3339)
            .map_err(ser::Error::custom)?;
        serializer.serialize_str(&text)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<SystemTime, D::Error> {
        let text = String::deserialize(deserializer)?;
        let at = OffsetDateTime::parse(&text, &Rfc3339).map_err(de::Error::custom)?;
        from_utc(at).map_err(de::Error::custom)
    }
}

mod millis {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer, ser};

    pub(super) fn serialize<S: Serializer>(
        duration: &Duration,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        let millis = u64::try_from(duration.as_millis()).map_err(ser::Error::custom)?;
        serializer.serialize_u64(millis)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Duration, D::Error> {
        u64::deserialize(deserializer).map(Duration::from_millis)
    }
}

#[cfg(test)]
mod tests {
    use std::time::UNIX_EPOCH;

    use super::*;

    fn meta() -> RecordingMeta {
        let started_at = UNIX_EPOCH + Duration::from_secs(1_795_608_000);
        RecordingMeta {
            call_id: "abc@host".into(),
            path: "recordings/2026/11/25/abc@host.wav".into(),
            started_at,
            ended_at: started_at + Duration::from_millis(61_500),
            duration: Duration::from_millis(61_500),
            sample_rate: SampleRate::Narrowband,
            bytes: 1_968_044,
            pauses: vec![PauseInterval {
                start: Duration::from_secs(10),
                end: Duration::from_millis(25_250),
            }],
            dropped_frames: 0,
        }
    }

    #[test]
    fn serialises_as_a_flat_row_with_rfc3339_times_and_milliseconds() {
        let json = serde_json::to_value(meta()).unwrap();
        assert_eq!(json["started_at"], "2026-11-25T12:00:00Z");
        assert_eq!(json["ended_at"], "2026-11-25T12:01:01.5Z");
        assert_eq!(json["duration_ms"], 61_500);
        assert_eq!(json["sample_rate"], 8_000);
        assert_eq!(json["path"], "recordings/2026/11/25/abc@host.wav");
        assert_eq!(json["pauses"][0]["start_ms"], 10_000);
        assert_eq!(json["pauses"][0]["end_ms"], 25_250);
    }

    #[test]
    fn round_trips_through_json() {
        let text = serde_json::to_string(&meta()).unwrap();
        assert_eq!(
            serde_json::from_str::<RecordingMeta>(&text).unwrap(),
            meta()
        );
    }

    #[test]
    fn rejects_a_malformed_timestamp() {
        let mut json = serde_json::to_value(meta()).unwrap();
        json["started_at"] = "yesterday".into();
        assert!(serde_json::from_value::<RecordingMeta>(json).is_err());
    }
}

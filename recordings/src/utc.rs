//! Conversions between `SystemTime` (what callers pass in) and the UTC calendar
//! (what the directory layout and the metadata are written in), on the `time` crate.

use std::time::{SystemTime, UNIX_EPOCH};

use time::OffsetDateTime;

/// A timestamp outside the years the calendar can represent (±9999).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("timestamp is outside the representable calendar range")]
pub struct TimestampOutOfRange;

/// The UTC date and time of `at`.
pub(crate) fn to_utc(at: SystemTime) -> Result<OffsetDateTime, TimestampOutOfRange> {
    let nanos = match at.duration_since(UNIX_EPOCH) {
        Ok(after) => i128::try_from(after.as_nanos()).map_err(|_| TimestampOutOfRange)?,
        Err(before) => {
            -i128::try_from(before.duration().as_nanos()).map_err(|_| TimestampOutOfRange)?
        }
    };
    OffsetDateTime::from_unix_timestamp_nanos(nanos).map_err(|_| TimestampOutOfRange)
}

/// The `SystemTime` of a UTC date and time.
pub(crate) fn from_utc(at: OffsetDateTime) -> Result<SystemTime, TimestampOutOfRange> {
    let nanos = at.unix_timestamp_nanos();
    let magnitude = std::time::Duration::from_nanos(
        u64::try_from(nanos.unsigned_abs()).map_err(|_| TimestampOutOfRange)?,
    );
    if nanos >= 0 {
        UNIX_EPOCH.checked_add(magnitude)
    } else {
        UNIX_EPOCH.checked_sub(magnitude)
    }
    .ok_or(TimestampOutOfRange)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use time::{Date, Month};

    use super::*;

    #[test]
    fn converts_to_the_utc_calendar_date() {
        // 2026-11-25T12:00:00Z
        let at = UNIX_EPOCH + Duration::from_secs(1_795_608_000);
        let utc = to_utc(at).unwrap();
        assert_eq!(
            utc.date(),
            Date::from_calendar_date(2026, Month::November, 25).unwrap()
        );
        assert_eq!(utc.hour(), 12);
    }

    #[test]
    fn round_trips_including_before_the_epoch() {
        for at in [
            UNIX_EPOCH + Duration::new(1_795_608_000, 123_456_789),
            UNIX_EPOCH - Duration::from_secs(86_400 * 365),
        ] {
            assert_eq!(from_utc(to_utc(at).unwrap()).unwrap(), at);
        }
    }

    #[test]
    fn refuses_timestamps_beyond_the_calendar() {
        let far = UNIX_EPOCH + Duration::from_secs(400_000 * 365 * 86_400);
        assert_eq!(to_utc(far), Err(TimestampOutOfRange));
    }
}

//! Business-hours calendars, which IVR `hours` nodes ask: weekly opening
//! hours in an IANA time zone plus holiday dates (closed all day). A
//! [`CalendarSpec`] is what admins write (API JSON, stored as is); a
//! [`Calendar`] is a spec that has been checked, and [`is_open`] answers
//! for an instant. Pure: the time is a parameter, never read here.
//!
//! Time zones come from `jiff` rather than `chrono-tz`: jiff is actively
//! maintained (1.0, by the author of ripgrep), its zoned conversions handle
//! DST gaps and folds correctly by construction, and it reads the system's
//! tz database with a bundled copy as fallback (`tzdb-bundle-always`), where
//! chrono-tz compiles the whole database into code and chrono's API leaves
//! DST ambiguity to the caller.
//!
//! Opening hours are local wall-clock times, so `09:00-18:00` in
//! `America/New_York` opens at 13:00 UTC in summer and 14:00 UTC in winter.
//! A holiday is a local date. Intervals do not wrap past midnight: a night
//! shift is `22:00-24:00` on one day and `00:00-06:00` on the next.

use std::collections::BTreeSet;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::TimeZone;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// A calendar as admins write it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CalendarSpec {
    /// IANA time zone name, e.g. `Asia/Shanghai`.
    pub time_zone: String,
    /// Opening hours per weekday; a day not listed is closed.
    #[serde(default)]
    pub weekly: Weekly,
    /// Dates (`YYYY-MM-DD`, local) closed all day.
    #[serde(default)]
    pub holidays: Vec<String>,
}

/// Opening intervals (`"HH:MM-HH:MM"`, end may be `24:00`) per weekday.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct Weekly {
    pub mon: Vec<String>,
    pub tue: Vec<String>,
    pub wed: Vec<String>,
    pub thu: Vec<String>,
    pub fri: Vec<String>,
    pub sat: Vec<String>,
    pub sun: Vec<String>,
}

impl Weekly {
    /// The days with their names, Monday first.
    fn days(&self) -> [(&'static str, &[String]); 7] {
        [
            ("mon", &self.mon),
            ("tue", &self.tue),
            ("wed", &self.wed),
            ("thu", &self.thu),
            ("fri", &self.fri),
            ("sat", &self.sat),
            ("sun", &self.sun),
        ]
    }
}

/// A spec field that is wrong, and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("field `{field}`: {message}")]
pub struct SpecError {
    /// The field's path, e.g. `weekly.mon[0]` or `holidays[2]`.
    pub field: String,
    pub message: String,
}

/// Minutes since local midnight, `from` included, `to` excluded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Opening {
    from: u16,
    to: u16,
}

/// A checked calendar; see the [module docs](self).
#[derive(Debug, Clone)]
pub struct Calendar {
    time_zone: TimeZone,
    /// Monday first.
    weekly: [Vec<Opening>; 7],
    holidays: BTreeSet<Date>,
}

impl Calendar {
    /// Checks a spec; the error names the first wrong field.
    pub fn from_spec(spec: &CalendarSpec) -> Result<Calendar, SpecError> {
        let bad = |field: String, message: String| SpecError { field, message };
        let time_zone = TimeZone::get(spec.time_zone.trim()).map_err(|_| {
            bad(
                "time_zone".to_owned(),
                format!(
                    "{:?} is not an IANA time zone; use a name such as \"Asia/Shanghai\" or \"UTC\"",
                    spec.time_zone
                ),
            )
        })?;
        let mut weekly: [Vec<Opening>; 7] = Default::default();
        for (day, (name, intervals)) in spec.weekly.days().into_iter().enumerate() {
            for (index, text) in intervals.iter().enumerate() {
                let opening = opening(text).map_err(|message| {
                    bad(
                        format!("weekly.{name}[{index}]"),
                        format!("{text:?} {message}"),
                    )
                })?;
                weekly[day].push(opening);
            }
        }
        let mut holidays = BTreeSet::new();
        for (index, text) in spec.holidays.iter().enumerate() {
            let date = date(text).ok_or_else(|| {
                bad(
                    format!("holidays[{index}]"),
                    format!("{text:?} is not a date; write YYYY-MM-DD, e.g. \"2026-10-01\""),
                )
            })?;
            holidays.insert(date);
        }
        Ok(Calendar {
            time_zone,
            weekly,
            holidays,
        })
    }
}

/// Whether the calendar is open at `now`: not a local holiday, and the
/// local time lies in one of the local weekday's openings.
pub fn is_open(calendar: &Calendar, now: Timestamp) -> bool {
    let local = now.to_zoned_datetime(calendar.time_zone.clone());
    if calendar.holidays.contains(&local.date()) {
        return false;
    }
    let day = usize::try_from(local.weekday().to_monday_zero_offset()).unwrap_or(0);
    let minute =
        u16::try_from(i32::from(local.hour()) * 60 + i32::from(local.minute())).unwrap_or(u16::MAX);
    calendar.weekly[day]
        .iter()
        .any(|opening| opening.from <= minute && minute < opening.to)
}

/// `HH:MM-HH:MM` with the end after the start (`24:00` allowed as the end).
fn opening(text: &str) -> Result<Opening, &'static str> {
    const FORM: &str = "is not an opening; write \"HH:MM-HH:MM\", e.g. \"09:00-18:00\"";
    let (from, to) = text.split_once('-').ok_or(FORM)?;
    let from = minutes(from.trim()).filter(|m| *m < 24 * 60).ok_or(FORM)?;
    let to = minutes(to.trim()).ok_or(FORM)?;
    if to <= from {
        return Err(
            "ends before it starts; an opening may not pass midnight (split it: \"22:00-24:00\" and \"00:00-06:00\" the next day)",
        );
    }
    Ok(Opening { from, to })
}

/// Minutes of `HH:MM` (`00:00` to `24:00`).
fn minutes(text: &str) -> Option<u16> {
    let (hours, mins) = text.split_once(':')?;
    if hours.len() != 2 || mins.len() != 2 {
        return None;
    }
    let hours: u16 = hours.parse().ok()?;
    let mins: u16 = mins.parse().ok()?;
    let total = hours * 60 + mins;
    (mins < 60 && total <= 24 * 60).then_some(total)
}

/// A `YYYY-MM-DD` date.
fn date(text: &str) -> Option<Date> {
    let text = text.trim();
    let well_formed = text.len() == 10
        && text.char_indices().all(|(i, c)| {
            if i == 4 || i == 7 {
                c == '-'
            } else {
                c.is_ascii_digit()
            }
        });
    if !well_formed {
        return None;
    }
    text.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(time_zone: &str, weekdays: &[&str], holidays: &[&str]) -> CalendarSpec {
        let hours = weekdays.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        CalendarSpec {
            time_zone: time_zone.to_owned(),
            weekly: Weekly {
                mon: hours.clone(),
                tue: hours.clone(),
                wed: hours.clone(),
                thu: hours.clone(),
                fri: hours,
                ..Weekly::default()
            },
            holidays: holidays.iter().map(|s| (*s).to_owned()).collect(),
        }
    }

    fn at(utc: &str) -> Timestamp {
        utc.parse().unwrap()
    }

    fn open(calendar: &Calendar, utc: &str) -> bool {
        is_open(calendar, at(utc))
    }

    #[test]
    fn calendar_shanghai_office_hours_are_local_time() {
        let support =
            Calendar::from_spec(&spec("Asia/Shanghai", &["09:00-18:00"], &["2026-10-01"])).unwrap();
        // Wednesday 2026-11-25: 09:00 in Shanghai is 01:00 UTC.
        assert!(!open(&support, "2026-11-25T00:59:59Z"));
        assert!(open(&support, "2026-11-25T01:00:00Z"));
        assert!(open(&support, "2026-11-25T09:59:59Z"));
        assert!(!open(&support, "2026-11-25T10:00:00Z"), "18:00 is closed");
        // Friday 23:30 UTC is already Saturday in Shanghai.
        assert!(!open(&support, "2026-11-27T23:30:00Z"));
        // Sunday 22:00 UTC is Monday 06:00 in Shanghai: not yet open.
        assert!(!open(&support, "2026-11-29T22:00:00Z"));
        assert!(open(&support, "2026-11-30T02:00:00Z"));
    }

    #[test]
    fn calendar_holiday_is_a_local_date_closed_all_day() {
        let support =
            Calendar::from_spec(&spec("Asia/Shanghai", &["09:00-18:00"], &["2026-10-01"])).unwrap();
        // Thursday 2026-10-01 10:00 in Shanghai.
        assert!(!open(&support, "2026-10-01T02:00:00Z"));
        // 2026-09-30 20:00 UTC is already 10-01 04:00 local; the day before
        // (UTC 2026-09-30 02:00 = local 10:00 on the 30th) is open.
        assert!(open(&support, "2026-09-30T02:00:00Z"));
        assert!(open(&support, "2026-10-02T02:00:00Z"));
    }

    #[test]
    fn calendar_follows_daylight_saving_time() {
        let new_york =
            Calendar::from_spec(&spec("America/New_York", &["09:00-17:00"], &[])).unwrap();
        // Summer (EDT, UTC-4): 09:00 local is 13:00 UTC.
        assert!(open(&new_york, "2026-07-15T13:00:00Z"));
        assert!(!open(&new_york, "2026-07-15T12:59:00Z"));
        // Winter (EST, UTC-5): 13:30 UTC is 08:30 local, closed; 14:00 opens.
        assert!(!open(&new_york, "2026-12-02T13:30:00Z"));
        assert!(open(&new_york, "2026-12-02T14:00:00Z"));
        // Monday 2026-03-09, the day after the switch to EDT.
        assert!(open(&new_york, "2026-03-09T13:00:00Z"));
        // Monday 2026-11-02, the day after the switch back to EST.
        assert!(!open(&new_york, "2026-11-02T13:00:00Z"));
        assert!(open(&new_york, "2026-11-02T14:00:00Z"));
    }

    #[test]
    fn calendar_night_shift_and_weekend_days() {
        let mut night = spec("Europe/London", &[], &[]);
        night.weekly.sat = vec!["00:00-06:00".into(), "22:00-24:00".into()];
        let night = Calendar::from_spec(&night).unwrap();
        // Saturday 2026-07-04, BST (UTC+1): 23:30 local is 22:30 UTC.
        assert!(open(&night, "2026-07-04T22:30:00Z"));
        // 23:30 UTC is Sunday 00:30 local: Sunday has no hours.
        assert!(!open(&night, "2026-07-04T23:30:00Z"));
        assert!(open(&night, "2026-07-04T04:00:00Z"));
        assert!(!open(&night, "2026-07-04T12:00:00Z"));
    }

    #[test]
    fn calendar_spec_errors_name_the_field() {
        let field = |spec: CalendarSpec| Calendar::from_spec(&spec).unwrap_err().field;
        assert_eq!(field(spec("Mars/Olympus", &[], &[])), "time_zone");
        assert_eq!(field(spec("UTC", &["9-18"], &[])), "weekly.mon[0]");
        assert_eq!(field(spec("UTC", &["18:00-09:00"], &[])), "weekly.mon[0]");
        assert_eq!(field(spec("UTC", &["09:00-24:01"], &[])), "weekly.mon[0]");
        assert_eq!(field(spec("UTC", &["24:00-24:00"], &[])), "weekly.mon[0]");
        assert_eq!(
            field(spec("UTC", &[], &["2026-10-01", "2026-13-01"])),
            "holidays[1]"
        );
        assert_eq!(field(spec("UTC", &[], &["1 Oct"])), "holidays[0]");
        assert!(Calendar::from_spec(&spec("UTC", &["00:00-24:00"], &[])).is_ok());
    }

    fn every_day(hours: &[&str]) -> CalendarSpec {
        let hours: Vec<String> = hours.iter().map(|s| (*s).to_owned()).collect();
        CalendarSpec {
            time_zone: "America/New_York".to_owned(),
            weekly: Weekly {
                mon: hours.clone(),
                tue: hours.clone(),
                wed: hours.clone(),
                thu: hours.clone(),
                fri: hours.clone(),
                sat: hours.clone(),
                sun: hours,
            },
            holidays: Vec::new(),
        }
    }

    proptest::proptest! {
        #[test]
        fn calendar_open_all_day_is_open_and_without_hours_closed_at_any_instant(
            seconds in -9_000_000_000i64..9_000_000_000i64,
        ) {
            let now = Timestamp::from_second(seconds).unwrap();
            let always = Calendar::from_spec(&every_day(&["00:00-24:00"])).unwrap();
            let never = Calendar::from_spec(&every_day(&[])).unwrap();
            proptest::prop_assert!(is_open(&always, now));
            proptest::prop_assert!(!is_open(&never, now));
            let local = now.to_zoned_datetime(always.time_zone.clone());
            let mut holiday = every_day(&["00:00-24:00"]);
            holiday.holidays.push(local.date().to_string());
            proptest::prop_assert!(!is_open(&Calendar::from_spec(&holiday).unwrap(), now));
        }

        #[test]
        fn calendar_spec_never_panics_on_any_text(opening in ".{0,16}", day in ".{0,12}") {
            let mut spec = every_day(&[]);
            spec.weekly.mon = vec![opening];
            spec.holidays = vec![day];
            let _ = Calendar::from_spec(&spec);
        }
    }

    #[test]
    fn calendar_spec_json_rejects_unknown_days() {
        let json = r#"{"time_zone": "UTC", "weekly": {"mon": [], "mond": []}}"#;
        let error = serde_json::from_str::<CalendarSpec>(json).unwrap_err();
        assert!(error.to_string().contains("mond"), "{error}");
    }
}

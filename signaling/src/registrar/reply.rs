//! The responses the registrar sends: built from the REGISTER with
//! [`crate::message::response_to`], plus the To tag every final response needs
//! (RFC 3261 §8.2.6.2), and the `Contact` and `Date` headers of a 200 (§10.3
//! step 8).

use std::time::{SystemTime, UNIX_EPOCH};

use rsip::headers::{Contact, Date, UntypedHeader, Warning};
use rsip::{Header, Request, Response};

use crate::message::{RequestError, add_to_tag, error_response, response_to};

/// A response to `request` with a To tag.
pub(super) fn reply(request: &Request, code: u16, reason: &str, to_tag: &str) -> Response {
    let mut response = response_to(request, code, reason);
    add_to_tag(&mut response, to_tag);
    response
}

/// The 4xx for a request error, with its `Warning`, and a To tag.
pub(super) fn reply_error(request: &Request, error: &RequestError, to_tag: &str) -> Response {
    let mut response = error_response(request, error);
    add_to_tag(&mut response, to_tag);
    response
}

/// A response to `request` with a To tag and a `Warning` saying why.
pub(super) fn reply_with_warning(
    request: &Request,
    code: u16,
    reason: &str,
    warning: &str,
    to_tag: &str,
) -> Response {
    let mut response = reply(request, code, reason, to_tag);
    response.headers.push(Header::Warning(Warning::new(format!(
        "399 kefu \"{warning}\""
    ))));
    response
}

/// A `Date` header for `now` (RFC 3261 §20.17, RFC 1123 form, always GMT).
pub(super) fn date_header(now: SystemTime) -> Header {
    Header::Date(Date::new(http_date(now)))
}

/// `Tue, 14 Nov 2023 22:13:20 GMT`.
fn http_date(now: SystemTime) -> String {
    const WEEKDAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let seconds = now
        .duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0);
    let days = seconds / 86_400;
    let (year, month, day) = civil_from_days(days);
    let of_day = seconds % 86_400;
    format!(
        "{}, {day:02} {} {year} {:02}:{:02}:{:02} GMT",
        WEEKDAYS[(days % 7) as usize],
        MONTHS[(month - 1) as usize],
        of_day / 3600,
        of_day / 60 % 60,
        of_day % 60
    )
}

/// Year, month (1-12) and day (1-31) of a day count since 1970-01-01
/// (H. Hinnant's `civil_from_days`, for days on or after the epoch).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let shifted_month = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * shifted_month + 2) / 5 + 1;
    let month = if shifted_month < 10 {
        shifted_month + 3
    } else {
        shifted_month - 9
    };
    let year = year_of_era + era * 400 + u64::from(month <= 2);
    (year, month, day)
}

/// A `Contact` header listing one binding with its remaining seconds.
pub(super) fn contact_header(uri: &str, remaining_seconds: u64) -> Header {
    Header::Contact(Contact::new(format!("<{uri}>;expires={remaining_seconds}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn dates_are_written_in_rfc_1123_form() {
        let at = |seconds| UNIX_EPOCH + Duration::from_secs(seconds);
        assert_eq!(http_date(at(0)), "Thu, 01 Jan 1970 00:00:00 GMT");
        assert_eq!(
            http_date(at(1_700_000_000)),
            "Tue, 14 Nov 2023 22:13:20 GMT"
        );
        assert_eq!(http_date(at(951_782_400)), "Tue, 29 Feb 2000 00:00:00 GMT");
        assert_eq!(
            http_date(at(4_133_980_799)),
            "Fri, 31 Dec 2100 23:59:59 GMT"
        );
    }
}

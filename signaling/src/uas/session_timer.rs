//! Session timers (RFC 4028), the UAS side: an INVITE that asks for one
//! (`Session-Expires`, with `timer` in `Supported`) gets it in the 2xx with
//! the caller as refresher; its re-INVITEs and UPDATEs refresh it; a session
//! not refreshed in time is dead (the far end crashed or lost its network),
//! and call control is told to hang up. An interval below [`MIN_SE`] is
//! refused with 422 and `Min-SE`.
//!
//! rsip has no typed `Session-Expires`/`Min-SE` headers, so they are read as
//! text here (the long and the compact `x` form).

use std::time::{Duration, Instant};

use rsip::headers::UntypedHeader;
use rsip::{Header, Request, Response};

/// The smallest interval we accept, in seconds (RFC 4028's recommended floor).
pub(super) const MIN_SE: u64 = 90;

/// What an INVITE asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Asked {
    /// No session timer (or the caller cannot refresh: no `timer` support).
    Nothing,
    /// A timer of this many seconds, refreshed by the caller.
    Interval(u64),
    /// An interval below [`MIN_SE`]: answer 422.
    TooSmall,
}

/// What `request` asks for.
pub(super) fn asked(request: &Request) -> Asked {
    let interval = request.headers.iter().find_map(|header| match header {
        Header::Other(name, value)
            if name.eq_ignore_ascii_case("session-expires") || name.eq_ignore_ascii_case("x") =>
        {
            value.split(';').next()?.trim().parse::<u64>().ok()
        }
        _ => None,
    });
    let supported = request.headers.iter().any(|header| match header {
        Header::Supported(supported) => has_timer(supported.value()),
        Header::Other(name, value) if name.eq_ignore_ascii_case("k") => has_timer(value),
        _ => false,
    });
    match interval {
        Some(seconds) if seconds < MIN_SE => Asked::TooSmall,
        Some(seconds) if supported => Asked::Interval(seconds),
        _ => Asked::Nothing,
    }
}

fn has_timer(list: &str) -> bool {
    list.split(',')
        .any(|tag| tag.trim().eq_ignore_ascii_case("timer"))
}

/// Adds the timer to a 2xx: `Session-Expires` with the caller refreshing,
/// and `Require: timer`.
pub(super) fn grant(response: &mut Response, seconds: u64) {
    response.headers.push(Header::Other(
        "Session-Expires".to_owned(),
        format!("{seconds};refresher=uac"),
    ));
    response
        .headers
        .push(Header::Require(rsip::headers::Require::new("timer")));
}

/// The 422 for an interval below [`MIN_SE`].
pub(super) fn add_min_se(response: &mut Response) {
    response
        .headers
        .push(Header::Other("Min-SE".to_owned(), MIN_SE.to_string()));
}

/// When a session refreshed at `now` is dead without another refresh
/// (RFC 4028 §10: the interval minus a third of it, at most 32 s).
pub(super) fn deadline(now: Instant, seconds: u64) -> Instant {
    now + Duration::from_secs(seconds - (seconds / 3).min(32))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::corpus;

    fn invite(extra: &str) -> Request {
        let text = String::from_utf8(corpus::INVITE.to_vec()).unwrap().replace(
            "Max-Forwards: 70\r\n",
            &format!("Max-Forwards: 70\r\n{extra}"),
        );
        corpus::request(text.as_bytes())
    }

    #[test]
    fn a_timer_is_granted_only_to_a_caller_that_supports_it() {
        assert_eq!(
            asked(&invite("Session-Expires: 1800\r\n")),
            Asked::Interval(1800)
        );
        let unsupported = invite("Session-Expires: 1800\r\n")
            .headers
            .iter()
            .filter(|h| !matches!(h, Header::Supported(_)))
            .cloned()
            .collect::<Vec<_>>();
        let mut request = invite("");
        request.headers = unsupported.into();
        request
            .headers
            .push(Header::Other("x".into(), "1800".into()));
        assert_eq!(
            asked(&request),
            Asked::Nothing,
            "the corpus INVITE without Supported: timer"
        );
        assert_eq!(asked(&invite("")), Asked::Nothing);
    }

    #[test]
    fn too_small_an_interval_is_refused_and_parameters_are_ignored() {
        assert_eq!(asked(&invite("Session-Expires: 30\r\n")), Asked::TooSmall);
        assert_eq!(
            asked(&invite("x: 600;refresher=uas\r\n")),
            Asked::Interval(600)
        );
    }

    #[test]
    fn the_deadline_leaves_a_third_of_the_interval_at_most_32_s() {
        let now = Instant::now();
        assert_eq!(deadline(now, 90), now + Duration::from_secs(60));
        assert_eq!(deadline(now, 1800), now + Duration::from_secs(1768));
    }
}

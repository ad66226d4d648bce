//! Rewrites a header section into the one shape `rsip` 0.4 reads correctly, for
//! forms RFC 3261 allows that `rsip` rejects or misreads:
//!
//! - line folding (§7.3.1): a header continued on a line starting with SP or HTAB;
//! - whitespace before the colon (`HCOLON = *( SP / HTAB ) ":" SWS`);
//! - compact header names (§7.3.3: `i`, `f`, `t`, `v`, `l`, ...), which `rsip`
//!   keeps as unknown headers, so `Call-ID` or `Via` would look missing;
//! - whitespace around `/`, `;`, `=` and `,` in Via, From, To, Contact, Route,
//!   Record-Route and Reply-To (`SLASH`, `SEMI`, `EQUAL`, `COMMA` are
//!   `SWS x SWS`), and a lower-case Via sent-protocol (`sip/2.0/udp`; ABNF
//!   literals are case-insensitive). `rsip` fails the header on both;
//! - a SIP version in another case than `SIP/2.0` in the start line (`sip/2.0`;
//!   §7.1: the version is case-insensitive), which `rsip` rejects.
//!
//! Quoted strings are left untouched. The input is borrowed when it needs none of
//! this, which is the common case.

use std::borrow::Cow;

use super::ParseError;

/// Headers whose value has `;`/`=` parameters and may carry the whitespace above.
const PARAMETRIZED: [&str; 7] = [
    "Via",
    "From",
    "To",
    "Contact",
    "Route",
    "Record-Route",
    "Reply-To",
];

/// Rewrites `head` (start line and header lines, each ending in CRLF).
pub(super) fn normalize_head(head: &[u8]) -> Result<Cow<'_, [u8]>, ParseError> {
    let mut lines = head.split(|&b| b == b'\n');
    let start_line = lines.next().unwrap_or_default();
    let header_lines: Vec<&[u8]> = lines
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .filter(|line| !line.is_empty())
        .collect();
    let start_line = canonical_start_line(start_line);
    if matches!(start_line, Cow::Borrowed(_)) && header_lines.iter().all(|line| is_canonical(line))
    {
        return Ok(Cow::Borrowed(head));
    }
    let mut out = Vec::with_capacity(head.len() + 64);
    out.extend_from_slice(&start_line);
    out.push(b'\n');
    let mut unfolded: Vec<(usize, Vec<u8>)> = Vec::with_capacity(header_lines.len());
    for (index, line) in header_lines.iter().enumerate() {
        let line_number = index + 2;
        if line.starts_with(b" ") || line.starts_with(b"\t") {
            let (_, current) = unfolded
                .last_mut()
                .ok_or(ParseError::MalformedHeaderLine { line: line_number })?;
            current.push(b' ');
            current.extend_from_slice(line.trim_ascii_start());
        } else {
            unfolded.push((line_number, line.to_vec()));
        }
    }
    for (line_number, line) in unfolded {
        out.extend_from_slice(&canonical_header_line(&line, line_number)?);
        out.extend_from_slice(b"\r\n");
    }
    Ok(Cow::Owned(out))
}

/// The start line (with its CR) with the SIP version upper-cased when it is
/// `SIP/2.0` in another case: first in a status line, last in a request line.
fn canonical_start_line(line: &[u8]) -> Cow<'_, [u8]> {
    const VERSION: &[u8] = b"SIP/2.0";
    let text = line.strip_suffix(b"\r").unwrap_or(line);
    let at = if text.len() >= VERSION.len() && text[..VERSION.len()].eq_ignore_ascii_case(VERSION) {
        0
    } else {
        text.len().saturating_sub(VERSION.len())
    };
    match text.get(at..at + VERSION.len()) {
        Some(version) if version != VERSION && version.eq_ignore_ascii_case(VERSION) => {
            let mut owned = line.to_vec();
            owned[at..at + VERSION.len()].copy_from_slice(VERSION);
            Cow::Owned(owned)
        }
        _ => Cow::Borrowed(line),
    }
}

/// A line `rsip` reads as intended.
fn is_canonical(line: &[u8]) -> bool {
    let Some(colon) = line.iter().position(|&b| b == b':') else {
        return false;
    };
    let name = &line[..colon];
    let value = &line[colon + 1..];
    !name.is_empty()
        && name.iter().all(|&b| is_token_char(b))
        && full_name(name).is_none()
        && !(is_parametrized(name) && needs_value_rewrite(name, value))
}

fn canonical_header_line(line: &[u8], line_number: usize) -> Result<Vec<u8>, ParseError> {
    let malformed = ParseError::MalformedHeaderLine { line: line_number };
    let colon = line
        .iter()
        .position(|&b| b == b':')
        .ok_or(malformed.clone())?;
    let name = line[..colon].trim_ascii_end();
    if name.is_empty() || !name.iter().all(|&b| is_token_char(b)) {
        return Err(malformed);
    }
    let name = full_name(name).map_or(name, str::as_bytes);
    let value = line[colon + 1..].trim_ascii();
    let mut canonical = Vec::with_capacity(line.len() + 16);
    canonical.extend_from_slice(name);
    canonical.extend_from_slice(b": ");
    if is_parametrized(name) {
        canonical.extend_from_slice(&tighten(value, name.eq_ignore_ascii_case(b"Via")));
    } else {
        canonical.extend_from_slice(value);
    }
    Ok(canonical)
}

fn is_parametrized(name: &[u8]) -> bool {
    PARAMETRIZED
        .iter()
        .any(|known| known.as_bytes().eq_ignore_ascii_case(name))
}

/// RFC 3261 §25.1 `token` characters.
pub(super) fn is_token_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

fn is_separator(b: u8) -> bool {
    matches!(b, b';' | b'=' | b'/' | b',')
}

/// Whether `value` has whitespace next to a separator (outside quotes), or a Via
/// sent-protocol in lower case. Allocation-free: this runs on every message.
fn needs_value_rewrite(name: &[u8], value: &[u8]) -> bool {
    let value = value.trim_ascii();
    let lower_case_protocol = name.eq_ignore_ascii_case(b"Via")
        && value
            .iter()
            .take_while(|b| !b.is_ascii_whitespace())
            .any(u8::is_ascii_lowercase);
    lower_case_protocol || has_loose_separator(value)
}

fn has_loose_separator(value: &[u8]) -> bool {
    let mut in_quotes = false;
    let mut escaped = false;
    for (index, &b) in value.iter().enumerate() {
        if in_quotes {
            match (escaped, b) {
                (false, b'\\') => escaped = true,
                (false, b'"') => in_quotes = false,
                _ => escaped = false,
            }
            continue;
        }
        if b == b'"' {
            in_quotes = true;
        } else if b.is_ascii_whitespace() {
            let before = index.checked_sub(1).and_then(|i| value.get(i)).copied();
            let after = value.get(index + 1).copied();
            if before.is_some_and(is_separator) || after.is_some_and(is_separator) {
                return true;
            }
        }
    }
    false
}

/// Removes whitespace around separators outside quoted strings; for a Via, also
/// upper-cases the sent-protocol of each entry.
fn tighten(value: &[u8], via: bool) -> Vec<u8> {
    let mut out: Vec<u8> = Vec::with_capacity(value.len());
    let mut in_quotes = false;
    let mut escaped = false;
    let mut entry_start = true;
    let mut index = 0;
    while index < value.len() {
        let b = value[index];
        if in_quotes {
            out.push(b);
            match (escaped, b) {
                (false, b'\\') => escaped = true,
                (false, b'"') => in_quotes = false,
                _ => escaped = false,
            }
            index += 1;
            continue;
        }
        if b.is_ascii_whitespace() {
            let run_end = value[index..]
                .iter()
                .position(|b| !b.is_ascii_whitespace())
                .map_or(value.len(), |offset| index + offset);
            let before = out.last().copied();
            let after = value.get(run_end).copied();
            let next_to_separator =
                before.is_some_and(is_separator) || after.is_some_and(is_separator);
            let inside_via_protocol = via && entry_start && after.is_some_and(|b| b == b'/');
            if !(next_to_separator || inside_via_protocol) {
                out.push(b' ');
                entry_start = false;
            }
            index = run_end;
            continue;
        }
        match b {
            b'"' => in_quotes = true,
            b',' => entry_start = true,
            _ => {}
        }
        out.push(if via && entry_start {
            b.to_ascii_uppercase()
        } else {
            b
        });
        index += 1;
    }
    out
}

/// The full name of a compact header name (RFC 3261 §7.3.3 and the IANA registry).
fn full_name(name: &[u8]) -> Option<&'static str> {
    let [letter] = name else { return None };
    Some(match letter.to_ascii_lowercase() {
        b'a' => "Accept-Contact",
        b'b' => "Referred-By",
        b'c' => "Content-Type",
        b'd' => "Request-Disposition",
        b'e' => "Content-Encoding",
        b'f' => "From",
        b'i' => "Call-ID",
        b'j' => "Reject-Contact",
        b'k' => "Supported",
        b'l' => "Content-Length",
        b'm' => "Contact",
        b'o' => "Event",
        b'r' => "Refer-To",
        b's' => "Subject",
        b't' => "To",
        b'u' => "Allow-Events",
        b'v' => "Via",
        b'x' => "Session-Expires",
        b'y' => "Identity",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tightened(value: &str, via: bool) -> String {
        String::from_utf8(tighten(value.as_bytes(), via)).unwrap()
    }

    #[test]
    fn whitespace_around_parameter_separators_is_removed() {
        assert_eq!(
            tightened("sip:a@b ;   tag    = 1918181833n", false),
            "sip:a@b;tag=1918181833n"
        );
    }

    #[test]
    fn whitespace_between_display_name_and_uri_is_kept() {
        assert_eq!(
            tightened("John  Doe <sip:a@b>", false),
            "John Doe <sip:a@b>"
        );
    }

    #[test]
    fn quoted_strings_are_left_alone() {
        assert_eq!(
            tightened(r#""Doe ; \" = John"   <sip:a@b> ; tag = 1"#, false),
            r#""Doe ; \" = John" <sip:a@b>;tag=1"#
        );
    }

    #[test]
    fn a_via_sent_protocol_is_joined_and_upper_cased_in_every_entry() {
        assert_eq!(
            tightened(
                "sip  / 2.0  / tcp     spindle.example.com   ;  branch  =   z9hG4bK9ikj8  , SIP  /    2.0   / UDP  192.168.255.111",
                true
            ),
            "SIP/2.0/TCP spindle.example.com;branch=z9hG4bK9ikj8,SIP/2.0/UDP 192.168.255.111"
        );
    }

    #[test]
    fn loose_separators_are_detected_outside_quotes_only() {
        assert!(has_loose_separator(b"<sip:a@b> ;tag=1"));
        assert!(has_loose_separator(b"SIP/2.0/UDP h; branch=1"));
        assert!(!has_loose_separator(b"\"A ; B\" <sip:a@b>;tag=1"));
        assert!(!has_loose_separator(b"John Doe <sip:a@b>"));
    }

    #[test]
    fn canonical_lines_are_borrowed() {
        let head = b"OPTIONS sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\r\nTo: \"A ; B\" <sip:a@b>\r\n";
        assert!(matches!(normalize_head(head), Ok(Cow::Borrowed(_))));
    }

    #[test]
    fn a_lower_case_via_protocol_is_rewritten() {
        let head = b"OPTIONS sip:a@b SIP/2.0\r\nVia: sip/2.0/udp h;branch=z9hG4bK1\r\n";
        let normalized = normalize_head(head).unwrap();
        assert!(normalized.ends_with(b"Via: SIP/2.0/UDP h;branch=z9hG4bK1\r\n"));
    }
}

//! Checks a parsed request against what RFC 3261 §8.2 (UAS) and §16.3 (proxy)
//! require before we act on it.
//!
//! [`validate_request`] returns the first problem found as a [`RequestError`], which
//! knows the status code, the reason phrase and the `Warning` text of the answer.
//! It relies on [`crate::message::parse_message`] having already rejected what
//! cannot be parsed at all, and on `rsip`'s typed headers for the header grammar.

use rsip::headers::{ToTypedHeader, UntypedHeader};
use rsip::{Header, Method, Request, Scheme, Version};

/// The largest CSeq sequence number RFC 3261 §8.1.1.5 allows (2**31 - 1).
const MAX_CSEQ: u32 = (1 << 31) - 1;

/// What is wrong with a request, in the order RFC 3261 §8.2 checks it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The request line's version is not `SIP/2.0` (→ 505).
    #[error("SIP version {0} is not supported")]
    UnsupportedVersion(String),
    /// A mandatory header is absent (→ 400).
    #[error("missing {0} header")]
    MissingHeader(&'static str),
    /// A header that must appear once appears more than once (→ 400).
    #[error("more than one {0} header")]
    DuplicateHeader(&'static str),
    /// A header's value does not follow its grammar (→ 400).
    #[error("malformed {header} header: {detail}")]
    InvalidHeader {
        /// The header's name.
        header: &'static str,
        /// What the parser said.
        detail: String,
    },
    /// The CSeq sequence number is above 2**31 - 1 (→ 400).
    #[error("CSeq number {0} is above 2**31-1")]
    CSeqOutOfRange(u32),
    /// The CSeq method differs from the request line's (→ 400).
    #[error("CSeq method {cseq} does not match request method {request}")]
    CSeqMethodMismatch {
        /// Method of the request line.
        request: Method,
        /// Method in the CSeq header.
        cseq: Method,
    },
    /// `Content-Length` announces more bytes than arrived (→ 400).
    #[error("Content-Length {declared} but {received} body bytes received")]
    ContentLengthExceedsBody {
        /// Value of the header.
        declared: usize,
        /// Bytes of body actually present.
        received: usize,
    },
    /// `Max-Forwards: 0` on a request we would have to forward (→ 483).
    #[error("Max-Forwards reached 0")]
    TooManyHops,
    /// The Request-URI scheme is neither `sip` nor `sips` (→ 416).
    #[error("Request-URI scheme is not supported")]
    UnsupportedUriScheme,
    /// `Require` lists option tags we do not support (→ 420, with `Unsupported`).
    #[error("unsupported extensions required: {}", .0.join(", "))]
    UnsupportedExtensions(Vec<String>),
}

impl RequestError {
    /// The status code of the answer.
    pub fn status_code(&self) -> u16 {
        match self {
            Self::UnsupportedVersion(_) => 505,
            Self::TooManyHops => 483,
            Self::UnsupportedUriScheme => 416,
            Self::UnsupportedExtensions(_) => 420,
            Self::MissingHeader(_)
            | Self::DuplicateHeader(_)
            | Self::InvalidHeader { .. }
            | Self::CSeqOutOfRange(_)
            | Self::CSeqMethodMismatch { .. }
            | Self::ContentLengthExceedsBody { .. } => 400,
        }
    }

    /// Whether a response can be routed back at all: without a usable top Via
    /// it cannot (RFC 3261 §18.2.2), and the request is dropped instead.
    pub fn can_be_answered(&self) -> bool {
        !matches!(
            self,
            Self::MissingHeader("Via") | Self::InvalidHeader { header: "Via", .. }
        )
    }

    /// The reason phrase of the answer: the RFC's phrase, made precise for a 400.
    /// Control characters echoed from the request become spaces (a reason phrase
    /// cannot hold them, RFC 3261 §25.1).
    pub fn reason_phrase(&self) -> String {
        match self {
            Self::UnsupportedVersion(_) => "Version Not Supported".into(),
            Self::TooManyHops => "Too Many Hops".into(),
            Self::UnsupportedUriScheme => "Unsupported URI Scheme".into(),
            Self::UnsupportedExtensions(_) => "Bad Extension".into(),
            other => format!("Bad Request ({})", printable(&other.to_string())),
        }
    }
}

/// Validates `request`. `supported` lists the option tags we implement (for
/// `Require`). Returns the first problem found.
pub fn validate_request(request: &Request, supported: &[&str]) -> Result<(), RequestError> {
    if request.version != Version::V2 {
        return Err(RequestError::UnsupportedVersion(
            request.version.to_string(),
        ));
    }
    check_via(request)?;
    check_call_id(request)?;
    check_from_to(request)?;
    check_cseq(request)?;
    check_content_length(request)?;
    check_max_forwards(request)?;
    check_uri_scheme(request)?;
    check_require(request, supported)
}

fn check_via(request: &Request) -> Result<(), RequestError> {
    let via = request
        .headers
        .iter()
        .find_map(|header| match header {
            Header::Via(via) => Some(via),
            _ => None,
        })
        .ok_or(RequestError::MissingHeader("Via"))?;
    via.typed()
        .map(drop)
        .map_err(|error| invalid("Via", &error))
}

/// Checks that exactly one header matching `is_it` is present, and returns it.
fn check_single<'r>(
    request: &'r Request,
    name: &'static str,
    is_it: impl Fn(&Header) -> bool,
) -> Result<&'r Header, RequestError> {
    let mut found = request.headers.iter().filter(|header| is_it(header));
    let first = found.next().ok_or(RequestError::MissingHeader(name))?;
    match found.next() {
        Some(_) => Err(RequestError::DuplicateHeader(name)),
        None => Ok(first),
    }
}

/// RFC 3261 §25.1: `Call-ID = word [ "@" word ]`.
fn check_call_id(request: &Request) -> Result<(), RequestError> {
    let Header::CallId(call_id) =
        check_single(request, "Call-ID", |h| matches!(h, Header::CallId(_)))?
    else {
        return Ok(());
    };
    let value = call_id.value().trim();
    let is_word = |part: &str| !part.is_empty() && part.bytes().all(is_word_char);
    let valid = match value.split_once('@') {
        Some((local, host)) => is_word(local) && is_word(host),
        None => is_word(value),
    };
    if valid {
        Ok(())
    } else {
        Err(RequestError::InvalidHeader {
            header: "Call-ID",
            detail: format!("{value:?} is not word[@word]"),
        })
    }
}

/// RFC 3261 §25.1 `word` characters.
fn is_word_char(byte: u8) -> bool {
    byte.is_ascii_alphanumeric() || b"-.!%*_+`'~()<>:\\\"/[]?{}".contains(&byte)
}

fn check_from_to(request: &Request) -> Result<(), RequestError> {
    if let Header::From(from) = check_single(request, "From", |h| matches!(h, Header::From(_)))? {
        from.typed().map_err(|error| invalid("From", &error))?;
    }
    if let Header::To(to) = check_single(request, "To", |h| matches!(h, Header::To(_)))? {
        to.typed().map_err(|error| invalid("To", &error))?;
    }
    Ok(())
}

fn check_cseq(request: &Request) -> Result<(), RequestError> {
    let Header::CSeq(cseq) = check_single(request, "CSeq", |h| matches!(h, Header::CSeq(_)))?
    else {
        return Ok(());
    };
    let cseq = cseq.typed().map_err(|error| invalid("CSeq", &error))?;
    if cseq.seq > MAX_CSEQ {
        return Err(RequestError::CSeqOutOfRange(cseq.seq));
    }
    if cseq.method != request.method {
        return Err(RequestError::CSeqMethodMismatch {
            request: request.method,
            cseq: cseq.method,
        });
    }
    Ok(())
}

fn check_content_length(request: &Request) -> Result<(), RequestError> {
    let mut lengths = request.headers.iter().filter_map(|header| match header {
        Header::ContentLength(length) => Some(length),
        _ => None,
    });
    let Some(length) = lengths.next() else {
        return Ok(());
    };
    if lengths.next().is_some() {
        return Err(RequestError::DuplicateHeader("Content-Length"));
    }
    let declared = length
        .value()
        .trim()
        .parse::<usize>()
        .map_err(|error| invalid("Content-Length", &error))?;
    if declared > request.body.len() {
        return Err(RequestError::ContentLengthExceedsBody {
            declared,
            received: request.body.len(),
        });
    }
    Ok(())
}

/// RFC 3261 §16.3 step 3: an OPTIONS may still be answered by the element itself.
fn check_max_forwards(request: &Request) -> Result<(), RequestError> {
    let max_forwards = request.headers.iter().find_map(|header| match header {
        Header::MaxForwards(value) => Some(value),
        _ => None,
    });
    let Some(max_forwards) = max_forwards else {
        return Ok(());
    };
    let hops = max_forwards
        .value()
        .trim()
        .parse::<u8>()
        .map_err(|error| invalid("Max-Forwards", &error))?;
    if hops == 0 && request.method != Method::Options {
        return Err(RequestError::TooManyHops);
    }
    Ok(())
}

fn check_uri_scheme(request: &Request) -> Result<(), RequestError> {
    match request.uri.scheme {
        Some(Scheme::Sip | Scheme::Sips) => Ok(()),
        _ => Err(RequestError::UnsupportedUriScheme),
    }
}

/// RFC 3261 §8.2.2.3: `Require` is not checked on ACK and CANCEL.
fn check_require(request: &Request, supported: &[&str]) -> Result<(), RequestError> {
    if matches!(request.method, Method::Ack | Method::Cancel) {
        return Ok(());
    }
    let unsupported: Vec<String> = request
        .headers
        .iter()
        .filter_map(|header| match header {
            Header::Require(require) => Some(require.value()),
            _ => None,
        })
        .flat_map(|value| value.split(','))
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .filter(|tag| {
            !supported
                .iter()
                .any(|known| known.eq_ignore_ascii_case(tag))
        })
        .map(str::to_owned)
        .collect();
    if unsupported.is_empty() {
        Ok(())
    } else {
        Err(RequestError::UnsupportedExtensions(unsupported))
    }
}

/// `text` with each control character (CR, LF, NUL, ...) replaced by a space, for
/// text echoed from a request into a status line or header.
pub(super) fn printable(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

fn invalid(header: &'static str, error: &impl std::fmt::Display) -> RequestError {
    RequestError::InvalidHeader {
        header,
        detail: error.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::{corpus, parse_message};
    use rsip::SipMessage;

    const SUPPORTED: &[&str] = &["timer", "replaces"];

    fn request(bytes: &[u8]) -> Request {
        match parse_message(bytes) {
            Ok(SipMessage::Request(request)) => request,
            other => panic!("expected a request, got {other:?}"),
        }
    }

    fn with_line_replaced(bytes: &[u8], from: &str, to: &str) -> Request {
        let text = String::from_utf8(bytes.to_vec()).unwrap();
        assert!(text.contains(from), "corpus message lacks {from:?}");
        request(text.replacen(from, to, 1).as_bytes())
    }

    #[test]
    fn real_requests_are_valid() {
        for bytes in [
            corpus::INVITE,
            corpus::REGISTER,
            corpus::OPTIONS,
            corpus::BYE,
            corpus::ACK,
        ] {
            assert_eq!(validate_request(&request(bytes), SUPPORTED), Ok(()));
        }
    }

    #[test]
    fn missing_call_id_from_and_to_are_reported_call_id_first() {
        let error = validate_request(&request(corpus::RFC4475_INSUF), SUPPORTED).unwrap_err();
        assert_eq!(error, RequestError::MissingHeader("Call-ID"));
        assert_eq!(error.status_code(), 400);
        assert_eq!(
            error.reason_phrase(),
            "Bad Request (missing Call-ID header)"
        );
    }

    #[test]
    fn each_mandatory_header_is_required() {
        for (line, name) in [
            (
                "Via: SIP/2.0/UDP 192.0.2.30:5061;branch=z9hG4bKhjhs8ass877\r\n",
                "Via",
            ),
            ("To: <sip:kefu.example.com>\r\n", "To"),
            (
                "From: \"sipvicious\"<sip:100@1.1.1.1>;tag=6338633364\r\n",
                "From",
            ),
            ("CSeq: 1 OPTIONS\r\n", "CSeq"),
        ] {
            let options = with_line_replaced(corpus::OPTIONS, line, "");
            let error = validate_request(&options, SUPPORTED).unwrap_err();
            assert_eq!(error, RequestError::MissingHeader(name));
            assert_eq!(error.can_be_answered(), name != "Via");
        }
    }

    #[test]
    fn a_cseq_method_differing_from_the_request_line_is_rejected() {
        assert_eq!(
            validate_request(&request(corpus::RFC4475_MISMATCH01), SUPPORTED),
            Err(RequestError::CSeqMethodMismatch {
                request: Method::Options,
                cseq: Method::Invite
            })
        );
    }

    #[test]
    fn a_cseq_number_not_fitting_31_bits_is_rejected() {
        let options = with_line_replaced(
            corpus::OPTIONS,
            "CSeq: 1 OPTIONS",
            "CSeq: 2147483648 OPTIONS",
        );
        assert_eq!(
            validate_request(&options, SUPPORTED),
            Err(RequestError::CSeqOutOfRange(2_147_483_648))
        );
        let error = validate_request(&request(corpus::RFC4475_SCALAR02), SUPPORTED).unwrap_err();
        assert!(matches!(
            error,
            RequestError::InvalidHeader { header: "CSeq", .. }
        ));
    }

    #[test]
    fn a_content_length_beyond_the_body_is_rejected() {
        assert!(matches!(
            validate_request(&request(corpus::RFC4475_CLERR), SUPPORTED),
            Err(RequestError::ContentLengthExceedsBody { declared: 9999, .. })
        ));
    }

    #[test]
    fn a_negative_content_length_is_a_malformed_header() {
        assert!(matches!(
            validate_request(&request(corpus::RFC4475_NCL), SUPPORTED),
            Err(RequestError::InvalidHeader {
                header: "Content-Length",
                ..
            })
        ));
    }

    #[test]
    fn two_content_length_headers_are_rejected() {
        assert_eq!(
            validate_request(&request(corpus::RFC4475_MCL01), SUPPORTED),
            Err(RequestError::DuplicateHeader("Content-Length"))
        );
    }

    #[test]
    fn max_forwards_zero_means_too_many_hops_except_for_options() {
        let invite = with_line_replaced(corpus::INVITE, "Max-Forwards: 70", "Max-Forwards: 0");
        let error = validate_request(&invite, SUPPORTED).unwrap_err();
        assert_eq!(error, RequestError::TooManyHops);
        assert_eq!(
            (error.status_code(), error.reason_phrase().as_str()),
            (483, "Too Many Hops")
        );
        let options = with_line_replaced(corpus::OPTIONS, "Max-Forwards: 70", "Max-Forwards: 0");
        assert_eq!(validate_request(&options, SUPPORTED), Ok(()));
    }

    #[test]
    fn an_unsupported_require_is_a_bad_extension() {
        let invite = with_line_replaced(
            corpus::INVITE,
            "Supported: timer, replaces",
            "Require: timer, 100rel, foo",
        );
        let error = validate_request(&invite, SUPPORTED).unwrap_err();
        assert_eq!(
            error,
            RequestError::UnsupportedExtensions(vec!["100rel".into(), "foo".into()])
        );
        assert_eq!(
            (error.status_code(), error.reason_phrase().as_str()),
            (420, "Bad Extension")
        );
    }

    #[test]
    fn require_is_ignored_on_ack() {
        let ack = with_line_replaced(corpus::ACK, "Max-Forwards: 70", "Require: foo");
        assert_eq!(validate_request(&ack, SUPPORTED), Ok(()));
    }

    #[test]
    fn a_request_uri_without_scheme_is_an_unsupported_scheme() {
        let options = with_line_replaced(
            corpus::OPTIONS,
            "OPTIONS sip:kefu.example.com",
            "OPTIONS kefu.example.com",
        );
        let error = validate_request(&options, SUPPORTED).unwrap_err();
        assert_eq!(error, RequestError::UnsupportedUriScheme);
        assert_eq!(error.status_code(), 416);
    }

    #[test]
    fn a_duplicate_call_id_is_rejected() {
        let options = with_line_replaced(
            corpus::OPTIONS,
            "Call-ID: 1171927406\r\n",
            "Call-ID: 1\r\ni: 2\r\n",
        );
        assert_eq!(
            validate_request(&options, SUPPORTED),
            Err(RequestError::DuplicateHeader("Call-ID"))
        );
    }

    #[test]
    fn a_reason_phrase_never_carries_control_characters_from_the_request() {
        let error = RequestError::InvalidHeader {
            header: "To",
            detail: "left trailing input: <sip:a@b>;tag=1\n\r\0".into(),
        };
        assert_eq!(
            error.reason_phrase(),
            "Bad Request (malformed To header: left trailing input: <sip:a@b>;tag=1   )"
        );
    }

    #[test]
    fn a_call_id_outside_the_word_grammar_is_malformed() {
        for bad in ["a\0b", "a b@host", "a@b@c", "@host", "caf\u{e9}"] {
            let options = with_line_replaced(
                corpus::OPTIONS,
                "Call-ID: 1171927406",
                &format!("Call-ID: {bad}"),
            );
            assert!(
                matches!(
                    validate_request(&options, SUPPORTED),
                    Err(RequestError::InvalidHeader {
                        header: "Call-ID",
                        ..
                    })
                ),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_from_header_without_a_uri_is_malformed() {
        let options = with_line_replaced(
            corpus::OPTIONS,
            "From: \"sipvicious\"<sip:100@1.1.1.1>;tag=6338633364",
            "From: ;;;",
        );
        assert!(matches!(
            validate_request(&options, SUPPORTED),
            Err(RequestError::InvalidHeader { header: "From", .. })
        ));
    }

    #[test]
    fn the_rfc_4475_tortuous_invite_is_valid() {
        let invite = request(corpus::RFC4475_WSINV);
        assert_eq!(validate_request(&invite, SUPPORTED), Ok(()));
    }

    #[test]
    fn a_lower_case_via_with_spaces_around_separators_is_valid() {
        let options = with_line_replaced(
            corpus::OPTIONS,
            "Via: SIP/2.0/UDP 192.0.2.30:5061;branch=z9hG4bKhjhs8ass877",
            "Via: sip / 2.0 / udp 192.0.2.30:5061 ; branch = z9hG4bKhjhs8ass877",
        );
        assert_eq!(validate_request(&options, SUPPORTED), Ok(()));
    }

    #[test]
    fn an_ipv6_via_is_reported_malformed_by_rsip() {
        let options = with_line_replaced(
            corpus::OPTIONS,
            "SIP/2.0/UDP 192.0.2.30:5061",
            "SIP/2.0/UDP [2001:db8::1]:5061",
        );
        let error = validate_request(&options, SUPPORTED).unwrap_err();
        assert!(matches!(
            error,
            RequestError::InvalidHeader { header: "Via", .. }
        ));
        assert!(!error.can_be_answered());
    }
}

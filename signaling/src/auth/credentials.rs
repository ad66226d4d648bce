//! Parsing the value of an `Authorization` header carrying Digest credentials
//! (RFC 3261 §25.1 `credentials`, RFC 7616 §3.4), from untrusted bytes.
//!
//! Parameters come in any order, separated by commas with optional whitespace;
//! values are tokens or quoted strings with backslash escapes; names are
//! case-insensitive; unknown parameters are ignored and the first of a repeated
//! parameter wins. Nothing here panics, whatever the input.

use super::digest::Algorithm;

/// Digest credentials from an `Authorization` header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestCredentials {
    /// The user name.
    pub username: String,
    /// The realm the client answers for.
    pub realm: String,
    /// The nonce of the challenge it answers.
    pub nonce: String,
    /// The digest URI (`uri` parameter).
    pub uri: String,
    /// The request digest, hex (lower-cased here).
    pub response: String,
    /// The hash algorithm; MD5 when the parameter is absent.
    pub algorithm: Algorithm,
    /// The `opaque` value echoed from the challenge, if any.
    pub opaque: Option<String>,
    /// `qop=auth` with its nonce count and client nonce; `None` for RFC 2069
    /// clients that send no `qop`.
    pub qop: Option<QopAuth>,
}

/// The `qop=auth` parameters of a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QopAuth {
    /// The nonce count (`nc`), 8 hex digits on the wire.
    pub nonce_count: u32,
    /// The nonce count exactly as sent, which the digest covers.
    pub nonce_count_text: String,
    /// The client nonce (`cnonce`).
    pub cnonce: String,
}

/// Why an `Authorization` value is not usable Digest credentials.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CredentialsError {
    /// The scheme is not `Digest`.
    #[error("authorization scheme is not Digest")]
    NotDigest,
    /// The parameter list does not follow the grammar.
    #[error("malformed digest parameters at byte {0}")]
    Syntax(usize),
    /// A mandatory parameter is absent.
    #[error("digest parameter {0} is missing")]
    Missing(&'static str),
    /// `algorithm` names one we do not offer (e.g. `MD5-sess`).
    #[error("digest algorithm {0:?} is not supported")]
    UnsupportedAlgorithm(String),
    /// `qop` is not `auth` (e.g. `auth-int`).
    #[error("digest qop {0:?} is not supported")]
    UnsupportedQop(String),
    /// `nc` is not 1 to 8 hex digits.
    #[error("digest nonce count {0:?} is not hex")]
    BadNonceCount(String),
}

/// Parses an `Authorization` header value (`Digest username="…", …`).
pub fn parse_authorization(value: &str) -> Result<DigestCredentials, CredentialsError> {
    let value = value.trim_start();
    let scheme_end = value
        .find(|c: char| c.is_ascii_whitespace())
        .unwrap_or(value.len());
    let (scheme, rest) = value.split_at(scheme_end);
    if !scheme.eq_ignore_ascii_case("Digest") {
        return Err(CredentialsError::NotDigest);
    }
    let params = parse_params(rest).map_err(|at| CredentialsError::Syntax(scheme_end + at))?;
    let find = |name: &str| {
        params
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.clone())
    };
    let required = |name: &'static str| find(name).ok_or(CredentialsError::Missing(name));
    let algorithm = match find("algorithm") {
        None => Algorithm::Md5,
        Some(name) => {
            Algorithm::from_name(&name).ok_or(CredentialsError::UnsupportedAlgorithm(name))?
        }
    };
    let qop = match find("qop") {
        None => None,
        Some(qop) if qop.eq_ignore_ascii_case("auth") => {
            let nonce_count_text = required("nc")?;
            Some(QopAuth {
                nonce_count: parse_nonce_count(&nonce_count_text)?,
                nonce_count_text,
                cnonce: required("cnonce")?,
            })
        }
        Some(other) => return Err(CredentialsError::UnsupportedQop(other)),
    };
    Ok(DigestCredentials {
        username: required("username")?,
        realm: required("realm")?,
        nonce: required("nonce")?,
        uri: required("uri")?,
        response: required("response")?.to_ascii_lowercase(),
        algorithm,
        opaque: find("opaque"),
        qop,
    })
}

fn parse_nonce_count(text: &str) -> Result<u32, CredentialsError> {
    let valid = (1..=8).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_hexdigit());
    valid
        .then(|| u32::from_str_radix(text, 16).ok())
        .flatten()
        .ok_or_else(|| CredentialsError::BadNonceCount(text.to_owned()))
}

/// Splits `name=value` pairs separated by commas. On a syntax error, the byte
/// offset where it was found.
pub(super) fn parse_params(input: &str) -> Result<Vec<(String, String)>, usize> {
    let bytes = input.as_bytes();
    let mut at = 0;
    let mut params = Vec::new();
    loop {
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b',') {
            at += 1;
        }
        if at == bytes.len() {
            return Ok(params);
        }
        let name_start = at;
        while at < bytes.len() && is_token_byte(bytes[at]) {
            at += 1;
        }
        if at == name_start {
            return Err(at);
        }
        let name = &input[name_start..at];
        at = skip_whitespace(bytes, at);
        if bytes.get(at) != Some(&b'=') {
            return Err(at);
        }
        at = skip_whitespace(bytes, at + 1);
        let (value, end) = if bytes.get(at) == Some(&b'"') {
            quoted_string(bytes, at + 1)?
        } else {
            unquoted_value(input, at)?
        };
        params.push((name.to_owned(), value));
        at = skip_whitespace(bytes, end);
        match bytes.get(at) {
            None | Some(b',') => {}
            Some(_) => return Err(at),
        }
    }
}

/// A quoted string's content, starting after the opening quote; returns it
/// unescaped and the offset after the closing quote.
fn quoted_string(bytes: &[u8], mut at: usize) -> Result<(String, usize), usize> {
    let start = at;
    let mut value = Vec::new();
    loop {
        match bytes.get(at) {
            None => return Err(start),
            Some(b'"') => break,
            Some(b'\\') => {
                let escaped = bytes.get(at + 1).ok_or(at)?;
                value.push(*escaped);
                at += 2;
            }
            Some(byte) => {
                value.push(*byte);
                at += 1;
            }
        }
    }
    let value = String::from_utf8(value).map_err(|_| start)?;
    Ok((value, at + 1))
}

/// An unquoted value: everything up to whitespace or a comma. Lenient on the
/// characters it allows, since clients send `nc`, `algorithm` and `qop` bare.
fn unquoted_value(input: &str, start: usize) -> Result<(String, usize), usize> {
    let end = input[start..]
        .find(|c: char| c.is_ascii_whitespace() || c == ',' || c == '"')
        .map_or(input.len(), |offset| start + offset);
    if end == start {
        return Err(start);
    }
    Ok((input[start..end].to_owned(), end))
}

fn skip_whitespace(bytes: &[u8], mut at: usize) -> usize {
    while at < bytes.len() && bytes[at].is_ascii_whitespace() {
        at += 1;
    }
    at
}

/// RFC 3261 §25.1 `token` characters.
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"-.!%*_+`'~".contains(&b)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const BARESIP: &str = "Digest username=\"1001\", realm=\"kefu\", nonce=\"abc\", uri=\"sip:kefu.example.com\", response=\"DFE56131D1958046689D83306477ECC0\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"0a4f113b\"";

    #[test]
    fn parses_the_credentials_a_softphone_sends() {
        let credentials = parse_authorization(BARESIP).unwrap();
        assert_eq!(credentials.username, "1001");
        assert_eq!(credentials.realm, "kefu");
        assert_eq!(credentials.nonce, "abc");
        assert_eq!(credentials.uri, "sip:kefu.example.com");
        assert_eq!(credentials.response, "dfe56131d1958046689d83306477ecc0");
        assert_eq!(credentials.algorithm, Algorithm::Md5);
        assert_eq!(credentials.opaque, None);
        assert_eq!(
            credentials.qop,
            Some(QopAuth {
                nonce_count: 1,
                nonce_count_text: "00000001".into(),
                cnonce: "0a4f113b".into(),
            })
        );
    }

    #[test]
    fn parameters_may_come_in_any_order_with_any_case_and_spacing() {
        let credentials = parse_authorization(
            "digest   CNONCE = \"c\" ,NC=0000000a,QOP=\"auth\",Response=\"ff\",URI=\"sip:x\",\
             Nonce=\"n\",Realm=\"r\",UserName=\"u\",Algorithm=sha-256",
        )
        .unwrap();
        assert_eq!(credentials.username, "u");
        assert_eq!(credentials.algorithm, Algorithm::Sha256);
        assert_eq!(credentials.qop.map(|qop| qop.nonce_count), Some(10));
    }

    #[test]
    fn escaped_quotes_and_commas_inside_quoted_strings_are_kept() {
        let credentials = parse_authorization(
            r#"Digest username="a \"quoted\", user\\", realm="r", nonce="n", uri="sip:x", response="00""#,
        )
        .unwrap();
        assert_eq!(credentials.username, r#"a "quoted", user\"#);
        assert_eq!(credentials.qop, None);
    }

    #[test]
    fn unknown_parameters_are_ignored() {
        let credentials = parse_authorization(
            "Digest username=\"u\", userhash=false, realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\", x-extra=\"y\"",
        )
        .unwrap();
        assert_eq!(credentials.username, "u");
    }

    #[test]
    fn missing_mandatory_parameters_are_named() {
        assert_eq!(
            parse_authorization(
                "Digest username=\"u\", realm=\"r\", uri=\"sip:x\", response=\"00\""
            ),
            Err(CredentialsError::Missing("nonce"))
        );
        assert_eq!(
            parse_authorization(
                "Digest username=\"u\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\", qop=auth, nc=00000001"
            ),
            Err(CredentialsError::Missing("cnonce"))
        );
    }

    #[test]
    fn other_schemes_algorithms_and_qops_are_refused() {
        assert_eq!(
            parse_authorization("Basic dXNlcjpwYXNz"),
            Err(CredentialsError::NotDigest)
        );
        assert_eq!(
            parse_authorization("Digest username=\"u\", algorithm=MD5-sess"),
            Err(CredentialsError::UnsupportedAlgorithm("MD5-sess".into()))
        );
        assert_eq!(
            parse_authorization("Digest username=\"u\", qop=auth-int"),
            Err(CredentialsError::UnsupportedQop("auth-int".into()))
        );
        assert_eq!(
            parse_authorization("Digest qop=auth, nc=xyz, cnonce=\"c\""),
            Err(CredentialsError::BadNonceCount("xyz".into()))
        );
    }

    #[test]
    fn broken_syntax_is_an_error_not_a_panic() {
        for broken in [
            "Digest username=\"unterminated",
            "Digest username",
            "Digest =\"x\"",
            "Digest username=\"a\" realm=\"b\"",
            "Digest username=\"trailing backslash\\",
            "Digest username=",
        ] {
            assert!(
                matches!(
                    parse_authorization(broken),
                    Err(CredentialsError::Syntax(_))
                ),
                "{broken}"
            );
        }
    }

    proptest! {
        #[test]
        fn any_input_parses_or_fails_without_panicking(input in ".{0,300}") {
            let _ = parse_authorization(&input);
        }

        #[test]
        fn mutated_real_credentials_parse_or_fail_without_panicking(
            cut in 0..BARESIP.len(),
            insert in "[\"\\\\,= a-z]{0,4}",
        ) {
            let mut mutated = BARESIP.as_bytes()[..cut].to_vec();
            mutated.extend_from_slice(insert.as_bytes());
            mutated.extend_from_slice(&BARESIP.as_bytes()[cut..]);
            let _ = parse_authorization(&String::from_utf8_lossy(&mutated));
        }

        #[test]
        fn any_quoted_username_round_trips_through_escaping(username in "[^\\x00]{0,40}") {
            let escaped = username.replace('\\', "\\\\").replace('"', "\\\"");
            let header = format!(
                "Digest username=\"{escaped}\", realm=\"r\", nonce=\"n\", uri=\"sip:x\", response=\"00\""
            );
            prop_assert_eq!(parse_authorization(&header).map(|c| c.username), Ok(username));
        }
    }
}

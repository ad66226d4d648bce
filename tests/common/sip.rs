//! Reading SIP responses in tests.

/// The status code of a SIP response's first line.
pub fn status(response: &str) -> u16 {
    response
        .strip_prefix("SIP/2.0 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not a SIP response: {response:?}"))
}

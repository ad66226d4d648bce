//! Speaking SIP in tests: reading a response's status, building the REGISTER a
//! softphone sends, and answering kefu's MD5 digest challenge.

use md5::{Digest, Md5};

/// The Request-URI of every REGISTER built here, which digest answers sign.
const REGISTER_URI: &str = "sip:127.0.0.1";

/// The status code of a SIP response's first line.
pub fn status(response: &str) -> u16 {
    response
        .strip_prefix("SIP/2.0 ")
        .and_then(|rest| rest.get(..3))
        .and_then(|code| code.parse().ok())
        .unwrap_or_else(|| panic!("not a SIP response: {response:?}"))
}

/// A REGISTER for `user` with a fresh branch; `via` is the Via's sent-protocol
/// and sent-by (`SIP/2.0/UDP 127.0.0.1:5062`), `extra` more header lines.
pub fn register(via: &str, user: &str, call_id: &str, cseq: u32, extra: &str) -> String {
    format!(
        "REGISTER {REGISTER_URI} SIP/2.0\r\n\
         Via: {via};branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:{user}@kefu>;tag=reg\r\n\
         To: <sip:{user}@kefu>\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} REGISTER\r\n\
         {extra}\
         Content-Length: 0\r\n\r\n",
        branch = uuid::Uuid::now_v7().simple(),
    )
}

/// An OPTIONS with a fresh branch and Call-ID; `via` as for [`register`].
pub fn options(via: &str) -> String {
    let id = uuid::Uuid::now_v7().simple();
    format!(
        "OPTIONS sip:kefu@127.0.0.1 SIP/2.0\r\n\
         Via: {via};branch=z9hG4bK{id};rport\r\n\
         Max-Forwards: 70\r\n\
         To: <sip:kefu@127.0.0.1>\r\n\
         From: <sip:probe@127.0.0.1>;tag=probe\r\n\
         Call-ID: options-{id}\r\n\
         CSeq: 1 OPTIONS\r\n\
         Content-Length: 0\r\n\r\n"
    )
}

fn md5_hex(text: &str) -> String {
    hex::encode(Md5::digest(text.as_bytes()))
}

/// The value of `name="value"` (or `name=value`) in a header line.
fn param(line: &str, name: &str) -> Option<String> {
    let start = line.find(&format!("{name}="))? + name.len() + 1;
    let rest = &line[start..];
    Some(match rest.strip_prefix('"') {
        Some(quoted) => quoted[..quoted.find('"')?].to_owned(),
        None => rest.split([',', ' ', '\r']).next()?.to_owned(),
    })
}

/// The Authorization header line answering the MD5 challenge in `challenge`
/// to a REGISTER built by [`register`].
pub fn digest_answer(challenge: &str, user: &str, password: &str) -> String {
    let line = challenge
        .lines()
        .find(|l| l.starts_with("WWW-Authenticate:") && l.contains("algorithm=MD5"))
        .expect("an MD5 challenge");
    let realm = param(line, "realm").expect("realm");
    let nonce = param(line, "nonce").expect("nonce");
    let opaque = param(line, "opaque")
        .map(|o| format!(", opaque=\"{o}\""))
        .unwrap_or_default();
    let ha1 = md5_hex(&format!("{user}:{realm}:{password}"));
    let ha2 = md5_hex(&format!("REGISTER:{REGISTER_URI}"));
    let response = md5_hex(&format!("{ha1}:{nonce}:00000001:c0ffee:auth:{ha2}"));
    format!(
        "Authorization: Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", \
         uri=\"{REGISTER_URI}\", response=\"{response}\", algorithm=MD5, cnonce=\"c0ffee\", qop=auth, \
         nc=00000001{opaque}\r\n"
    )
}

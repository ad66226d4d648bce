//! HTTP Digest authentication as SIP uses it (RFC 3261 §22, RFC 2617, RFC 7616,
//! RFC 8760): challenges, and verification of a client's response against the
//! user's stored HA1.
//!
//! [`DigestAuth`] owns the server secret, the nonce lifetime and the replay
//! memory. [`DigestAuth::challenge`] builds the `WWW-Authenticate` headers — one
//! per offered algorithm, most preferred first as RFC 8760 §2.4 asks (by default
//! SHA-256, then MD5; an operator whose phones choke on a SHA-256 challenge can
//! offer MD5 alone), all with `qop="auth"`
//! and the same stateless nonce, `base64(timestamp || salt || HMAC-SHA256(secret,
//! timestamp || salt || realm))` under the [`ServerSecret`], so nonces need no
//! state, survive restarts and are valid on every node sharing the secret; the
//! random salt makes each challenge's nonce unique. [`DigestAuth::verify`] checks
//! parsed credentials ([`super::parse_authorization`]) and returns a [`Verdict`].
//! kefu never holds passwords: it stores HA1 = H(username:realm:password) in both
//! algorithms ([`Ha1Pair`]). An unknown user is checked against a stand-in HA1 so
//! that the answer, and the work done, are the same as for a wrong password.
//! Replay: with `qop=auth` the highest nonce count seen per nonce is kept (in a
//! bounded map) and a count not above it is refused. RFC 2069 clients without
//! `qop` send no count, so for them a nonce is good once: digest does not cover
//! `Contact`, and a reusable nonce would let a captured REGISTER be replayed with
//! another contact. Such a client is challenged again and retries.

use std::time::{Duration, SystemTime};

use md5::Md5;
use rand::RngCore;
use rsip::Header;
use rsip::headers::{UntypedHeader, WwwAuthenticate};
use sha2::{Digest, Sha256};

use super::bounded::BoundedMap;
use super::credentials::{DigestCredentials, QopAuth};
use super::nonce::{self, NonceAge, ServerSecret};

/// A digest hash algorithm kefu offers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Algorithm {
    /// `MD5` (RFC 2617), what most deployed phones use.
    Md5,
    /// `SHA-256` (RFC 7616, RFC 8760).
    Sha256,
}

impl Algorithm {
    /// The name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha256 => "SHA-256",
        }
    }

    /// The algorithm named `name` (case-insensitive), if we offer it.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Md5, Self::Sha256]
            .into_iter()
            .find(|algorithm| algorithm.name().eq_ignore_ascii_case(name))
    }

    /// `H(data)` in lower-case hex.
    pub fn hex_digest(self, data: &str) -> String {
        match self {
            Self::Md5 => hex(&Md5::digest(data.as_bytes())),
            Self::Sha256 => hex(&Sha256::digest(data.as_bytes())),
        }
    }
}

/// A user's stored digest secrets: HA1 = H(username:realm:password) in lower-case
/// hex, in each algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ha1Pair {
    /// MD5 HA1.
    pub md5: String,
    /// SHA-256 HA1.
    pub sha256: String,
}

impl Ha1Pair {
    /// Both HA1s of a password (for provisioning and tests; kefu stores only these).
    pub fn from_password(username: &str, realm: &str, password: &str) -> Self {
        let a1 = format!("{username}:{realm}:{password}");
        Self {
            md5: Algorithm::Md5.hex_digest(&a1),
            sha256: Algorithm::Sha256.hex_digest(&a1),
        }
    }

    /// The HA1 for `algorithm`.
    pub fn for_algorithm(&self, algorithm: Algorithm) -> &str {
        match algorithm {
            Algorithm::Md5 => &self.md5,
            Algorithm::Sha256 => &self.sha256,
        }
    }
}

/// The request digest (RFC 7616 §3.4.1): `H(HA1:nonce:nc:cnonce:qop:HA2)` with
/// `qop=auth`, `H(HA1:nonce:HA2)` without (RFC 2069), HA2 = `H(method:uri)`.
pub fn request_digest(
    algorithm: Algorithm,
    ha1: &str,
    nonce: &str,
    method: &str,
    uri: &str,
    qop: Option<&QopAuth>,
) -> String {
    let ha2 = algorithm.hex_digest(&format!("{method}:{uri}"));
    match qop {
        Some(qop) => algorithm.hex_digest(&format!(
            "{ha1}:{nonce}:{}:{}:auth:{ha2}",
            qop.nonce_count_text, qop.cnonce
        )),
        None => algorithm.hex_digest(&format!("{ha1}:{nonce}:{ha2}")),
    }
}

/// Settings of digest authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DigestConfig {
    /// How long a nonce is accepted; after that the client is challenged again
    /// with `stale=true`. Default 5 minutes.
    pub nonce_lifetime: Duration,
    /// How many nonces' counts the replay check remembers; the oldest are
    /// forgotten first. Default 65 536.
    pub tracked_nonces: usize,
    /// The algorithms challenged with, most preferred first; credentials in
    /// another algorithm are challenged again. Default SHA-256, then MD5.
    pub algorithms: Vec<Algorithm>,
}

impl Default for DigestConfig {
    fn default() -> Self {
        Self {
            nonce_lifetime: Duration::from_secs(300),
            tracked_nonces: 65_536,
            algorithms: vec![Algorithm::Sha256, Algorithm::Md5],
        }
    }
}

/// The outcome of checking credentials.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The response is right, for a known user, with a fresh nonce.
    Authenticated,
    /// The response is right but the nonce expired: challenge again with
    /// `stale=true`, the client retries without asking its user.
    StaleNonce,
    /// Not authenticated.
    Rejected(Rejection),
}

/// Why credentials were not accepted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Rejection {
    /// The credentials are for another realm.
    #[error("credentials are for another realm")]
    RealmMismatch,
    /// The nonce (or opaque value) was not issued by this server for this realm.
    #[error("nonce not issued by this server")]
    ForgedNonce,
    /// The response does not match: a wrong password, or an unknown user (the
    /// two are deliberately not told apart).
    #[error("wrong digest response")]
    WrongResponse,
    /// A nonce count not above one already accepted for this nonce, or a
    /// second use of a nonce without `qop`.
    #[error("nonce count replayed")]
    ReplayedNonceCount,
}

/// Digest challenges and verification for one server (every realm it serves).
#[derive(Debug)]
pub struct DigestAuth {
    secret: ServerSecret,
    config: DigestConfig,
    /// Highest nonce count accepted per nonce.
    nonce_counts: BoundedMap<String, u32>,
}

impl DigestAuth {
    /// Digest authentication keyed by `secret`.
    pub fn new(secret: ServerSecret, config: DigestConfig) -> Self {
        let nonce_counts = BoundedMap::new(config.tracked_nonces);
        Self {
            secret,
            config,
            nonce_counts,
        }
    }

    /// The `WWW-Authenticate` headers of a 401 for `realm`: one per offered
    /// algorithm, in the configured order, with one fresh nonce; `stale=true`
    /// when the client's nonce expired.
    pub fn challenge(
        &self,
        realm: &str,
        now: SystemTime,
        stale: bool,
        rng: &mut impl RngCore,
    ) -> Vec<Header> {
        self.challenge_for_client(realm, now, stale, false, rng)
    }

    /// [`Self::challenge`] for a client on a WebSocket (`websocket`): MD5
    /// alone when it is offered. Browsers' SIP libraries know only MD5 and
    /// read a single challenge — JsSIP the last, SIP.js the first — instead
    /// of choosing among them (RFC 8760 §2.4), so they must get just that one.
    pub fn challenge_for_client(
        &self,
        realm: &str,
        now: SystemTime,
        stale: bool,
        websocket: bool,
        rng: &mut impl RngCore,
    ) -> Vec<Header> {
        let mut salt = [0u8; 8];
        rng.fill_bytes(&mut salt);
        let nonce = nonce::issue(&self.secret, realm, now, salt);
        let opaque = self.opaque(realm);
        let stale = if stale { ", stale=true" } else { "" };
        let mut algorithms = self.config.algorithms.clone();
        if websocket && algorithms.contains(&Algorithm::Md5) {
            algorithms.retain(|algorithm| *algorithm == Algorithm::Md5);
        }
        algorithms
            .iter()
            .map(|algorithm| {
                Header::WwwAuthenticate(WwwAuthenticate::new(format!(
                    "Digest realm=\"{}\", nonce=\"{nonce}\", opaque=\"{opaque}\", \
                     algorithm={}, qop=\"auth\"{stale}",
                    quote_escaped(realm),
                    algorithm.name()
                )))
            })
            .collect()
    }

    /// Whether credentials in `algorithm` are accepted (it is challenged with).
    pub fn offers(&self, algorithm: Algorithm) -> bool {
        self.config.algorithms.contains(&algorithm)
    }

    /// Checks `credentials` sent with a request of `method` against the user's
    /// stored HA1s (`None` for an unknown user) in `realm`, at `now`.
    pub fn verify(
        &mut self,
        method: &str,
        credentials: &DigestCredentials,
        realm: &str,
        stored: Option<&Ha1Pair>,
        now: SystemTime,
    ) -> Verdict {
        if credentials.realm != realm {
            return Verdict::Rejected(Rejection::RealmMismatch);
        }
        if credentials
            .opaque
            .as_deref()
            .is_some_and(|opaque| opaque != self.opaque(realm))
        {
            return Verdict::Rejected(Rejection::ForgedNonce);
        }
        let age = nonce::check(
            &self.secret,
            realm,
            &credentials.nonce,
            now,
            self.config.nonce_lifetime,
        );
        if age == NonceAge::Forged {
            return Verdict::Rejected(Rejection::ForgedNonce);
        }
        let stand_in;
        let ha1 = match stored {
            Some(pair) => pair.for_algorithm(credentials.algorithm),
            None => {
                stand_in = self.stand_in_ha1(credentials.algorithm, realm, &credentials.username);
                &stand_in
            }
        };
        let expected = request_digest(
            credentials.algorithm,
            ha1,
            &credentials.nonce,
            method,
            &credentials.uri,
            credentials.qop.as_ref(),
        );
        let matches = constant_time_eq(expected.as_bytes(), credentials.response.as_bytes());
        if !matches || stored.is_none() {
            return Verdict::Rejected(Rejection::WrongResponse);
        }
        if age == NonceAge::Expired {
            return Verdict::StaleNonce;
        }
        // Without qop the nonce is used up at once: no later count is above MAX.
        let count = credentials
            .qop
            .as_ref()
            .map_or(u32::MAX, |qop| qop.nonce_count);
        let highest = self
            .nonce_counts
            .get_or_insert_with(credentials.nonce.clone(), || 0);
        if count <= *highest {
            return Verdict::Rejected(Rejection::ReplayedNonceCount);
        }
        *highest = count;
        Verdict::Authenticated
    }

    /// The `opaque` value of our challenges for `realm`: fixed per secret and
    /// realm, so it needs no state either.
    fn opaque(&self, realm: &str) -> String {
        hex(&self.secret.mac(&[b"opaque\0", realm.as_bytes()])[..8])
    }

    /// The HA1 an unknown user is checked against: unguessable and stable, so a
    /// bad response for an unknown user costs and answers like a wrong password.
    fn stand_in_ha1(&self, algorithm: Algorithm, realm: &str, username: &str) -> String {
        let mac = self.secret.mac(&[
            b"unknown-user\0",
            realm.as_bytes(),
            b"\0",
            username.as_bytes(),
        ]);
        algorithm.hex_digest(&hex(&mac))
    }
}

/// `value` with `"` and `\` escaped for a quoted string.
fn quote_escaped(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"")
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Compares without an early exit, so the time taken does not tell an attacker
/// how many leading characters of a guess were right.
fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |diff, (x, y)| diff | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::credentials::parse_params;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use std::time::UNIX_EPOCH;

    const REALM: &str = "kefu";
    const URI: &str = "sip:kefu.example.com";

    fn qop(nonce_count: u32, cnonce: &str) -> QopAuth {
        QopAuth {
            nonce_count,
            nonce_count_text: format!("{nonce_count:08x}"),
            cnonce: cnonce.into(),
        }
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
    }

    fn auth() -> DigestAuth {
        DigestAuth::new(ServerSecret::new([42; 32]), DigestConfig::default())
    }

    /// The challenge's parameters, per `WWW-Authenticate` header.
    fn challenge_params(
        auth: &DigestAuth,
        now: SystemTime,
        stale: bool,
    ) -> Vec<Vec<(String, String)>> {
        let mut rng = StdRng::seed_from_u64(1);
        auth.challenge(REALM, now, stale, &mut rng)
            .into_iter()
            .map(|header| match header {
                Header::WwwAuthenticate(value) => {
                    let value = value.value().to_owned();
                    let params = value.strip_prefix("Digest ").unwrap();
                    parse_params(params).unwrap()
                }
                other => panic!("not WWW-Authenticate: {other}"),
            })
            .collect()
    }

    fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
        params
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.as_str())
    }

    /// What a phone with `password` sends in answer to `nonce`.
    fn answer(
        nonce: &str,
        algorithm: Algorithm,
        password: &str,
        qop: Option<QopAuth>,
    ) -> DigestCredentials {
        let ha1 = Ha1Pair::from_password("1001", REALM, password);
        DigestCredentials {
            username: "1001".into(),
            realm: REALM.into(),
            nonce: nonce.into(),
            uri: URI.into(),
            response: request_digest(
                algorithm,
                ha1.for_algorithm(algorithm),
                nonce,
                "REGISTER",
                URI,
                qop.as_ref(),
            ),
            algorithm,
            opaque: None,
            qop,
        }
    }

    fn fresh_nonce(auth: &DigestAuth, now: SystemTime) -> String {
        param(&challenge_params(auth, now, false)[0], "nonce")
            .unwrap()
            .to_owned()
    }

    fn stored() -> Ha1Pair {
        Ha1Pair::from_password("1001", REALM, "demo1001")
    }

    #[test]
    fn rfc_2617_mufasa_example_gives_the_published_response() {
        let ha1 = Ha1Pair::from_password("Mufasa", "testrealm@host.com", "Circle Of Life");
        assert_eq!(ha1.md5, "939e7578ed9e3c518a452acee763bce9");
        let response = request_digest(
            Algorithm::Md5,
            &ha1.md5,
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
            "GET",
            "/dir/index.html",
            Some(&qop(1, "0a4f113b")),
        );
        assert_eq!(response, "6629fae49393a05397450978507c4ef1");
    }

    #[test]
    fn without_qop_the_response_is_the_rfc_2069_digest_of_ha1_nonce_and_ha2() {
        let ha1 = "939e7578ed9e3c518a452acee763bce9";
        let nonce = "dcd98b7102dd2f0e8b11d0f600bfb0c093";
        assert_eq!(
            Algorithm::Md5.hex_digest("GET:/dir/index.html"),
            "39aff3a2bab6126f332b942af96d3366"
        );
        let response = request_digest(Algorithm::Md5, ha1, nonce, "GET", "/dir/index.html", None);
        assert_eq!(
            response,
            Algorithm::Md5.hex_digest(&format!("{ha1}:{nonce}:39aff3a2bab6126f332b942af96d3366"))
        );
    }

    #[test]
    fn rfc_7616_sha256_and_md5_examples_give_the_published_responses() {
        let ha1 = Ha1Pair::from_password("Mufasa", "http-auth@example.org", "Circle of Life");
        let nonce = "7ypf/xlj9XXwfDPEoM4URrv/xwf94BcCAzFZH4GiTo0v";
        let qop = qop(1, "f2/wE4q74E6zIJEtWaHKaf5wv/H5QzzpXusqGemxURZJ");
        let sha256 = request_digest(
            Algorithm::Sha256,
            &ha1.sha256,
            nonce,
            "GET",
            "/dir/index.html",
            Some(&qop),
        );
        assert_eq!(
            sha256,
            "753927fa0e85d155564e2e272a28d1802ca10daf4496794697cf8db5856cb6c1"
        );
        let md5 = request_digest(
            Algorithm::Md5,
            &ha1.md5,
            nonce,
            "GET",
            "/dir/index.html",
            Some(&qop),
        );
        assert_eq!(md5, "8ca523f5e9506fed4657c9700eebdbec");
    }

    #[test]
    fn challenge_offers_sha256_then_md5_with_qop_auth_and_one_nonce() {
        let params = challenge_params(&auth(), at(0), false);
        assert_eq!(params.len(), 2);
        assert_eq!(param(&params[0], "algorithm"), Some("SHA-256"));
        assert_eq!(param(&params[1], "algorithm"), Some("MD5"));
        for offer in &params {
            assert_eq!(param(offer, "realm"), Some(REALM));
            assert_eq!(param(offer, "qop"), Some("auth"));
            assert_eq!(param(offer, "stale"), None);
            assert!(param(offer, "opaque").is_some());
        }
        assert_eq!(param(&params[0], "nonce"), param(&params[1], "nonce"));
    }

    #[test]
    fn only_the_configured_algorithms_are_offered_in_their_order() {
        let md5_only = DigestAuth::new(
            ServerSecret::new([42; 32]),
            DigestConfig {
                algorithms: vec![Algorithm::Md5],
                ..DigestConfig::default()
            },
        );
        let params = challenge_params(&md5_only, at(0), false);
        assert_eq!(params.len(), 1);
        assert_eq!(param(&params[0], "algorithm"), Some("MD5"));
        assert!(md5_only.offers(Algorithm::Md5));
        assert!(!md5_only.offers(Algorithm::Sha256));
        assert!(auth().offers(Algorithm::Sha256));
    }

    #[test]
    fn right_answers_in_either_algorithm_authenticate() {
        let mut auth = auth();
        for (second, algorithm) in [(0, Algorithm::Sha256), (1, Algorithm::Md5)] {
            let nonce = fresh_nonce(&auth, at(second));
            let credentials = answer(&nonce, algorithm, "demo1001", Some(qop(1, "c")));
            assert_eq!(
                auth.verify("REGISTER", &credentials, REALM, Some(&stored()), at(10)),
                Verdict::Authenticated
            );
        }
    }

    #[test]
    fn an_rfc_2069_answer_without_qop_authenticates() {
        let mut auth = auth();
        let nonce = fresh_nonce(&auth, at(0));
        let credentials = answer(&nonce, Algorithm::Md5, "demo1001", None);
        assert_eq!(
            auth.verify("REGISTER", &credentials, REALM, Some(&stored()), at(1)),
            Verdict::Authenticated
        );
    }

    #[test]
    fn without_qop_a_nonce_is_good_once() {
        let mut auth = auth();
        let nonce = fresh_nonce(&auth, at(0));
        let credentials = answer(&nonce, Algorithm::Md5, "demo1001", None);
        assert_eq!(
            auth.verify("REGISTER", &credentials, REALM, Some(&stored()), at(1)),
            Verdict::Authenticated
        );
        assert_eq!(
            auth.verify("REGISTER", &credentials, REALM, Some(&stored()), at(2)),
            Verdict::Rejected(Rejection::ReplayedNonceCount)
        );
    }

    #[test]
    fn expired_nonce_with_a_right_answer_is_stale() {
        let mut auth = auth();
        let nonce = fresh_nonce(&auth, at(0));
        let credentials = answer(&nonce, Algorithm::Md5, "demo1001", Some(qop(1, "c")));
        assert_eq!(
            auth.verify("REGISTER", &credentials, REALM, Some(&stored()), at(301)),
            Verdict::StaleNonce
        );
    }

    #[test]
    fn stale_challenge_says_stale_true() {
        for offer in challenge_params(&auth(), at(0), true) {
            assert_eq!(param(&offer, "stale"), Some("true"));
        }
    }

    #[test]
    fn a_nonce_from_another_server_is_rejected_as_forged() {
        let other = DigestAuth::new(ServerSecret::new([1; 32]), DigestConfig::default());
        let nonce = fresh_nonce(&other, at(0));
        let credentials = answer(&nonce, Algorithm::Md5, "demo1001", Some(qop(1, "c")));
        assert_eq!(
            auth().verify("REGISTER", &credentials, REALM, Some(&stored()), at(1)),
            Verdict::Rejected(Rejection::ForgedNonce)
        );
    }

    #[test]
    fn a_foreign_opaque_value_is_rejected_as_forged() {
        let mut auth = auth();
        let nonce = fresh_nonce(&auth, at(0));
        let mut credentials = answer(&nonce, Algorithm::Md5, "demo1001", Some(qop(1, "c")));
        credentials.opaque = Some("0000".into());
        assert_eq!(
            auth.verify("REGISTER", &credentials, REALM, Some(&stored()), at(1)),
            Verdict::Rejected(Rejection::ForgedNonce)
        );
    }

    #[test]
    fn credentials_for_another_realm_are_rejected() {
        let mut auth = auth();
        let nonce = fresh_nonce(&auth, at(0));
        let credentials = answer(&nonce, Algorithm::Md5, "demo1001", None);
        assert_eq!(
            auth.verify("REGISTER", &credentials, "other", Some(&stored()), at(1)),
            Verdict::Rejected(Rejection::RealmMismatch)
        );
    }

    #[test]
    fn wrong_password_and_unknown_user_get_the_same_rejection() {
        let mut auth = auth();
        let nonce = fresh_nonce(&auth, at(0));
        let wrong = answer(&nonce, Algorithm::Md5, "guess", Some(qop(1, "c")));
        let right = answer(&nonce, Algorithm::Md5, "demo1001", Some(qop(2, "c")));
        let wrong_password = auth.verify("REGISTER", &wrong, REALM, Some(&stored()), at(1));
        let unknown_user = auth.verify("REGISTER", &right, REALM, None, at(1));
        assert_eq!(wrong_password, Verdict::Rejected(Rejection::WrongResponse));
        assert_eq!(unknown_user, wrong_password);
    }

    #[test]
    fn the_response_covers_the_method() {
        let mut auth = auth();
        let nonce = fresh_nonce(&auth, at(0));
        let credentials = answer(&nonce, Algorithm::Md5, "demo1001", Some(qop(1, "c")));
        assert_eq!(
            auth.verify("INVITE", &credentials, REALM, Some(&stored()), at(1)),
            Verdict::Rejected(Rejection::WrongResponse)
        );
    }

    #[test]
    fn a_replayed_nonce_count_is_refused_and_a_higher_one_accepted() {
        let mut auth = auth();
        let nonce = fresh_nonce(&auth, at(0));
        let first = answer(&nonce, Algorithm::Md5, "demo1001", Some(qop(1, "c")));
        let second = answer(&nonce, Algorithm::Md5, "demo1001", Some(qop(2, "c")));
        assert_eq!(
            auth.verify("REGISTER", &first, REALM, Some(&stored()), at(1)),
            Verdict::Authenticated
        );
        assert_eq!(
            auth.verify("REGISTER", &first, REALM, Some(&stored()), at(2)),
            Verdict::Rejected(Rejection::ReplayedNonceCount)
        );
        assert_eq!(
            auth.verify("REGISTER", &second, REALM, Some(&stored()), at(3)),
            Verdict::Authenticated
        );
        assert_eq!(
            auth.verify("REGISTER", &first, REALM, Some(&stored()), at(4)),
            Verdict::Rejected(Rejection::ReplayedNonceCount)
        );
    }

    #[test]
    fn realms_with_quotes_are_escaped_in_the_challenge() {
        let mut rng = StdRng::seed_from_u64(1);
        let headers = auth().challenge("a\"b", at(0), false, &mut rng);
        assert!(headers[0].to_string().contains(r#"realm="a\"b""#));
    }
}

//! REGISTER handling for the UAS core: the [`Guard`] in front of every request
//! (bans and rate limits per source address) and the [`Registrar`] behind it.
//!
//! [`Registration`] bundles what the registrar needs from outside — the realm it
//! serves, the users' HA1s ([`CredentialStore`]), a sink for binding changes (the
//! binary persists them) and an RNG — so the core stays sans-IO. Binding changes
//! wait in [`Registration`] until the core's transmits are drained, so the sink
//! sees them after the response went out: a slow sink never delays the answer
//! (and its retransmissions), and the binary's persister writes asynchronously
//! anyway, so handing changes over first would not make them crash-safe either.
//! Registrar time is
//! wall-clock: a `(Instant, SystemTime)` pair taken once by the caller maps the
//! core's monotonic `now` onto it, so no clock is read here.

use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use rand::RngCore;
use rsip::{Request, Response};

use crate::auth::{Admission, Guard};
use crate::registrar::{BindingChange, Bindings, CredentialStore, Register, Registrar};
use crate::transaction::Peer;

/// Receives the binding changes of each REGISTER, in order, to persist them,
/// once the response is on its way.
pub type BindingSink = Box<dyn FnMut(&[BindingChange]) + Send>;

/// Who sent an INVITE, by its credentials.
pub(super) enum Caller {
    /// A user of the realm, whose digest response was right.
    Authenticated(String),
    /// No credentials: call control decides (a trusted trunk needs none).
    Anonymous,
    /// Credentials that failed (or a stale nonce): answer this.
    Refused(Response),
}

/// The guard and the registrar, with what they need from outside.
pub struct Registration {
    registrar: Registrar,
    guard: Guard,
    realm: String,
    credentials: Box<dyn CredentialStore + Send>,
    on_change: BindingSink,
    /// Changes made but not yet handed to `on_change`.
    pending: Vec<BindingChange>,
    rng: Box<dyn RngCore + Send>,
    origin: (Instant, SystemTime),
}

impl Registration {
    /// REGISTER handling for `realm`. `origin` pairs one monotonic instant
    /// with the wall-clock time at that instant.
    pub fn new(
        registrar: Registrar,
        guard: Guard,
        realm: impl Into<String>,
        credentials: impl CredentialStore + Send + 'static,
        on_change: BindingSink,
        rng: impl RngCore + Send + 'static,
        origin: (Instant, SystemTime),
    ) -> Self {
        Self {
            registrar,
            guard,
            realm: realm.into(),
            credentials: Box::new(credentials),
            on_change,
            pending: Vec::new(),
            rng: Box::new(rng),
            origin,
        }
    }

    /// The current bindings (to find a user's phones).
    pub fn bindings(&self) -> &Bindings {
        self.registrar.bindings()
    }

    /// Whether to process a request from `ip` at all.
    pub(super) fn admit(&mut self, ip: IpAddr, now: Instant) -> Admission {
        self.guard.admit(ip, now)
    }

    /// Handles a REGISTER that passed validation; returns the response to send.
    /// Its binding changes wait for [`Registration::hand_over_changes`].
    pub(super) fn register(&mut self, now: Instant, request: &Request, source: Peer) -> Response {
        let wall_now = self.wall(now);
        let credentials = &self.credentials;
        let lookup = |realm: &str, user: &str| credentials.sip_credentials(realm, user);
        let outcome = self.registrar.handle(
            Register {
                request,
                source,
                realm: &self.realm,
                now: wall_now,
            },
            &lookup,
            &mut DynRng(&mut *self.rng),
        );
        if outcome.auth.is_failure() && self.guard.record_failure(source.addr.ip(), now) {
            tracing::warn!(
                peer = %source.addr.ip(),
                "SIP source banned after repeated failed authentication"
            );
        }
        self.pending.extend(outcome.changes);
        outcome.response
    }

    /// Checks the credentials of an INVITE; a failed check counts towards
    /// the source's ban like a failed REGISTER.
    pub(super) fn check_caller(
        &mut self,
        now: Instant,
        request: &Request,
        source: Peer,
        to_tag: &str,
    ) -> Caller {
        let has_credentials = request
            .headers
            .iter()
            .any(|h| matches!(h, rsip::Header::Authorization(_)));
        if !has_credentials {
            return Caller::Anonymous;
        }
        let wall_now = self.wall(now);
        let credentials = &self.credentials;
        let lookup = |realm: &str, user: &str| credentials.sip_credentials(realm, user);
        let result = self.registrar.authenticate_request(
            request,
            &self.realm,
            wall_now,
            &lookup,
            to_tag,
            &mut DynRng(&mut *self.rng),
        );
        match result {
            Ok(username) => Caller::Authenticated(username),
            Err((response, outcome)) => {
                if outcome.is_failure() && self.guard.record_failure(source.addr.ip(), now) {
                    tracing::warn!(
                        peer = %source.addr.ip(),
                        "SIP source banned after repeated failed authentication"
                    );
                }
                Caller::Refused(response)
            }
        }
    }

    /// A digest challenge (401) for `request`.
    pub(super) fn challenge(&mut self, now: Instant, request: &Request, to_tag: &str) -> Response {
        let wall_now = self.wall(now);
        self.registrar.challenge_request(
            request,
            &self.realm,
            wall_now,
            to_tag,
            &mut DynRng(&mut *self.rng),
        )
    }

    /// Removes the bindings expired at `now`; the removals wait for
    /// [`Registration::hand_over_changes`] like any change.
    pub(super) fn expire(&mut self, now: Instant) {
        let removed = self.registrar.expire(self.wall(now));
        self.pending.extend(removed);
    }

    /// Hands the waiting binding changes, in order, to the sink.
    pub(super) fn hand_over_changes(&mut self) {
        if !self.pending.is_empty() {
            (self.on_change)(&self.pending);
            self.pending.clear();
        }
    }

    /// When the next binding lapses, on the monotonic clock.
    pub(super) fn next_expiry(&self) -> Option<Instant> {
        let at = self.registrar.next_expiry()?;
        let (instant, wall) = self.origin;
        Some(match at.duration_since(wall) {
            Ok(ahead) => instant + ahead,
            Err(_) => instant,
        })
    }

    /// The live contacts of `realm`/`user` at `now`, with their sources.
    pub fn contacts(&self, now: Instant, realm: &str, user: &str) -> Vec<(String, Peer)> {
        let aor = crate::registrar::Aor {
            realm: realm.to_owned(),
            user: user.to_owned(),
        };
        self.bindings()
            .current(&aor, self.wall(now))
            .into_iter()
            .map(|binding| (binding.contact.clone(), binding.source))
            .collect()
    }

    fn wall(&self, now: Instant) -> SystemTime {
        let (instant, wall) = self.origin;
        wall + now.saturating_duration_since(instant)
    }
}

/// A `&mut dyn RngCore` usable where `impl RngCore` is asked for.
struct DynRng<'a>(&'a mut (dyn RngCore + Send));

impl RngCore for DynRng<'_> {
    fn next_u32(&mut self) -> u32 {
        self.0.next_u32()
    }

    fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill_bytes(dest);
    }
}

#[cfg(test)]
mod tests {
    use std::net::SocketAddr;
    use std::sync::{Arc, Mutex};

    use rand::SeedableRng;
    use rand::rngs::StdRng;

    use super::*;
    use crate::auth::digest::request_digest;
    use crate::auth::{Algorithm, GuardConfig, Ha1Pair, QopAuth, ServerSecret};
    use crate::registrar::RegistrarConfig;
    use crate::transaction::{Timers, TransactionLayer, Transport};
    use crate::uas::UasCore;

    const PHONE: &str = "192.0.2.20:5060";

    /// A core with registration whose sink records the changes it receives.
    fn core_with_sink() -> (UasCore, Arc<Mutex<Vec<BindingChange>>>) {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let sink = seen.clone();
        let credentials = |_: &str, user: &str| {
            (user == "1001").then(|| Ha1Pair::from_password("1001", "kefu", "demo1001"))
        };
        let registration = Registration::new(
            Registrar::new(
                RegistrarConfig::default(),
                ServerSecret::new([7; 32]),
                Bindings::new(),
            ),
            Guard::new(GuardConfig::default()),
            "kefu",
            credentials,
            Box::new(move |changes: &[BindingChange]| {
                sink.lock().unwrap().extend_from_slice(changes);
            }),
            StdRng::seed_from_u64(3),
            (Instant::now(), SystemTime::now()),
        );
        let core = UasCore::new(
            TransactionLayer::new(Timers::default(), || "b".into()),
            || "t".into(),
        )
        .with_registration(registration);
        (core, seen)
    }

    fn register(cseq: u32, authorization: &str) -> Vec<u8> {
        format!(
            "REGISTER sip:kefu.example.com SIP/2.0\r\nVia: SIP/2.0/UDP {PHONE};branch=z9hG4bKr{cseq}\r\n\
             Max-Forwards: 70\r\nTo: <sip:1001@kefu.example.com>\r\nFrom: <sip:1001@kefu.example.com>;tag=9\r\n\
             Call-ID: order\r\nCSeq: {cseq} REGISTER\r\nContact: <sip:1001@{PHONE}>\r\n{authorization}\
             Content-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    fn answer(challenge: &str) -> String {
        let md5 = challenge
            .lines()
            .find(|line| line.contains("algorithm=MD5"))
            .unwrap();
        let start = md5.find("nonce=\"").unwrap() + 7;
        let nonce = md5[start..].split('"').next().unwrap();
        let ha1 = Ha1Pair::from_password("1001", "kefu", "demo1001");
        let qop = QopAuth {
            nonce_count: 1,
            nonce_count_text: "00000001".into(),
            cnonce: "c".into(),
        };
        let uri = "sip:kefu.example.com";
        let response = request_digest(Algorithm::Md5, &ha1.md5, nonce, "REGISTER", uri, Some(&qop));
        format!(
            "Authorization: Digest username=\"1001\", realm=\"kefu\", nonce=\"{nonce}\", uri=\"{uri}\", \
             response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"c\"\r\n"
        )
    }

    #[test]
    fn binding_changes_reach_the_sink_only_after_the_response_was_taken() {
        let (mut core, seen) = core_with_sink();
        let source = Peer {
            transport: Transport::Udp,
            addr: PHONE.parse::<SocketAddr>().unwrap(),
        };
        let now = Instant::now();
        core.receive(now, &register(1, ""), source);
        let challenge = core.poll_transmit().unwrap();
        assert!(core.poll_transmit().is_none());
        let challenge = String::from_utf8(challenge.payload.to_vec()).unwrap();
        assert!(challenge.starts_with("SIP/2.0 401 "), "{challenge}");

        core.receive(now, &register(2, &answer(&challenge)), source);
        assert!(seen.lock().unwrap().is_empty(), "nothing before the answer");
        let ok = core.poll_transmit().expect("the 200");
        assert!(ok.payload.starts_with(b"SIP/2.0 200 OK\r\n"));
        assert!(
            seen.lock().unwrap().is_empty(),
            "nothing while the answer is being sent"
        );
        assert!(core.poll_transmit().is_none());
        let changes = seen.lock().unwrap().clone();
        let [BindingChange::Upsert(binding)] = &changes[..] else {
            panic!("expected one new binding, got {changes:?}");
        };
        assert_eq!(binding.contact, format!("sip:1001@{PHONE}"));
        assert!(core.poll_transmit().is_none());
        assert_eq!(seen.lock().unwrap().len(), 1, "handed over once");
    }
}

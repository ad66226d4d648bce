//! REGISTER handling for the UAS core: the [`Guard`] in front of every request
//! (bans and rate limits per source address) and the [`Registrar`] behind it.
//!
//! [`Registration`] bundles what the registrar needs from outside — the realm it
//! serves, the users' HA1s ([`CredentialStore`]), a sink for binding changes (the
//! binary persists them) and an RNG — so the core stays sans-IO. Registrar time is
//! wall-clock: a `(Instant, SystemTime)` pair taken once by the caller maps the
//! core's monotonic `now` onto it, so no clock is read here.

use std::net::IpAddr;
use std::time::{Instant, SystemTime};

use rand::RngCore;
use rsip::{Request, Response};

use crate::auth::{Admission, Guard};
use crate::registrar::{BindingChange, Bindings, CredentialStore, Register, Registrar};
use crate::transaction::Peer;

/// Receives the binding changes of each REGISTER, in order, to persist them.
pub type BindingSink = Box<dyn FnMut(&[BindingChange]) + Send>;

/// The guard and the registrar, with what they need from outside.
pub struct Registration {
    registrar: Registrar,
    guard: Guard,
    realm: String,
    credentials: Box<dyn CredentialStore + Send>,
    on_change: BindingSink,
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

    /// Handles a REGISTER that passed validation; returns the response to send
    /// after the binding changes went to the sink.
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
        if !outcome.changes.is_empty() {
            (self.on_change)(&outcome.changes);
        }
        outcome.response
    }

    /// Removes the bindings expired at `now` and reports the removals.
    pub(super) fn expire(&mut self, now: Instant) {
        let removed = self.registrar.expire(self.wall(now));
        if !removed.is_empty() {
            (self.on_change)(&removed);
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

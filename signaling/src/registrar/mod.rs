//! The registrar (RFC 3261 §10.3) with digest authentication, sans-IO.
//!
//! [`Registrar::handle`] takes one REGISTER ([`Register`]: the parsed request,
//! where it came from, the tenant's realm and the current time), the user's
//! stored digest secrets through a [`CredentialStore`], and an RNG; it returns a
//! [`RegisterOutcome`]: the response to send, the [`BindingChange`]s it made to
//! its in-memory [`Bindings`] (for the binary to persist), and what happened to
//! authentication ([`AuthOutcome`], for the [`crate::auth::Guard`]). It reads no
//! socket, no clock and no database.
//!
//! What it does: no or unusable credentials, or credentials in an algorithm not
//! offered → 401 with the configured challenges (SHA-256 and MD5 by default);
//! credentials whose digest `uri` is not the Request-URI (RFC 3261 §22.4, RFC
//! 7616 §3.4.6) → 400; a nonce that expired under a right answer → 401 `stale=true`; a
//! nonce we never issued, or a replayed nonce count → 401; a wrong answer —
//! whether the user exists or not — → 403, identical either way; a user
//! registering another user's address → 403. Then the AOR is the authenticated
//! user in the realm ([`Aor`]); contacts take their `expires` parameter, else the
//! `Expires` header, else the default (3600 s); a non-zero expiry under the
//! minimum → 423 with `Min-Expires`; above the maximum it is clamped; `expires=0`
//! removes a contact and `Contact: *` with `Expires: 0` removes all (without
//! `Expires: 0` → 400); a REGISTER with the Call-ID of a binding and a CSeq not
//! above it → 500 and nothing changes; no Contact is a query. A 200 lists every
//! current binding with its remaining seconds, and a `Date`. An AOR holds at most
//! `max_contacts_per_aor` contacts (else 403), so memory stays bounded.
//!
//! Time here is wall-clock (`SystemTime`), passed in: nonces and bindings outlive
//! the process (storage, other nodes), so they need absolute times. The
//! [`crate::auth::Guard`] takes a monotonic `Instant` instead.
//!
//! How the receive path uses it, per request (the endpoint that owns the
//! [`crate::uas::UasCore`] owns the guard and the registrar too):
//!
//! 1. [`crate::auth::Guard::admit`] with the source IP, before
//!    [`crate::uas::UasCore::receive`]: drop the bytes silently unless
//!    [`crate::auth::Admission::Admit`].
//! 2. The UAS core parses, stamps `received`/`rport`, runs the transaction layer
//!    and validates; a REGISTER that comes out as a server-transaction request
//!    goes to [`Registrar::handle`] (instead of today's 501), with the
//!    transaction's source [`Peer`] and the realm of the tenant it is for.
//! 3. Credentials: the handler is synchronous, so either keep the users' HA1s
//!    in memory (a [`CredentialStore`] over a cache refreshed when users change)
//!    or fetch them before the call — [`claimed_username`] names the user, and
//!    a closure `|_: &str, _: &str| ha1.clone()` is a [`CredentialStore`].
//! 4. If [`AuthOutcome::is_failure`], [`crate::auth::Guard::record_failure`].
//! 5. Send [`RegisterOutcome::response`] through the server transaction
//!    ([`crate::transaction::Input::SendResponse`]), then persist
//!    [`RegisterOutcome::changes`] in order ([`crate::uas::Registration`] hands
//!    them to its sink once the response is on the wire): storage latency never
//!    delays the answer, and a crash between the two loses a registration the
//!    phone refreshes on its next REGISTER.
//!
//! And around it: at start, `Registrar::new(config, secret,
//! Bindings::restore(rows))`; at [`Registrar::next_expiry`], call
//! [`Registrar::expire`] and persist the removals; call control finds a user's
//! phones with [`Bindings::current`]. The server secret is generated once and
//! stored, so nonces survive restarts and work across nodes.

mod bindings;
mod contacts;
mod reply;
mod update;

#[cfg(test)]
mod tests;

use std::time::{Duration, SystemTime};

use rand::RngCore;
use rsip::headers::{Allow, MinExpires, ToTypedHeader, UntypedHeader};
use rsip::{Header, Method, Request, Response};

pub use bindings::{Aor, Binding, BindingChange, Bindings};

use crate::auth::{
    CredentialsError, DigestAuth, DigestConfig, DigestCredentials, Ha1Pair, Rejection,
    ServerSecret, Verdict, parse_authorization,
};
use crate::message::RequestError;
use crate::transaction::Peer;
use contacts::{RequestedContacts, expires_header, requested_contacts};
use reply::{contact_header, date_header, reply, reply_error, reply_with_warning};
use update::{ContactUpdate, OutOfOrder, RegisterOrigin, contact_changes, remove_all};

/// Where the registrar finds a user's digest secrets; the binary implements it
/// over its database (users are the agents in storage).
pub trait CredentialStore {
    /// The HA1s of the enabled SIP user `username` in the tenant of `realm`.
    fn sip_credentials(&self, realm: &str, username: &str) -> Option<Ha1Pair>;
}

impl<F> CredentialStore for F
where
    F: Fn(&str, &str) -> Option<Ha1Pair>,
{
    fn sip_credentials(&self, realm: &str, username: &str) -> Option<Ha1Pair> {
        self(realm, username)
    }
}

/// Settings of the registrar.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegistrarConfig {
    /// Expiry of a contact that names none. Default 3600 s.
    pub default_expires: Duration,
    /// Shortest expiry accepted (else 423). Default 60 s.
    pub min_expires: Duration,
    /// Longest expiry granted; longer requests are clamped. Default 7200 s.
    pub max_expires: Duration,
    /// Most contacts one AOR may have bound at once (bounds the memory an
    /// authenticated user can take); a REGISTER going over → 403. Default 10.
    pub max_contacts_per_aor: usize,
    /// Digest settings (nonce lifetime, replay memory).
    pub digest: DigestConfig,
}

impl Default for RegistrarConfig {
    fn default() -> Self {
        Self {
            default_expires: Duration::from_secs(3600),
            min_expires: Duration::from_secs(60),
            max_expires: Duration::from_secs(7200),
            max_contacts_per_aor: 10,
            digest: DigestConfig::default(),
        }
    }
}

/// One REGISTER to handle.
#[derive(Debug, Clone, Copy)]
pub struct Register<'a> {
    /// The request, parsed and validated.
    pub request: &'a Request,
    /// Where it came from (stored with the bindings, to reach phones behind NAT).
    pub source: Peer,
    /// The digest realm of the tenant the request is for.
    pub realm: &'a str,
    /// The current time.
    pub now: SystemTime,
}

/// What happened to authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AuthOutcome {
    /// Not looked at: the request was refused before (405, 400).
    NotAttempted,
    /// Challenged (401), without credentials or with a stale nonce: the normal
    /// first step, not a failure.
    Challenged,
    /// Authenticated as `username`.
    Authenticated {
        /// The digest user name.
        username: String,
    },
    /// Credentials refused (401 or 403).
    Rejected(Rejection),
    /// Right credentials, but for another user than the AOR's (403).
    ForeignAor {
        /// The digest user name.
        username: String,
    },
}

impl AuthOutcome {
    /// Whether this counts as a failed attempt for the guard. A replayed nonce
    /// count does not: it guesses no password, and an RFC 2069 phone reusing
    /// its nonce must not get itself banned.
    pub fn is_failure(&self) -> bool {
        match self {
            Self::Rejected(rejection) => *rejection != Rejection::ReplayedNonceCount,
            Self::ForeignAor { .. } => true,
            Self::NotAttempted | Self::Challenged | Self::Authenticated { .. } => false,
        }
    }
}

/// The result of handling a REGISTER.
#[derive(Debug, Clone)]
pub struct RegisterOutcome {
    /// The response to send.
    pub response: Response,
    /// The binding changes made, in order, for storage.
    pub changes: Vec<BindingChange>,
    /// What happened to authentication.
    pub auth: AuthOutcome,
}

/// The registrar: digest authentication and the bindings of every AOR.
#[derive(Debug)]
pub struct Registrar {
    config: RegistrarConfig,
    digest: DigestAuth,
    bindings: Bindings,
}

impl Registrar {
    /// A registrar with `bindings` (restored from storage, or empty), signing
    /// nonces with `secret`.
    pub fn new(config: RegistrarConfig, secret: ServerSecret, bindings: Bindings) -> Self {
        let digest = DigestAuth::new(secret, config.digest.clone());
        Self {
            config,
            digest,
            bindings,
        }
    }

    /// The current bindings, for routing calls to registered phones.
    pub fn bindings(&self) -> &Bindings {
        &self.bindings
    }

    /// Removes bindings expired at `now`; returns the removals, for storage.
    pub fn expire(&mut self, now: SystemTime) -> Vec<BindingChange> {
        self.bindings.expire(now)
    }

    /// When a binding expires next.
    pub fn next_expiry(&self) -> Option<SystemTime> {
        self.bindings.next_expiry()
    }

    /// Handles one REGISTER.
    pub fn handle(
        &mut self,
        register: Register<'_>,
        credentials: &impl CredentialStore,
        rng: &mut impl RngCore,
    ) -> RegisterOutcome {
        let Register {
            request,
            realm,
            now,
            ..
        } = register;
        let to_tag = format!("{:016x}", rng.next_u64());
        if request.method != Method::Register {
            let mut response = reply(request, 405, "Method Not Allowed", &to_tag);
            response.headers.push(Header::Allow(Allow::new("REGISTER")));
            return unchanged(response, AuthOutcome::NotAttempted);
        }
        let to_user = match to_user(request) {
            Ok(user) => user,
            Err(error) => {
                let response = reply_error(request, &error, &to_tag);
                return unchanged(response, AuthOutcome::NotAttempted);
            }
        };
        let username = match self.authenticate(request, realm, now, credentials) {
            Ok(username) => username,
            Err(refusal) => return self.refuse(register, refusal, &to_tag, rng),
        };
        if username != to_user {
            let response = reply(request, 403, "Forbidden", &to_tag);
            return unchanged(response, AuthOutcome::ForeignAor { username });
        }
        let auth = AuthOutcome::Authenticated {
            username: username.clone(),
        };
        let aor = Aor {
            realm: realm.to_owned(),
            user: username,
        };
        match self.plan(register, &aor) {
            Ok(changes) => self.bind(register, &aor, changes, auth, &to_tag),
            Err(problem) => unchanged(self.problem_response(request, problem, &to_tag), auth),
        }
    }

    /// Applies `changes` and answers 200 with every current binding.
    fn bind(
        &mut self,
        register: Register<'_>,
        aor: &Aor,
        changes: Vec<BindingChange>,
        auth: AuthOutcome,
        to_tag: &str,
    ) -> RegisterOutcome {
        let now = register.now;
        for change in &changes {
            self.bindings.apply(change.clone());
        }
        let mut response = reply(register.request, 200, "OK", to_tag);
        response.headers.push(date_header(now));
        for binding in self.bindings.current(aor, now) {
            response.headers.push(contact_header(
                &binding.contact,
                binding.remaining_seconds(now),
            ));
        }
        RegisterOutcome {
            response,
            changes,
            auth,
        }
    }

    /// The answer to a REGISTER whose credentials were missing or refused.
    fn refuse(
        &self,
        register: Register<'_>,
        refusal: Refusal,
        to_tag: &str,
        rng: &mut impl RngCore,
    ) -> RegisterOutcome {
        let (response, auth) = self.refusal_response(
            register.request,
            register.realm,
            register.now,
            refusal,
            to_tag,
            rng,
        );
        unchanged(response, auth)
    }

    /// The answer to a request whose credentials were missing or refused: a
    /// (stale) challenge, 403 for a wrong response, 400 for unreadable ones.
    fn refusal_response(
        &self,
        request: &Request,
        realm: &str,
        now: SystemTime,
        refusal: Refusal,
        to_tag: &str,
        rng: &mut impl RngCore,
    ) -> (Response, AuthOutcome) {
        let websocket = over_websocket(request);
        let challenge = |stale: bool, rng: &mut _| {
            let mut response = reply(request, 401, "Unauthorized", to_tag);
            let headers = self
                .digest
                .challenge_for_client(realm, now, stale, websocket, rng);
            response.headers.extend(headers);
            response
        };
        let header_error = |detail: String| {
            let error = RequestError::InvalidHeader {
                header: "Authorization",
                detail,
            };
            (
                reply_error(request, &error, to_tag),
                AuthOutcome::NotAttempted,
            )
        };
        match refusal {
            Refusal::Challenge { stale } => (challenge(stale, rng), AuthOutcome::Challenged),
            Refusal::Rejected(Rejection::WrongResponse) => (
                reply(request, 403, "Forbidden", to_tag),
                AuthOutcome::Rejected(Rejection::WrongResponse),
            ),
            Refusal::Rejected(rejection) => {
                (challenge(false, rng), AuthOutcome::Rejected(rejection))
            }
            Refusal::BadCredentials(error) => header_error(error.to_string()),
            Refusal::UriMismatch { digest_uri } => {
                header_error(format!("digest uri `{digest_uri}` is not the Request-URI"))
            }
        }
    }

    /// Authenticates a request other than REGISTER — an INVITE from a user's
    /// phone — with the same digest rules: `Ok(username)`, or the response
    /// refusing it (a challenge when it carries no usable credentials) and
    /// what happened, so the caller can count failures.
    pub fn authenticate_request(
        &mut self,
        request: &Request,
        realm: &str,
        now: SystemTime,
        credentials: &impl CredentialStore,
        to_tag: &str,
        rng: &mut impl RngCore,
    ) -> Result<String, (Response, AuthOutcome)> {
        match self.authenticate(request, realm, now, credentials) {
            Ok(username) => Ok(username),
            Err(refusal) => Err(self.refusal_response(request, realm, now, refusal, to_tag, rng)),
        }
    }

    /// A fresh challenge (401) for `request`.
    pub fn challenge_request(
        &self,
        request: &Request,
        realm: &str,
        now: SystemTime,
        to_tag: &str,
        rng: &mut impl RngCore,
    ) -> Response {
        let refusal = Refusal::Challenge { stale: false };
        self.refusal_response(request, realm, now, refusal, to_tag, rng)
            .0
    }

    /// The answer to an authenticated REGISTER that changes nothing.
    fn problem_response(&self, request: &Request, problem: Problem, to_tag: &str) -> Response {
        match problem {
            Problem::Invalid(error) => reply_error(request, &error, to_tag),
            Problem::TooBrief => {
                let mut response = reply(request, 423, "Interval Too Brief", to_tag);
                response.headers.push(Header::MinExpires(MinExpires::new(
                    self.config.min_expires.as_secs().to_string(),
                )));
                response
            }
            Problem::OutOfOrder => reply_with_warning(
                request,
                500,
                "Server Internal Error",
                "CSeq not above the binding's for this Call-ID",
                to_tag,
            ),
            Problem::TooManyContacts => {
                let warning = format!(
                    "more than {} contacts for one address-of-record",
                    self.config.max_contacts_per_aor
                );
                reply_with_warning(request, 403, "Forbidden", &warning, to_tag)
            }
        }
    }

    /// The authenticated user name, or why there is none.
    fn authenticate(
        &mut self,
        request: &Request,
        realm: &str,
        now: SystemTime,
        store: &impl CredentialStore,
    ) -> Result<String, Refusal> {
        let credentials = match find_credentials(request, realm) {
            None => return Err(Refusal::Challenge { stale: false }),
            Some(Err(
                CredentialsError::NotDigest
                | CredentialsError::UnsupportedAlgorithm(_)
                | CredentialsError::UnsupportedQop(_),
            )) => return Err(Refusal::Challenge { stale: false }),
            Some(Err(error)) => return Err(Refusal::BadCredentials(error)),
            Some(Ok(credentials)) if !self.digest.offers(credentials.algorithm) => {
                return Err(Refusal::Challenge { stale: false });
            }
            Some(Ok(credentials)) if !digest_uri_matches(&credentials.uri, &request.uri) => {
                return Err(Refusal::UriMismatch {
                    digest_uri: credentials.uri,
                });
            }
            Some(Ok(credentials)) => credentials,
        };
        let stored = store.sip_credentials(realm, &credentials.username);
        match self.digest.verify(
            request.method.to_string().as_str(),
            &credentials,
            realm,
            stored.as_ref(),
            now,
        ) {
            Verdict::Authenticated => Ok(credentials.username),
            Verdict::StaleNonce => Err(Refusal::Challenge { stale: true }),
            Verdict::Rejected(rejection) => Err(Refusal::Rejected(rejection)),
        }
    }

    /// The binding changes `register` asks for (RFC 3261 §10.3 steps 5 to 7).
    fn plan(&self, register: Register<'_>, aor: &Aor) -> Result<Vec<BindingChange>, Problem> {
        let request = register.request;
        let origin = RegisterOrigin {
            aor,
            call_id: call_id(request)?,
            cseq: cseq(request)?,
            source: register.source,
            now: register.now,
        };
        let expires = expires_header(request)?;
        let existing = self.bindings.current(aor, register.now);
        let changes = match requested_contacts(request)? {
            RequestedContacts::Query => Vec::new(),
            RequestedContacts::Wildcard if expires == Some(0) => remove_all(&existing, &origin)?,
            RequestedContacts::Wildcard => {
                return Err(Problem::Invalid(RequestError::InvalidHeader {
                    header: "Contact",
                    detail: "`*` needs Expires: 0".into(),
                }));
            }
            RequestedContacts::Contacts(contacts) => {
                let updates = contacts
                    .into_iter()
                    .map(|contact| {
                        let seconds = contact.expires.or(expires);
                        Ok(ContactUpdate {
                            expires: self.granted_expiry(seconds)?,
                            uri: contact.uri,
                        })
                    })
                    .collect::<Result<Vec<_>, Problem>>()?;
                contact_changes(&existing, &origin, &updates)?
            }
        };
        if bound_after(&existing, &changes) > self.config.max_contacts_per_aor {
            return Err(Problem::TooManyContacts);
        }
        Ok(changes)
    }

    /// The expiry granted for a requested one (`None`: the default).
    fn granted_expiry(&self, requested: Option<u32>) -> Result<u32, Problem> {
        let seconds = |duration: Duration| u32::try_from(duration.as_secs()).unwrap_or(u32::MAX);
        let requested = requested.unwrap_or_else(|| seconds(self.config.default_expires));
        if requested != 0 && requested < seconds(self.config.min_expires) {
            return Err(Problem::TooBrief);
        }
        Ok(requested.min(seconds(self.config.max_expires)))
    }
}

/// The user name of the request's Digest credentials for `realm`, so that a
/// driver with an async database can fetch them before [`Registrar::handle`].
pub fn claimed_username(request: &Request, realm: &str) -> Option<String> {
    match find_credentials(request, realm) {
        Some(Ok(credentials)) => Some(credentials.username),
        _ => None,
    }
}

/// Why authentication did not succeed.
enum Refusal {
    /// Send a (new) challenge.
    Challenge { stale: bool },
    /// The credentials were checked and refused.
    Rejected(Rejection),
    /// The credentials could not be read (→ 400).
    BadCredentials(CredentialsError),
    /// The credentials answer for another URI than the Request-URI (→ 400):
    /// they were made for another request.
    UriMismatch { digest_uri: String },
}

/// Why an authenticated REGISTER changes nothing.
enum Problem {
    Invalid(RequestError),
    TooBrief,
    OutOfOrder,
    TooManyContacts,
}

/// How many contacts the AOR has once `changes` apply to `existing`.
fn bound_after(existing: &[&Binding], changes: &[BindingChange]) -> usize {
    let mut contacts: Vec<&str> = existing.iter().map(|b| b.contact.as_str()).collect();
    for change in changes {
        match change {
            BindingChange::Upsert(binding) => {
                if !contacts.contains(&binding.contact.as_str()) {
                    contacts.push(&binding.contact);
                }
            }
            BindingChange::Remove { contact, .. } => contacts.retain(|bound| bound != contact),
        }
    }
    contacts.len()
}

impl From<RequestError> for Problem {
    fn from(error: RequestError) -> Self {
        Self::Invalid(error)
    }
}

impl From<OutOfOrder> for Problem {
    fn from(_: OutOfOrder) -> Self {
        Self::OutOfOrder
    }
}

/// Whether the request's last hop was a WebSocket (its top `Via` says
/// `SIP/2.0/WS` or `SIP/2.0/WSS`): a browser's SIP library.
fn over_websocket(request: &Request) -> bool {
    request
        .headers
        .iter()
        .find_map(|header| match header {
            Header::Via(via) => Some(via.value().to_owned()),
            _ => None,
        })
        .is_some_and(|via| {
            let protocol = via.split_whitespace().next().unwrap_or_default();
            protocol.eq_ignore_ascii_case("SIP/2.0/WS")
                || protocol.eq_ignore_ascii_case("SIP/2.0/WSS")
        })
}

fn unchanged(response: Response, auth: AuthOutcome) -> RegisterOutcome {
    RegisterOutcome {
        response,
        changes: Vec::new(),
        auth,
    }
}

/// The credentials for `realm` among the request's `Authorization` headers; if
/// none is for it, the first header's parse error, if any.
fn find_credentials(
    request: &Request,
    realm: &str,
) -> Option<Result<DigestCredentials, CredentialsError>> {
    let mut first_error = None;
    for header in request.headers.iter() {
        let Header::Authorization(authorization) = header else {
            continue;
        };
        match parse_authorization(authorization.value()) {
            Ok(credentials) if credentials.realm == realm => return Some(Ok(credentials)),
            Ok(_) => {}
            Err(error) => {
                first_error.get_or_insert(error);
            }
        }
    }
    first_error.map(Err)
}

/// Whether the digest `uri` parameter names the Request-URI (RFC 3261 §22.4).
/// Compared as URIs (RFC 3261 §19.1.4, leniently): scheme and host ignore case,
/// user and port must be equal, and so must the parameters, in any order.
fn digest_uri_matches(digest_uri: &str, request_uri: &rsip::Uri) -> bool {
    let Ok(parsed) = rsip::Uri::try_from(digest_uri) else {
        return false;
    };
    let key = |uri: &rsip::Uri| {
        let mut params: Vec<String> = uri
            .params
            .iter()
            .map(|param| param.to_string().to_ascii_lowercase())
            .collect();
        params.sort();
        (
            uri.scheme
                .as_ref()
                .map(|scheme| scheme.to_string().to_ascii_lowercase()),
            uri.auth.as_ref().map(|auth| auth.user.clone()),
            uri.host_with_port.to_string().to_ascii_lowercase(),
            params,
        )
    };
    key(&parsed) == key(request_uri)
}

/// The user part of the To URI: the AOR's user.
fn to_user(request: &Request) -> Result<String, RequestError> {
    let to = request
        .headers
        .iter()
        .find_map(|header| match header {
            Header::To(to) => Some(to),
            _ => None,
        })
        .ok_or(RequestError::MissingHeader("To"))?;
    let typed = to.typed().map_err(|error| RequestError::InvalidHeader {
        header: "To",
        detail: error.to_string(),
    })?;
    typed
        .uri
        .auth
        .map(|auth| auth.user)
        .ok_or_else(|| RequestError::InvalidHeader {
            header: "To",
            detail: "the address-of-record has no user part".into(),
        })
}

fn call_id(request: &Request) -> Result<&str, RequestError> {
    request
        .headers
        .iter()
        .find_map(|header| match header {
            Header::CallId(call_id) => Some(call_id.value()),
            _ => None,
        })
        .ok_or(RequestError::MissingHeader("Call-ID"))
}

fn cseq(request: &Request) -> Result<u32, RequestError> {
    let header = request
        .headers
        .iter()
        .find_map(|header| match header {
            Header::CSeq(cseq) => Some(cseq),
            _ => None,
        })
        .ok_or(RequestError::MissingHeader("CSeq"))?;
    header
        .typed()
        .map(|cseq| cseq.seq)
        .map_err(|error| RequestError::InvalidHeader {
            header: "CSeq",
            detail: error.to_string(),
        })
}

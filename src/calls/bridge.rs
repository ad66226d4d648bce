//! Calls kefu places onwards — to an agent's or a supervisor's extension,
//! or out through a trunk. [`Dialing`] rings every phone the user has
//! registered (parallel forking, one INVITE per contact, each a new dialog
//! with its own Call-ID and tags) or the trunk's address; the first to
//! answer wins and the others get CANCEL with `Reason: SIP;cause=200;text="Call
//! completed elsewhere"` (RFC 3326; or BYE, when two answer at once).
//! The callee is offered the codec the caller negotiated first, then G.711
//! (plus telephone-events): a callee that takes the caller's codec is
//! relayed untouched, one that takes another is transcoded. Outbound trunks are
//! reached over UDP (TCP/TLS trunks need kefu to open connections, which it
//! does not yet).
//!
//! [`run`] serves a call dialled straight to an extension or a trunk: the
//! caller hears the callee's ringing (180); busy, declined and unanswered
//! forks map to the caller's final response; the ring timeout and the
//! caller's CANCEL end the forks; the answer is bridged
//! ([`super::bridged`]). A caller's INVITE without SDP (late offer): the
//! phones are offered G.711 with telephone-events, and the caller gets our
//! offer of what the answering phone took in the 200; the ACK's answer
//! completes the call (RFC 3261 §13.2.1).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use kefu_media::driver::ports::PortPair;
use kefu_media::sdp::{self, Codec, Direction, Negotiated, SessionDescription};
use kefu_signaling::dialog::{Body, DialogId};
use kefu_signaling::message::{COMPLETED_ELSEWHERE, reason_header, response_to};
use kefu_signaling::transaction::{Peer, TransactionId, Transport};
use kefu_signaling::uas::{CallEvent, OutgoingInvite};
use rsip::{Method, Response};
use tokio::sync::{mpsc, watch};

use super::bridged::{Bridged, CallerSide};
use super::browser::{BrowserOffer, is_browser_transport};
use super::call::{Start, caller_number};
use super::cdr::Cdr;
use super::queue::settled;
use super::session::{Ended, PREFERENCES, SideMedia, negotiate_offer, refuse, with_sdp};
use super::{CallContext, LegRoutes};

/// How long the agent's phones ring before the caller is told nobody answered.
const RING_TIMEOUT: Duration = Duration::from_secs(30);

/// Whom the call is for.
pub(super) enum Callee<'a> {
    /// Every registered phone of the tenant's user `extension`.
    Agent {
        tenant_id: &'a str,
        extension: &'a str,
    },
    /// Every registered phone of the tenant's user `extension`, to join a
    /// call as its supervisor.
    Supervisor {
        tenant_id: &'a str,
        extension: &'a str,
    },
    /// Every registered phone of the tenant's user `extension`, as the
    /// customer a callback calls.
    Customer {
        tenant_id: &'a str,
        extension: &'a str,
    },
    /// `number` at the tenant's trunk named `trunk`.
    Trunk {
        tenant_id: &'a str,
        trunk: &'a str,
        number: &'a str,
    },
}

/// Where the B-legs go: each target's URI and address, and the headers and
/// CDR role they share.
struct Targets {
    targets: Vec<(String, Peer)>,
    /// The `To` value of every B-leg.
    to: String,
    /// The host part of our `From`.
    domain: String,
    role: &'static str,
}

/// Why the callee cannot be rung: the caller's status and a `Warning` text.
pub(super) struct Unreachable {
    pub status: u16,
    pub reason: &'static str,
    pub why: String,
}

impl Callee<'_> {
    fn tenant_id(&self) -> &str {
        match self {
            Callee::Agent { tenant_id, .. }
            | Callee::Supervisor { tenant_id, .. }
            | Callee::Customer { tenant_id, .. }
            | Callee::Trunk { tenant_id, .. } => tenant_id,
        }
    }

    async fn targets(&self, context: &CallContext) -> Result<Targets, Unreachable> {
        let unavailable = |why: String| Unreachable {
            status: 480,
            reason: "Temporarily Unavailable",
            why,
        };
        let storage = |error: crate::store::StoreError| {
            tracing::error!(%error, "cannot read the callee from storage");
            Unreachable {
                status: 500,
                reason: "Server Internal Error",
                why: "storage failed".to_owned(),
            }
        };
        match *self {
            Callee::Agent {
                tenant_id,
                extension,
            }
            | Callee::Supervisor {
                tenant_id,
                extension,
            }
            | Callee::Customer {
                tenant_id,
                extension,
            } => {
                let realm = context
                    .store
                    .tenant(tenant_id)
                    .await
                    .map_err(storage)?
                    .sip_realm;
                let targets = context.sip.contacts(&realm, extension).await;
                if targets.is_empty() {
                    return Err(unavailable(format!("{extension} has no registered phone")));
                }
                Ok(Targets {
                    targets,
                    to: format!("<sip:{extension}@{realm}>"),
                    domain: realm,
                    role: match self {
                        Callee::Supervisor { .. } => "supervisor",
                        Callee::Customer { .. } => "caller",
                        _ => "agent",
                    },
                })
            }
            Callee::Trunk {
                tenant_id,
                trunk,
                number,
            } => {
                let found = context
                    .store
                    .trunk(tenant_id, trunk)
                    .await
                    .map_err(storage)?;
                let Some((host, port)) = found
                    .filter(|t| t.disabled_at.is_none() && t.transport == "udp")
                    .and_then(|t| Some((t.host?, t.port.and_then(|p| u16::try_from(p).ok()))))
                else {
                    return Err(Unreachable {
                        status: 503,
                        reason: "Service Unavailable",
                        why: format!("trunk {trunk} takes no outbound calls over UDP"),
                    });
                };
                let port = port.unwrap_or(5060);
                let address = tokio::net::lookup_host((host.as_str(), port))
                    .await
                    .ok()
                    .and_then(|mut addresses| addresses.next())
                    .ok_or_else(|| unavailable(format!("cannot resolve trunk host {host}")))?;
                let peer = Peer {
                    transport: Transport::Udp,
                    addr: address,
                };
                Ok(Targets {
                    targets: vec![(format!("<sip:{number}@{host}:{port}>"), peer)],
                    to: format!("<sip:{number}@{host}>"),
                    domain: context.media.address.to_string(),
                    role: "trunk",
                })
            }
        }
    }
}

/// Who a callee's phone is told is calling: the caller's number, and the
/// headers of the caller's INVITE that `sip.forward_headers` lets through
/// (e.g. `P-Asserted-Identity`); nothing else of the caller's leg leaks.
#[derive(Debug, Clone, Default)]
pub(super) struct CallerId {
    pub name: String,
    pub headers: Vec<rsip::Header>,
}

impl CallerId {
    /// The caller of `invite`.
    pub fn of(context: &CallContext, invite: &rsip::Request) -> Self {
        let headers = invite
            .headers
            .iter()
            .filter(|header| {
                let name = header_name(header);
                context
                    .forward_headers
                    .iter()
                    .any(|allowed| allowed.eq_ignore_ascii_case(&name))
            })
            .cloned()
            .collect();
        Self {
            name: caller_number(invite).unwrap_or_else(|| "anonymous".to_owned()),
            headers,
        }
    }

    /// A caller shown by name only (kefu calling on its own: a callback, a
    /// supervisor's phone).
    pub fn named(name: &str) -> Self {
        Self {
            name: name.to_owned(),
            headers: Vec::new(),
        }
    }
}

/// A header's name as written (`P-Asserted-Identity: …`).
fn header_name(header: &rsip::Header) -> String {
    let text = header.to_string();
    text.split_once(':')
        .map_or(text.as_str(), |(name, _)| name)
        .trim()
        .to_owned()
}

/// One INVITE to one of the callee's phones.
struct Fork {
    contact: String,
    leg: Option<String>,
    done: bool,
    /// The gateway's offer, when the phone is a browser.
    browser: Option<BrowserOffer>,
}

/// B-legs being set up towards one callee: one INVITE per phone (parallel
/// forking), each offering the caller's codec from our media address.
pub(super) struct Dialing {
    forks: HashMap<TransactionId, Fork>,
    /// Our RTP ports towards the callee, until a phone answers.
    ports: Option<PortPair>,
    local: SocketAddr,
    session_id: u64,
    codecs: Vec<Codec>,
}

/// What a call event meant for a [`Dialing`].
pub(super) enum Dialed {
    /// A phone rings (an 18x).
    Ringing,
    /// Every phone failed; the last one with this status.
    Failed(u16),
    /// A phone answered; the others are being cancelled.
    Answered(AgentSide),
    /// A phone answered with SDP kefu cannot use: it was hung up, and the
    /// others cancelled.
    Unusable(String),
    /// A B-leg event that changes nothing (a late answer, hung up at once).
    Nothing,
    /// Not an event of these B-legs.
    NotMine(CallEvent),
}

/// The answered B-leg.
pub(super) struct AgentSide {
    pub dialog: DialogId,
    pub media: SideMedia,
    /// Our RTP ports towards it.
    pub ports: PortPair,
    /// Its CDR leg.
    pub leg: Option<String>,
}

impl Dialing {
    /// Rings every phone of `callee`, offering what the caller agreed
    /// (`caller`) as `caller_id`. B-leg Call-IDs join `routes`.
    pub async fn start(
        context: &CallContext,
        cdr: &Cdr,
        routes: &LegRoutes,
        callee: &Callee<'_>,
        caller: &Negotiated,
        caller_id: &CallerId,
    ) -> Result<Self, Unreachable> {
        let targets = callee.targets(context).await?;
        let ports = context
            .media
            .ports
            .allocate()
            .map_err(|error| Unreachable {
                status: 503,
                reason: "Service Unavailable",
                why: format!("no RTP port for the callee: {error}"),
            })?;
        let local = SocketAddr::new(context.media.address, ports.port());
        let mut codecs = vec![caller.codec];
        for fallback in [Codec::Pcmu, Codec::Pcma] {
            if !codecs.contains(&fallback) {
                codecs.push(fallback);
            }
        }
        if caller.telephone_event.is_some() {
            codecs.push(Codec::TelephoneEvent);
        }
        let session_id = u64::from(rand::random::<u32>());
        let offer = sdp::offer(&codecs, local, Direction::SendRecv, session_id, 1);
        let mut forks = HashMap::new();
        for (contact, source) in targets.targets {
            let Some(target) = contact_uri(&contact) else {
                tracing::warn!(%contact, "a registered contact is not a SIP URI; skipped");
                continue;
            };
            let browser = if is_browser_transport(source.transport) {
                let events = caller.telephone_event.is_some();
                match BrowserOffer::new(context, caller.codec, events) {
                    Ok(browser) => Some(browser),
                    Err(why) => {
                        tracing::warn!(%why, %contact, "cannot offer a browser phone media");
                        continue;
                    }
                }
            } else {
                None
            };
            let body = match &browser {
                Some(browser) => Body::sdp(browser.sdp()),
                None => Body::sdp(offer.clone()),
            };
            let call_id = random_token();
            routes.add(&call_id);
            let invite = OutgoingInvite {
                target,
                from: format!(
                    "<sip:{}@{}>;tag={}",
                    caller_id.name,
                    targets.domain,
                    random_token()
                ),
                to: targets.to.clone(),
                call_id: call_id.clone(),
                body,
                destination: source,
                extra_headers: caller_id.headers.clone(),
            };
            match context.sip.invite(invite).await {
                Ok(tx) => {
                    let leg = cdr.add_leg(targets.role, &call_id, &contact).await;
                    let fork = Fork {
                        contact,
                        leg,
                        done: false,
                        browser,
                    };
                    forks.insert(tx, fork);
                }
                Err(error) => tracing::warn!(%error, %contact, "cannot ring a phone"),
            }
        }
        if forks.is_empty() {
            return Err(Unreachable {
                status: 480,
                reason: "Temporarily Unavailable",
                why: "no phone could be rung".to_owned(),
            });
        }
        Ok(Self {
            forks,
            ports: Some(ports),
            local,
            session_id,
            codecs,
        })
    }

    /// Takes one call event: a B-leg's response or answer, or not ours.
    pub async fn on_event(&mut self, context: &CallContext, cdr: &Cdr, event: CallEvent) -> Dialed {
        match event {
            CallEvent::Response { tx, response, .. } if self.forks.contains_key(&tx) => {
                let code = response.status_code.code();
                if (180..200).contains(&code) {
                    return Dialed::Ringing;
                }
                let Some(fork) = self.forks.get_mut(&tx).filter(|fork| !fork.done) else {
                    return Dialed::Nothing;
                };
                if code < 300 {
                    return Dialed::Nothing;
                }
                fork.done = true;
                if let Some(leg) = &fork.leg {
                    cdr.leg_setup_finished(leg, code).await;
                }
                if self.forks.values().all(|fork| fork.done) {
                    Dialed::Failed(code)
                } else {
                    Dialed::Nothing
                }
            }
            CallEvent::Answered {
                tx,
                dialog,
                response,
            } => {
                let Some(winner) = self.forks.remove(&tx).filter(|fork| !fork.done) else {
                    // A second phone answered before its CANCEL arrived.
                    hang_up(context, &dialog).await;
                    return Dialed::Nothing;
                };
                self.cancel_because(context, cdr, Some(COMPLETED_ELSEWHERE))
                    .await;
                if let Some(leg) = &winner.leg {
                    cdr.leg_setup_finished(leg, 200).await;
                }
                match self
                    .answered(dialog.clone(), &response, winner.leg, winner.browser)
                    .await
                {
                    Ok(side) => Dialed::Answered(side),
                    Err(why) => {
                        tracing::warn!(%why, contact = %winner.contact, "unusable answer from a phone");
                        hang_up(context, &dialog).await;
                        Dialed::Unusable(why)
                    }
                }
            }
            other => Dialed::NotMine(other),
        }
    }

    /// The answered phone's side, from its 2xx's SDP (a browser's answer
    /// starts its gateway).
    async fn answered(
        &mut self,
        dialog: DialogId,
        answer: &Response,
        leg: Option<String>,
        browser: Option<BrowserOffer>,
    ) -> Result<AgentSide, String> {
        let (negotiated, gateway) = match browser {
            Some(browser) => {
                let (gateway, negotiated) = browser.answered(&answer.body, self.local).await?;
                (negotiated, Some(gateway))
            }
            None => {
                let negotiated = std::str::from_utf8(&answer.body)
                    .map_err(|_| "the SDP is not UTF-8".to_owned())
                    .and_then(|text| SessionDescription::parse(text).map_err(|e| e.to_string()))
                    .and_then(|sdp| {
                        sdp::accept_answer(&self.codecs, &sdp).map_err(|e| e.to_string())
                    })?;
                (negotiated, None)
            }
        };
        let ports = self
            .ports
            .take()
            .ok_or_else(|| "a phone answered twice".to_owned())?;
        Ok(AgentSide {
            dialog,
            media: SideMedia {
                negotiated,
                local: self.local,
                session_id: self.session_id,
                version: 1,
                gateway: gateway.map(Box::new),
            },
            ports,
            leg,
        })
    }

    /// CANCELs every fork still ringing; their legs are recorded as
    /// cancelled (487), which their INVITEs will be answered with.
    pub async fn cancel_all(&mut self, context: &CallContext, cdr: &Cdr) {
        self.cancel_because(context, cdr, None).await;
    }

    /// [`Self::cancel_all`], the CANCELs saying why (`Reason`, RFC 3326).
    pub async fn cancel_because(&mut self, context: &CallContext, cdr: &Cdr, reason: Option<&str>) {
        let headers: Vec<_> = reason.map(reason_header).into_iter().collect();
        for (tx, fork) in &mut self.forks {
            if !fork.done {
                fork.done = true;
                context.sip.cancel_with(*tx, headers.clone());
                if let Some(leg) = &fork.leg {
                    cdr.leg_setup_finished(leg, 487).await;
                }
            }
        }
    }
}

/// Rings the callee, bridges the answer, and runs until either side hangs up.
pub(super) async fn run(
    context: &CallContext,
    start: &Start,
    cdr: &Cdr,
    callee: Callee<'_>,
    mut events: mpsc::UnboundedReceiver<CallEvent>,
    routes: LegRoutes,
    mut stopping: watch::Receiver<bool>,
) -> Ended {
    let offered = if start.invite.body.is_empty() {
        None
    } else {
        match negotiate_offer(&start.invite.body, PREFERENCES) {
            Ok(agreed) => Some(agreed),
            Err(why) => {
                let why = Some(why.as_str());
                return refuse(context, start, cdr, 488, "Not Acceptable Here", why).await;
            }
        }
    };
    let Ok(caller_ports) = context.media.ports.allocate() else {
        return refuse(context, start, cdr, 503, "Service Unavailable", None).await;
    };
    let caller_id = CallerId::of(context, &start.invite);
    let wanted = offered
        .as_ref()
        .map_or_else(late_offer_stand_in, |(_, negotiated)| *negotiated);
    let mut dialing =
        match Dialing::start(context, cdr, &routes, &callee, &wanted, &caller_id).await {
            Ok(dialing) => dialing,
            Err(unreachable) => {
                let why = Some(unreachable.why.as_str());
                let (status, reason) = (unreachable.status, unreachable.reason);
                return refuse(context, start, cdr, status, reason, why).await;
            }
        };
    let agent = match ring(
        context,
        start,
        cdr,
        &mut dialing,
        &mut events,
        &mut stopping,
    )
    .await
    {
        Ok(agent) => agent,
        Err(ended) => return ended,
    };
    let caller_media = SocketAddr::new(context.media.address, caller_ports.port());
    let session_id = u64::from(rand::random::<u32>());
    let late_codecs = [agent.media.negotiated.codec, Codec::TelephoneEvent];
    let sdp = match (&start.browser, &offered) {
        (Some(browser), _) => browser.answer_for(caller_media).await,
        (None, Some((offer, negotiated))) => {
            sdp::answer(offer, negotiated, caller_media, session_id, 1)
        }
        (None, None) => sdp::offer(
            &late_codecs,
            caller_media,
            Direction::SendRecv,
            session_id,
            1,
        ),
    };
    let ok = with_sdp(response_to(&start.invite, 200, "OK"), &sdp);
    let Ok(Some(dialog)) = context.sip.respond(start.tx, ok).await else {
        hang_up(context, &agent.dialog).await;
        return Ended::Cancelled;
    };
    cdr.caller_setup_finished(200).await;
    let negotiated = match offered {
        Some((_, negotiated)) => negotiated,
        None => match answer_in_ack(&mut events, &dialog, &late_codecs).await {
            Ok(negotiated) => negotiated,
            Err(why) => {
                tracing::warn!(%why, "the caller's ACK did not answer our offer");
                hang_up(context, &dialog).await;
                hang_up(context, &agent.dialog).await;
                return Ended::HungUp("late_offer_unanswered".to_owned());
            }
        },
    };
    let caller = CallerSide {
        caller_id,
        dialog,
        media: SideMedia {
            negotiated,
            local: caller_media,
            session_id,
            version: 1,
            gateway: None,
        },
        ports: caller_ports,
    };
    match Bridged::start(context, cdr, callee.tenant_id(), caller, agent).await {
        Ok(bridged) => {
            let talked = bridged.talk(context, cdr, &routes, events, stopping).await;
            settled(context, cdr, &routes, callee.tenant_id(), talked).await
        }
        Err(ended) => ended,
    }
}

/// What the phones are offered for a caller who sent no SDP: G.711 (μ-law
/// first) with telephone-events, the codecs every phone has.
fn late_offer_stand_in() -> Negotiated {
    Negotiated {
        codec: Codec::Pcmu,
        payload_type: 0,
        telephone_event: Some(101),
        remote: None,
        direction: Direction::SendRecv,
        ptime: 20,
    }
}

/// The caller's answer to the offer in our 200, from its ACK.
async fn answer_in_ack(
    events: &mut mpsc::UnboundedReceiver<CallEvent>,
    dialog: &DialogId,
    offered: &[Codec],
) -> Result<Negotiated, String> {
    loop {
        match events.recv().await {
            Some(CallEvent::Ack {
                dialog: acked,
                request,
            }) if acked == *dialog => {
                let text = std::str::from_utf8(&request.body)
                    .map_err(|_| "the SDP is not UTF-8".to_owned())?;
                let answer = SessionDescription::parse(text).map_err(|e| e.to_string())?;
                return sdp::accept_answer(offered, &answer).map_err(|e| e.to_string());
            }
            Some(CallEvent::AckTimeout { dialog: lost }) if lost == *dialog => {
                return Err("no ACK came".to_owned());
            }
            Some(other) => tracing::debug!(?other, "ignored while waiting for the ACK"),
            None => return Err("kefu is stopping".to_owned()),
        }
    }
}

/// Waits while the callee's phones ring: the caller hears ringing (180),
/// and gets the closest final status if every phone fails or none answers
/// in time. Returns the phone that answered.
async fn ring(
    context: &CallContext,
    start: &Start,
    cdr: &Cdr,
    dialing: &mut Dialing,
    events: &mut mpsc::UnboundedReceiver<CallEvent>,
    stopping: &mut watch::Receiver<bool>,
) -> Result<AgentSide, Ended> {
    let deadline = tokio::time::Instant::now() + RING_TIMEOUT;
    let mut told_ringing = false;
    loop {
        let event = tokio::select! {
            event = events.recv() => event,
            () = tokio::time::sleep_until(deadline) => {
                dialing.cancel_all(context, cdr).await;
                let why = Some("nobody answered");
                return Err(refuse(context, start, cdr, 480, "Temporarily Unavailable", why).await);
            }
            _ = stopping.changed() => {
                dialing.cancel_all(context, cdr).await;
                let busy = response_to(&start.invite, 503, "Service Unavailable");
                let _ = context.sip.respond(start.tx, busy).await;
                return Err(Ended::Shutdown);
            }
        };
        let Some(event) = event else {
            return Err(Ended::Shutdown);
        };
        if let CallEvent::Cancelled { tx, reason, .. } = &event {
            if *tx == start.tx {
                cdr.hangup_cause(reason.as_deref()).await;
                dialing
                    .cancel_because(context, cdr, reason.as_deref())
                    .await;
                cdr.caller_setup_finished(487).await;
                return Err(Ended::Cancelled);
            }
        }
        match dialing.on_event(context, cdr, event).await {
            Dialed::Ringing if !told_ringing => {
                told_ringing = true;
                let ringing = response_to(&start.invite, 180, "Ringing");
                let _ = context.sip.respond(start.tx, ringing).await;
            }
            Dialed::Failed(status) => {
                let (code, reason) = match status {
                    486 | 600 => (486, "Busy Here"),
                    603 => (603, "Decline"),
                    _ => (480, "Temporarily Unavailable"),
                };
                return Err(refuse(context, start, cdr, code, reason, None).await);
            }
            Dialed::Unusable(why) => {
                let why = Some(why.as_str());
                return Err(refuse(context, start, cdr, 488, "Not Acceptable Here", why).await);
            }
            Dialed::Answered(agent) => return Ok(agent),
            Dialed::NotMine(other) => tracing::debug!(?other, "ignored while ringing"),
            Dialed::Ringing | Dialed::Nothing => {}
        }
    }
}

/// Sends BYE in `dialog` (its 200 is not awaited).
pub(super) async fn hang_up(context: &CallContext, dialog: &DialogId) {
    hang_up_because(context, dialog, None).await;
}

/// [`hang_up`], the BYE saying why (`Reason`, RFC 3326): passed on from
/// the party who hung up.
pub(super) async fn hang_up_because(
    context: &CallContext,
    dialog: &DialogId,
    reason: Option<&str>,
) {
    let headers = reason.map(reason_header).into_iter().collect();
    let sent = context
        .sip
        .send_request_with(dialog, Method::Bye, None, headers)
        .await;
    if let Err(error) = sent {
        tracing::debug!(%error, "BYE not sent");
    }
}

/// The SIP URI inside a registered contact (`<sip:1001@192.0.2.7:5060;ob>`);
/// `None` for anything else (a `tel:` or garbage a phone registered).
fn contact_uri(contact: &str) -> Option<rsip::Uri> {
    let inner = contact
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map_or(contact, |(uri, _)| uri);
    let inner = inner.trim();
    let scheme = |prefix: &str| {
        inner
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
    };
    if !(scheme("sip:") || scheme("sips:")) {
        return None;
    }
    rsip::Uri::try_from(inner).ok()
}

fn random_token() -> String {
    format!("{:016x}", rand::random::<u64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_contact_uri_is_read_with_or_without_brackets() {
        let uri = contact_uri("<sip:1001@192.0.2.7:5060;transport=tcp>;expires=60").unwrap();
        assert!(
            uri.to_string()
                .eq_ignore_ascii_case("sip:1001@192.0.2.7:5060;transport=tcp")
        );
        assert!(contact_uri("sip:1001@192.0.2.7").is_some());
        assert!(contact_uri("<not a uri>").is_none());
        assert!(contact_uri("<tel:+4930123>").is_none());
        assert!(
            contact_uri("<sí:x>").is_none(),
            "no panic on a multibyte scheme"
        );
    }
}

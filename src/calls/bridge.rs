//! Calls kefu places onwards — to an agent's extension or out through a
//! trunk: the B2BUA rings every phone the agent has registered (parallel
//! forking, one INVITE per contact, each a new dialog with its own Call-ID
//! and tags) or the trunk's address, the first to answer wins and the others
//! get CANCEL (or BYE, when two answer at once), and the two legs are
//! bridged by the media relay — packet for packet, both legs anchored in
//! kefu, no decoding. The callee is offered the codec the caller negotiated
//! (plus telephone-events), so no transcoding is ever needed. Outbound trunks
//! are reached over UDP (TCP/TLS trunks need kefu to open connections, which
//! it does not yet).
//!
//! Before the answer the caller hears the agent's ringing (180); busy,
//! declined and unanswered forks map to the caller's final response; the
//! ring timeout and the caller's CANCEL end the forks. Once bridged, a BYE
//! from either side hangs up the other, and a re-INVITE from either side
//! (hold, resume, a new address) is answered on that side alone. A caller's INVITE without SDP (late
//! offer) is refused with 488 here: kefu needs the caller's codec to offer
//! it to the phones.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use kefu_media::driver::ports::PortPair;
use kefu_media::driver::relay_task::{RelayHandle, spawn_recorded_relay};
use kefu_media::g711::G711;
use kefu_media::relay::{PayloadMap, RelayConfig, Side};
use kefu_media::rtp::leg::LegConfig;
use kefu_media::sdp::{self, Codec, Direction, Negotiated, SessionDescription};
use kefu_signaling::dialog::{Body, DialogId};
use kefu_signaling::message::response_to;
use kefu_signaling::transaction::{Peer, TransactionId, Transport};
use kefu_signaling::uas::{CallEvent, OutgoingInvite};
use rsip::{Method, Request, Response};
use tokio::sync::{mpsc, watch};

use super::call::{Start, caller_number};
use super::cdr::Cdr;
use super::recording::CallRecording;
use super::session::{Ended, PREFERENCES, negotiate_offer, refuse, with_sdp, with_warning};
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
struct Unreachable {
    status: u16,
    reason: &'static str,
    why: String,
}

impl Callee<'_> {
    fn tenant_id(&self) -> &str {
        match self {
            Callee::Agent { tenant_id, .. } | Callee::Trunk { tenant_id, .. } => tenant_id,
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
                    role: "agent",
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

/// One INVITE to one of the agent's phones.
struct Fork {
    contact: String,
    leg: Option<String>,
    done: bool,
}

/// The answered call: both dialogs and the relay between them.
struct Bridged {
    caller: DialogId,
    agent: DialogId,
    relay: RelayHandle,
    codec: Codec,
    agent_leg: Option<String>,
    recording: Option<CallRecording>,
    /// Each side's SDP state, caller first, for re-INVITEs.
    sides: [SideMedia; 2],
}

/// What one side of the bridge agreed, and our SDP's identity towards it.
struct SideMedia {
    negotiated: Negotiated,
    local: SocketAddr,
    session_id: u64,
    version: u64,
}

/// Rings the agent, bridges the answer, and runs until either side hangs up.
pub(super) async fn run(
    context: &CallContext,
    start: &Start,
    cdr: &Cdr,
    callee: Callee<'_>,
    mut events: mpsc::UnboundedReceiver<CallEvent>,
    routes: LegRoutes,
    mut stopping: watch::Receiver<bool>,
) -> Ended {
    let (offer, negotiated) = match negotiate_offer(&start.invite.body, PREFERENCES) {
        Ok(agreed) => agreed,
        Err(why) => {
            let why = if start.invite.body.is_empty() {
                "calls to agents need an SDP offer in the INVITE".to_owned()
            } else {
                why
            };
            return refuse(context, start, cdr, 488, "Not Acceptable Here", Some(&why)).await;
        }
    };
    let targets = match callee.targets(context).await {
        Ok(targets) => targets,
        Err(unreachable) => {
            let why = Some(unreachable.why.as_str());
            return refuse(
                context,
                start,
                cdr,
                unreachable.status,
                unreachable.reason,
                why,
            )
            .await;
        }
    };
    let (caller_ports, agent_ports) = match (
        context.media.ports.allocate(),
        context.media.ports.allocate(),
    ) {
        (Ok(caller), Ok(agent)) => (caller, agent),
        _ => return refuse(context, start, cdr, 503, "Service Unavailable", None).await,
    };
    let agent_media = SocketAddr::new(context.media.address, agent_ports.port());
    let mut codecs = vec![negotiated.codec];
    if negotiated.telephone_event.is_some() {
        codecs.push(Codec::TelephoneEvent);
    }
    let session_id = u64::from(rand::random::<u32>());
    let agent_offer = sdp::offer(&codecs, agent_media, Direction::SendRecv, session_id, 1);
    let caller_name = caller_number(&start.invite).unwrap_or_else(|| "anonymous".to_owned());

    let mut forks: HashMap<TransactionId, Fork> = HashMap::new();
    for (contact, source) in targets.targets {
        let Some(target) = contact_uri(&contact) else {
            tracing::warn!(%contact, "a registered contact is not a SIP URI; skipped");
            continue;
        };
        let call_id = random_token();
        routes.add(&call_id);
        let invite = OutgoingInvite {
            target,
            from: format!(
                "<sip:{caller_name}@{}>;tag={}",
                targets.domain,
                random_token()
            ),
            to: targets.to.clone(),
            call_id: call_id.clone(),
            body: Body::sdp(agent_offer.clone()),
            destination: source,
        };
        match context.sip.invite(invite).await {
            Ok(tx) => {
                let leg = cdr.add_leg(targets.role, &call_id, &contact).await;
                forks.insert(
                    tx,
                    Fork {
                        contact,
                        leg,
                        done: false,
                    },
                );
            }
            Err(error) => tracing::warn!(%error, %contact, "cannot ring a phone"),
        }
    }
    if forks.is_empty() {
        return refuse(context, start, cdr, 480, "Temporarily Unavailable", None).await;
    }

    let ringing = Ringing {
        context,
        tenant_id: callee.tenant_id(),
        agent_media,
        agent_session: session_id,
        start,
        cdr,
        offer: &offer,
        negotiated,
        codecs: &codecs,
        forks,
    };
    let bridged = match ringing
        .wait_for_answer(&mut events, &mut stopping, caller_ports, agent_ports)
        .await
    {
        Ok(bridged) => bridged,
        Err(ended) => return ended,
    };
    talk(context, cdr, bridged, events, stopping).await
}

/// The call while the agent's phones ring.
struct Ringing<'a> {
    context: &'a CallContext,
    tenant_id: &'a str,
    /// Our media address towards the callee, and our offer's session id.
    agent_media: SocketAddr,
    agent_session: u64,
    start: &'a Start,
    cdr: &'a Cdr,
    offer: &'a SessionDescription,
    negotiated: Negotiated,
    codecs: &'a [Codec],
    forks: HashMap<TransactionId, Fork>,
}

impl Ringing<'_> {
    async fn wait_for_answer(
        mut self,
        events: &mut mpsc::UnboundedReceiver<CallEvent>,
        stopping: &mut watch::Receiver<bool>,
        caller_ports: PortPair,
        agent_ports: PortPair,
    ) -> Result<Bridged, Ended> {
        let deadline = tokio::time::Instant::now() + RING_TIMEOUT;
        let mut told_ringing = false;
        loop {
            let event = tokio::select! {
                event = events.recv() => event,
                () = tokio::time::sleep_until(deadline) => {
                    self.cancel_all();
                    let no_answer = response_to(&self.start.invite, 480, "Temporarily Unavailable");
                    let why = "nobody answered";
                    let _ = self.context.sip.respond(self.start.tx, with_warning(no_answer, why)).await;
                    self.cdr.caller_setup_finished(480).await;
                    return Err(Ended::Refused(480));
                }
                _ = stopping.changed() => {
                    self.cancel_all();
                    let busy = response_to(&self.start.invite, 503, "Service Unavailable");
                    let _ = self.context.sip.respond(self.start.tx, busy).await;
                    return Err(Ended::Shutdown);
                }
            };
            match event {
                None => return Err(Ended::Shutdown),
                Some(CallEvent::Cancelled { tx, .. }) if tx == self.start.tx => {
                    self.cancel_all();
                    self.cdr.caller_setup_finished(487).await;
                    return Err(Ended::Cancelled);
                }
                Some(CallEvent::Response { tx, response, .. }) => {
                    let code = response.status_code.code();
                    if (180..200).contains(&code) && !told_ringing {
                        told_ringing = true;
                        let ringing = response_to(&self.start.invite, 180, "Ringing");
                        let _ = self.context.sip.respond(self.start.tx, ringing).await;
                    }
                    if code >= 300 {
                        if let Some(fork) = self.forks.get_mut(&tx) {
                            fork.done = true;
                            if let Some(leg) = &fork.leg {
                                self.cdr.leg_setup_finished(leg, code).await;
                            }
                        }
                        if self.forks.values().all(|fork| fork.done) {
                            return Err(self.fail(code).await);
                        }
                    }
                }
                Some(CallEvent::Answered {
                    tx,
                    dialog,
                    response,
                }) => {
                    return self
                        .bridge(tx, dialog, &response, caller_ports, agent_ports)
                        .await;
                }
                Some(other) => tracing::debug!(?other, "ignored while ringing"),
            }
        }
    }

    /// Every fork failed: the caller gets the closest status.
    async fn fail(&self, status: u16) -> Ended {
        let (code, reason) = match status {
            486 | 600 => (486, "Busy Here"),
            603 => (603, "Decline"),
            _ => (480, "Temporarily Unavailable"),
        };
        let response = response_to(&self.start.invite, code, reason);
        let _ = self.context.sip.respond(self.start.tx, response).await;
        self.cdr.caller_setup_finished(code).await;
        Ended::Refused(code)
    }

    /// The agent answered on fork `tx`: cancel the others, start the relay,
    /// answer the caller.
    async fn bridge(
        mut self,
        tx: TransactionId,
        dialog: DialogId,
        answer: &Response,
        caller_ports: PortPair,
        agent_ports: PortPair,
    ) -> Result<Bridged, Ended> {
        let winner = self.forks.remove(&tx);
        self.cancel_all();
        let agent_leg = winner.as_ref().and_then(|fork| fork.leg.clone());
        if let Some(leg) = &agent_leg {
            self.cdr.leg_setup_finished(leg, 200).await;
        }
        let agreed = std::str::from_utf8(&answer.body)
            .map_err(|_| "the agent's SDP is not UTF-8".to_owned())
            .and_then(|text| SessionDescription::parse(text).map_err(|e| e.to_string()))
            .and_then(|sdp| sdp::accept_answer(self.codecs, &sdp).map_err(|e| e.to_string()));
        let agent_side = match agreed {
            Ok(agent_side) => agent_side,
            Err(why) => {
                tracing::warn!(%why, contact = ?winner.map(|f| f.contact), "unusable answer from the agent's phone");
                let _ = self
                    .context
                    .sip
                    .send_request(&dialog, Method::Bye, None)
                    .await;
                let response = response_to(&self.start.invite, 488, "Not Acceptable Here");
                let _ = self
                    .context
                    .sip
                    .respond(self.start.tx, with_warning(response, &why))
                    .await;
                self.cdr.caller_setup_finished(488).await;
                return Err(Ended::Refused(488));
            }
        };
        let caller_media = SocketAddr::new(self.context.media.address, caller_ports.port());
        let recording = match self.cdr.id() {
            Some(call) if self.context.record => {
                CallRecording::start(self.context, call, self.tenant_id).await
            }
            _ => None,
        };
        let tap = recording.as_ref().map(|recording| {
            recording.tap(
                (self.negotiated.payload_type, law(self.negotiated.codec)),
                (agent_side.payload_type, law(agent_side.codec)),
            )
        });
        let relay = match spawn_recorded_relay(
            relay_config(&self.negotiated, &agent_side),
            caller_ports,
            agent_ports,
            tap,
        ) {
            Ok(relay) => relay,
            Err(error) => {
                tracing::error!(%error, "cannot start the relay");
                let _ = self
                    .context
                    .sip
                    .send_request(&dialog, Method::Bye, None)
                    .await;
                let response = response_to(&self.start.invite, 500, "Server Internal Error");
                let _ = self.context.sip.respond(self.start.tx, response).await;
                self.cdr.caller_setup_finished(500).await;
                return Err(Ended::Refused(500));
            }
        };
        let session_id = u64::from(rand::random::<u32>());
        let sdp = sdp::answer(self.offer, &self.negotiated, caller_media, session_id, 1);
        let ok = with_sdp(response_to(&self.start.invite, 200, "OK"), &sdp);
        let sides = [
            SideMedia {
                negotiated: self.negotiated,
                local: caller_media,
                session_id,
                version: 1,
            },
            SideMedia {
                negotiated: agent_side,
                local: self.agent_media,
                session_id: self.agent_session,
                version: 1,
            },
        ];
        let caller = match self.context.sip.respond(self.start.tx, ok).await {
            Ok(Some(caller)) => caller,
            _ => {
                let _ = self
                    .context
                    .sip
                    .send_request(&dialog, Method::Bye, None)
                    .await;
                let _ = relay.stop().await;
                return Err(Ended::Cancelled);
            }
        };
        self.cdr.caller_setup_finished(200).await;
        Ok(Bridged {
            caller,
            agent: dialog,
            relay,
            codec: self.negotiated.codec,
            agent_leg,
            recording,
            sides,
        })
    }

    /// CANCELs every fork still ringing.
    fn cancel_all(&mut self) {
        for (tx, fork) in &mut self.forks {
            if !fork.done {
                fork.done = true;
                self.context.sip.cancel(*tx);
            }
        }
    }
}

/// The bridged call until one side hangs up.
async fn talk(
    context: &CallContext,
    cdr: &Cdr,
    mut bridged: Bridged,
    mut events: mpsc::UnboundedReceiver<CallEvent>,
    mut stopping: watch::Receiver<bool>,
) -> Ended {
    let ended = loop {
        let event = tokio::select! {
            event = events.recv() => event,
            _ = stopping.changed() => {
                hang_up(context, &bridged.caller).await;
                hang_up(context, &bridged.agent).await;
                break Ended::Shutdown;
            }
        };
        match event {
            None => break Ended::Shutdown,
            Some(CallEvent::Bye { dialog, .. }) if dialog == bridged.caller => {
                hang_up(context, &bridged.agent).await;
                break Ended::CallerHungUp;
            }
            Some(CallEvent::Bye { dialog, .. }) if dialog == bridged.agent => {
                hang_up(context, &bridged.caller).await;
                break Ended::CalleeHungUp;
            }
            Some(CallEvent::AckTimeout { .. }) => {
                hang_up(context, &bridged.caller).await;
                hang_up(context, &bridged.agent).await;
                break Ended::AckTimeout;
            }
            Some(CallEvent::SessionExpired { .. }) => {
                hang_up(context, &bridged.caller).await;
                hang_up(context, &bridged.agent).await;
                break Ended::HungUp("session_expired".to_owned());
            }
            Some(CallEvent::Answered { dialog, .. }) => {
                // A second phone answered before its CANCEL arrived.
                hang_up(context, &dialog).await;
            }
            Some(CallEvent::Request {
                tx,
                dialog,
                request,
            }) => {
                let side = if dialog == bridged.caller {
                    Side::Caller
                } else {
                    Side::Agent
                };
                let response = bridged.answer_in_call(side, &request).await;
                let _ = context.sip.respond(tx, response).await;
            }
            Some(_) => {}
        }
    };
    match bridged.relay.stop().await {
        Ok(stats) => {
            cdr.caller_media(bridged.codec, &stats.caller).await;
            if let Some(leg) = &bridged.agent_leg {
                cdr.leg_media(leg, bridged.codec, &stats.agent).await;
            }
        }
        Err(error) => tracing::warn!(%error, "the relay ended badly"),
    }
    if let Some(recording) = bridged.recording {
        recording.finish().await;
    }
    ended
}

/// The G.711 law of a negotiated codec (the relay only bridges G.711).
fn law(codec: Codec) -> G711 {
    match codec {
        Codec::Pcma => G711::Pcma,
        _ => G711::Pcmu,
    }
}

impl Bridged {
    /// The answer to a request inside one side's dialog. A new offer (hold,
    /// resume, a phone that moved) is answered on that side alone: the codec
    /// stays, the relay follows a new address and payload types, and the
    /// other side is not disturbed. INFO and offer-less refreshes get 200.
    async fn answer_in_call(&mut self, side: Side, request: &Request) -> Response {
        match request.method {
            Method::Invite | Method::Update if !request.body.is_empty() => {
                match self.renegotiate(side, &request.body).await {
                    Ok(sdp) => with_sdp(response_to(request, 200, "OK"), &sdp),
                    Err(why) => {
                        with_warning(response_to(request, 488, "Not Acceptable Here"), &why)
                    }
                }
            }
            Method::Invite | Method::Update | Method::Info => response_to(request, 200, "OK"),
            _ => response_to(request, 405, "Method Not Allowed"),
        }
    }

    async fn renegotiate(&mut self, side: Side, body: &[u8]) -> Result<String, String> {
        let index = match side {
            Side::Caller => 0,
            Side::Agent => 1,
        };
        let current = &self.sides[index];
        let keep = [current.negotiated.codec, Codec::TelephoneEvent];
        let (offer, renewed) = negotiate_offer(body, &keep)?;
        if renewed.remote != current.negotiated.remote {
            self.relay
                .repoint(side, renewed.remote)
                .await
                .map_err(|e| e.to_string())?;
        }
        let changed_types = renewed.payload_type != current.negotiated.payload_type
            || renewed.telephone_event != current.negotiated.telephone_event;
        let current = &mut self.sides[index];
        current.negotiated = renewed;
        current.version += 1;
        let answer = sdp::answer(
            &offer,
            &current.negotiated,
            current.local,
            current.session_id,
            current.version,
        );
        if changed_types {
            let config = relay_config(&self.sides[0].negotiated, &self.sides[1].negotiated);
            self.relay
                .set_payload_maps(config.caller_to_agent, config.agent_to_caller)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(answer)
    }
}

async fn hang_up(context: &CallContext, dialog: &DialogId) {
    if let Err(error) = context.sip.send_request(dialog, Method::Bye, None).await {
        tracing::debug!(%error, "BYE not sent");
    }
}

/// The relay between what the caller and the agent's phone negotiated:
/// each side's payload types mapped to the other's.
fn relay_config(caller: &Negotiated, agent: &Negotiated) -> RelayConfig {
    let leg = |side: &Negotiated| {
        let mut config = LegConfig::new(rand::random(), rand::random(), rand::random());
        config.remote = side.remote;
        config.telephone_event = side.telephone_event;
        config
    };
    let map = |from: &Negotiated, to: &Negotiated| {
        let mut pairs = vec![(from.payload_type, to.payload_type)];
        if let (Some(a), Some(b)) = (from.telephone_event, to.telephone_event) {
            pairs.push((a, b));
        }
        PayloadMap::Mapped(pairs)
    };
    RelayConfig {
        caller: leg(caller),
        agent: leg(agent),
        caller_to_agent: map(caller, agent),
        agent_to_caller: map(agent, caller),
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

    #[test]
    fn payload_types_are_mapped_each_way_with_telephone_events() {
        let caller = Negotiated {
            codec: Codec::Pcmu,
            payload_type: 0,
            telephone_event: Some(101),
            remote: None,
            direction: Direction::SendRecv,
            ptime: 20,
        };
        let agent = Negotiated {
            telephone_event: Some(96),
            ..caller
        };
        let config = relay_config(&caller, &agent);
        assert_eq!(
            config.caller_to_agent,
            PayloadMap::Mapped(vec![(0, 0), (101, 96)])
        );
        assert_eq!(
            config.agent_to_caller,
            PayloadMap::Mapped(vec![(0, 0), (96, 101)])
        );
        let plain = Negotiated {
            telephone_event: None,
            ..agent
        };
        let config = relay_config(&caller, &plain);
        assert_eq!(config.caller_to_agent, PayloadMap::Mapped(vec![(0, 0)]));
    }
}

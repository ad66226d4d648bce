//! The caller's leg once kefu answers it — or starts early media (183 with
//! SDP, the INVITE pending until [`Session::confirm`]): SDP offer/answer
//! (RFC 3264, with late offers: an INVITE without SDP gets our offer in the
//! 200 and its answer in the ACK), the media endpoint anchored in kefu, and the
//! signalling that can happen during the call — re-INVITE/UPDATE (hold,
//! codec or address change), INFO, BYE from either side, the ACK that never
//! comes, and shutdown. What the call *does* with the media (echo, IVR) is
//! up to its caller, which reads [`Happening`]s from [`Session::next`].

use std::net::SocketAddr;

use kefu_media::driver::endpoint_task::{EndpointHandle, spawn_endpoint};
use kefu_media::driver::webrtc_task::WebRtcHandle;
use kefu_media::endpoint::{EndpointConfig, EndpointEvent};
use kefu_media::sdp::{self, Codec, Direction, Negotiated, SessionDescription};
use kefu_signaling::dialog::{Body, DialogId};
use kefu_signaling::message::response_to;
use kefu_signaling::transaction::TransactionId;
use kefu_signaling::uas::CallEvent;
use rsip::headers::{ContentType, UntypedHeader, Warning};
use rsip::{Header, Method, Request, Response};
use tokio::sync::{mpsc, watch};

use super::CallContext;
use super::bridge::CallerId;
use super::call::Start;
use super::cdr::Cdr;

/// The codecs we answer with, in order of preference: G.711 first (relayed
/// untouched to phones, cheapest to decode), Opus for callers that offer
/// nothing else (transcoded where the other side has no Opus).
pub(super) const PREFERENCES: &[Codec] =
    &[Codec::Pcmu, Codec::Pcma, Codec::Opus, Codec::TelephoneEvent];

/// How a call ended, as the CDR says it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Ended {
    /// The caller sent BYE.
    CallerHungUp,
    /// The party kefu called onwards (an agent, a trunk) sent BYE.
    CalleeHungUp,
    /// The caller cancelled before the answer.
    Cancelled,
    /// We refused the INVITE with this status.
    Refused(u16),
    /// Our 2xx was never acknowledged.
    AckTimeout,
    /// kefu is shutting down.
    Shutdown,
    /// The callee went on in another call (an attended transfer joined
    /// them to that call's caller), and the caller was hung up.
    Transferred,
    /// kefu hung up for this reason (the flow ended, media failed, ...).
    HungUp(String),
}

impl Ended {
    /// The CDR's `end_reason`.
    pub fn reason(&self) -> String {
        match self {
            Self::CallerHungUp => "caller_hangup".to_owned(),
            Self::CalleeHungUp => "callee_hangup".to_owned(),
            Self::Cancelled => "cancelled".to_owned(),
            Self::Refused(status) => format!("refused_{status}"),
            Self::AckTimeout => "ack_timeout".to_owned(),
            Self::Shutdown => "shutdown".to_owned(),
            Self::Transferred => "transferred".to_owned(),
            Self::HungUp(why) => format!("kefu_hangup:{why}"),
        }
    }
}

/// What the call's logic hears from [`Session::next`].
#[derive(Debug)]
pub(super) enum Happening {
    /// Something from the media (a key press, a prompt finished).
    Media(EndpointEvent),
    /// The media started late: the ACK brought the answer to our offer.
    MediaStarted,
    /// The call is over; the session has hung up if it was its part to.
    Ended(Ended),
    /// An event of another dialog of the call (a B-leg kefu placed).
    Other(CallEvent),
}

/// The answered caller leg. See the [module docs](self).
pub(super) struct Session {
    context: CallContext,
    /// Who calls, as phones rung for the call are told.
    caller_id: CallerId,
    stage: Stage,
    media: Media,
    session_id: u64,
    sdp_version: u64,
    events: mpsc::UnboundedReceiver<CallEvent>,
    stopping: watch::Receiver<bool>,
}

/// Where the caller's INVITE stands.
enum Stage {
    /// 183 sent with our SDP: media runs, the INVITE waits for its final
    /// response.
    Early {
        tx: TransactionId,
        invite: Box<Request>,
        sdp: String,
    },
    /// 200 sent: the dialog.
    Confirmed(DialogId),
}

/// An answered caller leg handed to a bridge. See [`Session::into_caller_leg`].
pub(super) struct CallerLeg {
    /// Who calls, as phones rung for the call are told.
    pub caller_id: CallerId,
    pub dialog: DialogId,
    /// The leg's media endpoint, whose ports the bridge's relay takes over.
    pub endpoint: EndpointHandle,
    pub media: SideMedia,
    pub events: mpsc::UnboundedReceiver<CallEvent>,
    pub stopping: watch::Receiver<bool>,
}

/// What one side of a call agreed in SDP, and our SDP's identity towards
/// it (for answering its re-INVITEs).
pub(super) struct SideMedia {
    pub negotiated: Negotiated,
    pub local: SocketAddr,
    pub session_id: u64,
    pub version: u64,
    /// The gateway in front of a browser phone: it runs as long as this
    /// side is on the call (stops when dropped) and answers the browser's
    /// new offers (hold, resume).
    pub gateway: Option<Box<WebRtcHandle>>,
}

/// The media side: running, or waiting for the ACK's answer to our offer.
enum Media {
    Running {
        endpoint: EndpointHandle,
        negotiated: Negotiated,
        local: SocketAddr,
    },
    AwaitingAnswer {
        ports: kefu_media::driver::ports::PortPair,
        local: SocketAddr,
    },
    Stopped,
}

impl Session {
    /// Answers the caller's INVITE with media anchored in kefu: 200 with our
    /// SDP. Refuses (488 with a `Warning` saying why) an offer kefu cannot
    /// take, and 503 when no RTP port is free.
    pub async fn answer(
        context: &CallContext,
        start: &Start,
        cdr: &Cdr,
        events: mpsc::UnboundedReceiver<CallEvent>,
        stopping: watch::Receiver<bool>,
    ) -> Result<Self, Ended> {
        Self::open(context, start, cdr, (events, stopping), false).await
    }

    /// Starts media before the answer: 183 Session Progress with our SDP
    /// (early media, RFC 3960), the INVITE still pending until
    /// [`Self::confirm`]. An INVITE without SDP is answered at once instead
    /// (our offer needs the 200, without reliable provisionals).
    pub async fn early(
        context: &CallContext,
        start: &Start,
        cdr: &Cdr,
        events: mpsc::UnboundedReceiver<CallEvent>,
        stopping: watch::Receiver<bool>,
    ) -> Result<Self, Ended> {
        let early = !start.invite.body.is_empty();
        Self::open(context, start, cdr, (events, stopping), early).await
    }

    async fn open(
        context: &CallContext,
        start: &Start,
        cdr: &Cdr,
        (events, stopping): (mpsc::UnboundedReceiver<CallEvent>, watch::Receiver<bool>),
        early: bool,
    ) -> Result<Self, Ended> {
        let session_id = u64::from(rand::random::<u32>());
        let ports = match context.media.ports.allocate() {
            Ok(ports) => ports,
            Err(error) => {
                tracing::warn!(%error, "no RTP port for a call");
                return Err(refuse(context, start, cdr, 503, "Service Unavailable", None).await);
            }
        };
        let local = SocketAddr::new(context.media.address, ports.port());
        let (media, sdp) = if start.invite.body.is_empty() {
            let offer = sdp::offer(PREFERENCES, local, Direction::SendRecv, session_id, 1);
            (Media::AwaitingAnswer { ports, local }, offer)
        } else {
            let (offer, negotiated) = match negotiate_offer(&start.invite.body, PREFERENCES) {
                Ok(agreed) => agreed,
                Err(why) => {
                    let refused =
                        refuse(context, start, cdr, 488, "Not Acceptable Here", Some(&why));
                    return Err(refused.await);
                }
            };
            let answer = sdp::answer(&offer, &negotiated, local, session_id, 1);
            let endpoint = match start_endpoint(&negotiated, ports) {
                Ok(endpoint) => endpoint,
                Err(why) => {
                    tracing::error!(%why, "cannot start the call's media");
                    return Err(
                        refuse(context, start, cdr, 500, "Server Internal Error", None).await,
                    );
                }
            };
            let media = Media::Running {
                endpoint,
                negotiated,
                local,
            };
            (media, answer)
        };
        let sdp = match &start.browser {
            Some(browser) => browser.answer_for(local).await,
            None => sdp,
        };
        let stage = if early {
            let progress = with_sdp(response_to(&start.invite, 183, "Session Progress"), &sdp);
            if context.sip.respond(start.tx, progress).await.is_err() {
                return Err(Ended::Cancelled);
            }
            Stage::Early {
                tx: start.tx,
                invite: Box::new(start.invite.clone()),
                sdp,
            }
        } else {
            let ok = with_sdp(response_to(&start.invite, 200, "OK"), &sdp);
            let dialog = match context.sip.respond(start.tx, ok).await {
                Ok(Some(dialog)) => dialog,
                Ok(None) | Err(_) => return Err(Ended::Cancelled),
            };
            cdr.caller_setup_finished(200).await;
            Stage::Confirmed(dialog)
        };
        Ok(Self {
            context: context.clone(),
            caller_id: CallerId::of(context, &start.invite),
            stage,
            media,
            session_id,
            sdp_version: 1,
            events,
            stopping,
        })
    }

    /// The endpoint, once media runs.
    pub fn endpoint(&self) -> Option<&EndpointHandle> {
        match &self.media {
            Media::Running { endpoint, .. } => Some(endpoint),
            _ => None,
        }
    }

    /// What the caller agreed, once media runs.
    pub fn negotiated(&self) -> Option<&Negotiated> {
        match &self.media {
            Media::Running { negotiated, .. } => Some(negotiated),
            _ => None,
        }
    }

    /// Waits for the next thing the call's logic must hear about, handling
    /// the signalling in between.
    pub async fn next(&mut self) -> Happening {
        loop {
            let media_event = async {
                match &mut self.media {
                    Media::Running { endpoint, .. } => endpoint.next_event().await,
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                event = self.events.recv() => match event {
                    Some(event) => {
                        if let Some(happening) = self.on_signal(event).await {
                            return happening;
                        }
                    }
                    None => return Happening::Ended(Ended::Shutdown),
                },
                Some(event) = media_event => return Happening::Media(event),
                _ = self.stopping.changed() => {
                    self.hang_up().await;
                    return Happening::Ended(Ended::Shutdown);
                }
            }
        }
    }

    /// Whether the call is still in early media (183 sent, no 200 yet).
    pub fn is_early(&self) -> bool {
        matches!(self.stage, Stage::Early { .. })
    }

    /// Answers a call in early media: 200 with the SDP of the 183, so the
    /// media goes on as it was.
    pub async fn confirm(&mut self, cdr: &Cdr) -> Result<(), Ended> {
        let Stage::Early { tx, invite, sdp } = &self.stage else {
            return Ok(());
        };
        let ok = with_sdp(response_to(invite, 200, "OK"), sdp);
        match self.context.sip.respond(*tx, ok).await {
            Ok(Some(dialog)) => {
                self.stage = Stage::Confirmed(dialog);
                cdr.caller_setup_finished(200).await;
                Ok(())
            }
            Ok(None) | Err(_) => Err(Ended::Cancelled),
        }
    }

    /// Sends BYE (the dialog ends at once; its 200 is not awaited); in
    /// early media, answers the INVITE with 480 instead.
    pub async fn hang_up(&mut self) {
        match &self.stage {
            Stage::Confirmed(dialog) => {
                let sent = self.context.sip.send_request(dialog, Method::Bye, None);
                if let Err(error) = sent.await {
                    tracing::debug!(%error, "BYE not sent");
                }
            }
            Stage::Early { tx, invite, .. } => {
                let refused = response_to(invite, 480, "Temporarily Unavailable");
                if let Err(error) = self.context.sip.respond(*tx, refused).await {
                    tracing::debug!(%error, "final response not sent");
                }
            }
        }
    }

    /// Stops the media and records its quality on the caller's leg.
    pub async fn finish(self, cdr: &Cdr) {
        if let Media::Running {
            endpoint,
            negotiated,
            ..
        } = self.media
        {
            match endpoint.stop().await {
                Ok(stats) => cdr.caller_media(negotiated.codec, &stats).await,
                Err(error) => tracing::warn!(%error, "the call's media ended badly"),
            }
        }
    }

    /// The answered leg back from a bridge that let it go (its agent sent
    /// it to a queue): the dialog as it was, media on `leg.endpoint`.
    pub fn from_caller_leg(context: &CallContext, leg: CallerLeg) -> Self {
        Self {
            context: context.clone(),
            caller_id: leg.caller_id,
            stage: Stage::Confirmed(leg.dialog),
            media: Media::Running {
                endpoint: leg.endpoint,
                negotiated: leg.media.negotiated,
                local: leg.media.local,
            },
            session_id: leg.media.session_id,
            sdp_version: leg.media.version,
            events: leg.events,
            stopping: leg.stopping,
        }
    }

    /// Who calls, as phones rung for the call are told.
    pub fn caller_id(&self) -> &CallerId {
        &self.caller_id
    }

    /// Gives up the answered leg to a bridge: its dialog, signalling, and
    /// media (the endpoint, to release its ports to a relay). A session whose
    /// media has not started cannot be bridged: it hangs up.
    pub async fn into_caller_leg(mut self) -> Result<CallerLeg, Ended> {
        let dialog = match &self.stage {
            Stage::Confirmed(dialog) => dialog.clone(),
            Stage::Early { .. } => {
                self.hang_up().await;
                return Err(Ended::HungUp("not_answered".to_owned()));
            }
        };
        let media = std::mem::replace(&mut self.media, Media::Stopped);
        let Media::Running {
            endpoint,
            negotiated,
            local,
        } = media
        else {
            self.hang_up().await;
            return Err(Ended::HungUp("no_media".to_owned()));
        };
        Ok(CallerLeg {
            caller_id: self.caller_id,
            dialog,
            endpoint,
            media: SideMedia {
                negotiated,
                local,
                session_id: self.session_id,
                version: self.sdp_version,
                gateway: None,
            },
            events: self.events,
            stopping: self.stopping,
        })
    }

    /// Handles one signalling event; returns what the call's logic must hear.
    async fn on_signal(&mut self, event: CallEvent) -> Option<Happening> {
        let ours = match (&event, &self.stage) {
            (
                CallEvent::Ack { dialog, .. }
                | CallEvent::AckTimeout { dialog }
                | CallEvent::SessionExpired { dialog }
                | CallEvent::Request { dialog, .. }
                | CallEvent::Bye { dialog, .. },
                Stage::Confirmed(ours),
            ) => dialog == ours,
            (CallEvent::Cancelled { tx, .. }, Stage::Early { tx: invite, .. }) => {
                // The core answered 200 to the CANCEL and 487 to the INVITE.
                return (tx == invite).then_some(Happening::Ended(Ended::Cancelled));
            }
            (CallEvent::Invite { .. } | CallEvent::Cancelled { .. }, _) => return None,
            _ => false,
        };
        if !ours {
            return Some(Happening::Other(event));
        }
        match event {
            CallEvent::Ack { request, .. } => match self.take_late_answer(&request) {
                Ok(true) => Some(Happening::MediaStarted),
                Ok(false) => None,
                Err(why) => {
                    tracing::info!(%why, "the ACK's SDP is unusable; hanging up");
                    self.hang_up().await;
                    Some(Happening::Ended(Ended::HungUp("bad_sdp_in_ack".to_owned())))
                }
            },
            CallEvent::AckTimeout { .. } => {
                self.hang_up().await;
                Some(Happening::Ended(Ended::AckTimeout))
            }
            CallEvent::SessionExpired { .. } => {
                self.hang_up().await;
                Some(Happening::Ended(Ended::HungUp(
                    "session_expired".to_owned(),
                )))
            }
            CallEvent::Bye { .. } => Some(Happening::Ended(Ended::CallerHungUp)),
            CallEvent::Request { tx, request, .. } => {
                self.answer_in_dialog(tx, &request).await;
                None
            }
            _ => None,
        }
    }

    /// Starts the media from the ACK's answer to the offer in our 200;
    /// returns whether it did (false: the media was running already).
    fn take_late_answer(&mut self, ack: &Request) -> Result<bool, String> {
        if !matches!(self.media, Media::AwaitingAnswer { .. }) {
            return Ok(false);
        }
        let Media::AwaitingAnswer { ports, local } =
            std::mem::replace(&mut self.media, Media::Stopped)
        else {
            return Ok(false);
        };
        let text = std::str::from_utf8(&ack.body).map_err(|_| "the SDP is not UTF-8")?;
        let answer = SessionDescription::parse(text).map_err(|e| e.to_string())?;
        let negotiated = sdp::accept_answer(PREFERENCES, &answer).map_err(|e| e.to_string())?;
        let endpoint = start_endpoint(&negotiated, ports)?;
        self.media = Media::Running {
            endpoint,
            negotiated,
            local,
        };
        Ok(true)
    }

    /// Answers a request inside the dialog: re-INVITE and UPDATE renegotiate
    /// (hold, new address), INFO is acknowledged, the rest is not allowed.
    async fn answer_in_dialog(&mut self, tx: TransactionId, request: &Request) {
        let response = match request.method {
            Method::Invite | Method::Update if !request.body.is_empty() => {
                match self.renegotiate(request).await {
                    Ok(sdp) => with_sdp(response_to(request, 200, "OK"), &sdp),
                    Err(why) => {
                        with_warning(response_to(request, 488, "Not Acceptable Here"), &why)
                    }
                }
            }
            Method::Invite | Method::Update | Method::Info => response_to(request, 200, "OK"),
            _ => response_to(request, 405, "Method Not Allowed"),
        };
        if let Err(error) = self.context.sip.respond(tx, response).await {
            tracing::debug!(%error, "in-dialog answer not sent");
        }
    }

    /// Takes a new offer in the dialog: same codec family, possibly a new
    /// address or direction (hold). Returns our answer.
    async fn renegotiate(&mut self, request: &Request) -> Result<String, String> {
        let text = std::str::from_utf8(&request.body).map_err(|_| "the SDP is not UTF-8")?;
        let offer = SessionDescription::parse(text).map_err(|e| e.to_string())?;
        let Media::Running {
            endpoint,
            negotiated,
            local,
        } = &mut self.media
        else {
            return Err("no media to renegotiate yet".to_owned());
        };
        let renewed = sdp::negotiate(&offer, &[negotiated.codec, Codec::TelephoneEvent])
            .map_err(|e| e.to_string())?;
        if renewed.remote != negotiated.remote {
            endpoint
                .repoint(renewed.remote)
                .await
                .map_err(|e| e.to_string())?;
        }
        *negotiated = renewed;
        self.sdp_version += 1;
        Ok(sdp::answer(
            &offer,
            negotiated,
            *local,
            self.session_id,
            self.sdp_version,
        ))
    }
}

/// Reads an SDP offer and picks what to answer from `preferences`; the error
/// says what was wrong, for a 488's `Warning`.
pub(super) fn negotiate_offer(
    body: &[u8],
    preferences: &[Codec],
) -> Result<(SessionDescription, Negotiated), String> {
    let text = std::str::from_utf8(body).map_err(|_| "the SDP is not UTF-8".to_owned())?;
    let offer = SessionDescription::parse(text).map_err(|e| e.to_string())?;
    let negotiated = sdp::negotiate(&offer, preferences).map_err(|e| e.to_string())?;
    Ok((offer, negotiated))
}

/// Starts the endpoint for what was agreed, on `ports`.
pub(super) fn start_endpoint(
    negotiated: &Negotiated,
    ports: kefu_media::driver::ports::PortPair,
) -> Result<EndpointHandle, String> {
    let (payload_type, codec) = super::legs::audio(negotiated)?;
    let config = EndpointConfig {
        leg: super::legs::leg_config(negotiated),
        codec,
        payload_type,
        inband_dtmf: negotiated.telephone_event.is_none(),
    };
    spawn_endpoint(config, ports).map_err(|e| e.to_string())
}

/// Refuses the INVITE, records it, and says how the call ended.
pub(super) async fn refuse(
    context: &CallContext,
    start: &Start,
    cdr: &Cdr,
    status: u16,
    reason: &str,
    why: Option<&str>,
) -> Ended {
    let mut response = response_to(&start.invite, status, reason);
    if let Some(why) = why {
        response = with_warning(response, why);
    }
    if let Err(error) = context.sip.respond(start.tx, response).await {
        tracing::debug!(%error, "refusal not sent");
    }
    cdr.caller_setup_finished(status).await;
    Ended::Refused(status)
}

/// Adds an SDP body.
pub(super) fn with_sdp(mut response: Response, sdp: &str) -> Response {
    let body = Body::sdp(sdp);
    response
        .headers
        .retain(|h| !matches!(h, Header::ContentLength(_)));
    response
        .headers
        .push(Header::ContentType(ContentType::new(body.content_type)));
    response
        .headers
        .push(Header::ContentLength(rsip::headers::ContentLength::new(
            body.bytes.len().to_string(),
        )));
    response.body = body.bytes;
    response
}

/// Adds `Warning: 399 kefu "<why>"` (RFC 3261 §20.43), quotes made safe.
pub(super) fn with_warning(mut response: Response, why: &str) -> Response {
    let text: String = why
        .chars()
        .map(|c| {
            if c == '"' || c == '\\' || c.is_control() {
                '\''
            } else {
                c
            }
        })
        .collect();
    response.headers.push(Header::Warning(Warning::new(format!(
        "399 kefu \"{text}\""
    ))));
    response
}

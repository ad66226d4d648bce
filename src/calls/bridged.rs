//! An answered call bridged between the caller and the callee (an agent, a
//! trunk), until either hangs up.
//!
//! The media goes through the relay — packet for packet, both legs anchored
//! in kefu, recorded to one stereo file when recordings are on. While a
//! supervisor takes part ([`super::supervise`]) it goes through a three-way
//! conference instead: the relay hands its ports to the conference, whose
//! hear-matrix is the supervisor's mode (monitor, whisper, barge), and the
//! recording goes on from it. When the supervisor hangs up the conference
//! hands the ports back to a new relay; the caller and the callee notice
//! nothing (their SDP never changes).
//!
//! A BYE from the caller or the callee hangs up everyone else, passing on
//! its `Reason` (RFC 3326), which the record keeps as the hangup cause. A re-INVITE
//! from any party (hold, resume, a phone that moved) is answered on that
//! side alone: the codec stays and the media follows the new address. A
//! callee's offer that stops their sending (`sendonly`, `inactive`) puts the
//! caller on hold: the relay hands the caller's ports to an endpoint playing
//! hold music ([`super::music`]) until the callee resumes. A
//! REFER from the callee's phone is a blind transfer ([`super::refer`]):
//! the target rings (30 s at most) while the call goes on, and on answer
//! the relay joins the caller to the target and the transferring phone is
//! hung up; if the target does not answer, the callee keeps the call — or,
//! if they hung up meanwhile, the caller is hung up. A REFER whose target
//! replaces another call of the callee's phone is an attended transfer
//! ([`attended`]).

mod attended;

use std::time::{Duration, Instant};

use kefu_media::driver::conference_task::{ConferenceHandle, ConferenceLeg, spawn_conference};
use kefu_media::driver::endpoint_task::EndpointHandle;
use kefu_media::driver::ports::PortPair;
use kefu_media::driver::relay_task::{RelayHandle, TapSink, spawn_relay_with_codecs};
use kefu_media::endpoint::EndpointEvent;
use kefu_media::mixer::SupervisorMode;
use kefu_media::relay::{PayloadMap, RelayConfig, Side};
use kefu_media::rtp::leg::LegStats;
use kefu_media::sdp::{self, Codec, Negotiated};
use kefu_signaling::dialog::DialogId;
use kefu_signaling::message::{reason, response_to};
use kefu_signaling::transaction::TransactionId;
use kefu_signaling::uas::CallEvent;
use rsip::{Method, Request, Response};
use tokio::sync::{mpsc, watch};

use super::bridge::{AgentSide, Callee, CallerId, Dialed, Dialing, hang_up, hang_up_because};
use super::browser::{self, is_webrtc};
use super::cdr::Cdr;
use super::legs;
use super::music::Hold;
use super::recording::CallRecording;
use super::refer::{ReferTo, Refused, Replaces, notify, refer_to};
use super::session::{
    CallerLeg, Ended, Session, SideMedia, negotiate_offer, start_endpoint, with_sdp, with_warning,
};
use super::supervise::{CallCommand, SuperviseError, SupervisionView, mode_name};
use super::transfer::{queue_named, resolve};
use super::{CallContext, LegRoutes};

/// The caller's number a supervisor's phone shows.
const SUPERVISE_CALLER: &str = "supervise";
/// How long a transfer target rings before the transfer fails.
const TRANSFER_RING_TIMEOUT: Duration = Duration::from_secs(30);

/// The answered caller's side of a bridge.
pub(super) struct CallerSide {
    /// Who phones rung later (a transfer) are told is calling.
    pub caller_id: CallerId,
    pub dialog: DialogId,
    pub media: SideMedia,
    /// Our RTP ports towards the caller, for the relay.
    pub ports: PortPair,
}

/// What carries the media.
enum Media {
    /// Caller and callee only: packets forwarded as they are.
    Relay(RelayHandle),
    /// With a supervisor: decoded, mixed by the hear-matrix, encoded.
    Conference(ConferenceHandle),
    /// The callee put the caller on hold: the caller hears music from an
    /// endpoint on their ports; the callee's ports wait for the resume.
    Held {
        music: EndpointHandle,
        callee: PortPair,
    },
}

/// A supervisor taking part, or being rung.
struct Supervisor {
    /// Their extension, for wallboards.
    extension: String,
    mode: SupervisorMode,
    stage: Stage,
}

enum Stage {
    Ringing(Dialing),
    Joined {
        dialog: DialogId,
        media: SideMedia,
        leg: Option<String>,
    },
}

/// The answered call. See the [module docs](self).
pub(super) struct Bridged {
    tenant_id: String,
    caller: DialogId,
    agent: DialogId,
    /// `None` only while switching between relay and conference.
    media: Option<Media>,
    agent_leg: Option<String>,
    recording: Option<CallRecording>,
    /// Each side's SDP state, caller first, for re-INVITEs.
    sides: [SideMedia; 2],
    supervisor: Option<Supervisor>,
    /// Who a transfer target's phone is told is calling.
    caller_id: CallerId,
    /// A blind transfer the callee asked for, while the target rings.
    transfer: Option<Transfer>,
    /// The queue the callee sent the caller to (a blind transfer to a
    /// queue): the call ends for the callee and the caller waits there.
    requeue: Option<String>,
    /// What the caller hears on hold (loaded at the first hold).
    hold_music: Option<Hold>,
}

/// A blind transfer in progress.
struct Transfer {
    dialing: Dialing,
    /// The transferring phone's dialog; `None` once it hung up.
    transferor: Option<DialogId>,
    /// When the target has rung long enough.
    deadline: tokio::time::Instant,
}

impl Bridged {
    /// Joins the two answered sides through the relay, recording the call
    /// when recordings are on. If the relay cannot start, both are hung up.
    pub async fn start(
        context: &CallContext,
        cdr: &Cdr,
        tenant_id: &str,
        caller: CallerSide,
        agent: AgentSide,
    ) -> Result<Self, Ended> {
        let recording = match cdr.id() {
            Some(call) if context.record => CallRecording::start(context, call, tenant_id).await,
            _ => None,
        };
        let mut bridged = Self {
            tenant_id: tenant_id.to_owned(),
            caller: caller.dialog,
            agent: agent.dialog,
            media: None,
            agent_leg: agent.leg,
            recording,
            sides: [caller.media, agent.media],
            supervisor: None,
            caller_id: caller.caller_id,
            transfer: None,
            requeue: None,
            hold_music: None,
        };
        match bridged.relay(caller.ports, agent.ports) {
            Ok(relay) => {
                bridged.media = Some(Media::Relay(relay));
                Ok(bridged)
            }
            Err(why) => {
                tracing::error!(%why, "cannot start the relay");
                bridged.hang_up_all(context, cdr).await;
                bridged.finish(cdr).await;
                Err(Ended::HungUp("media_failed".to_owned()))
            }
        }
    }

    /// Runs the call until it ends. The call takes supervisors' commands
    /// while it runs; their phones' Call-IDs join `routes`.
    pub async fn talk(
        mut self,
        context: &CallContext,
        cdr: &Cdr,
        routes: &LegRoutes,
        mut events: mpsc::UnboundedReceiver<CallEvent>,
        mut stopping: watch::Receiver<bool>,
    ) -> Talked {
        let listed = cdr
            .id()
            .map(|id| context.live.enter(id, &self.tenant_id, &self.caller));
        let (listed, mut commands) = match listed {
            Some((call, commands)) => (Some(call), Some(commands)),
            None => (None, None),
        };
        let ended = loop {
            let command = async {
                match &mut commands {
                    Some(commands) => commands.recv().await,
                    None => std::future::pending().await,
                }
            };
            let transfer_deadline = self.transfer.as_ref().map(|t| t.deadline);
            let transfer_timeout = async move {
                match transfer_deadline {
                    Some(at) => tokio::time::sleep_until(at).await,
                    None => std::future::pending().await,
                }
            };
            let music_event = async {
                match &mut self.media {
                    Some(Media::Held { music, .. }) => music.next_event().await,
                    _ => std::future::pending().await,
                }
            };
            tokio::select! {
                event = events.recv() => {
                    let Some(event) = event else { break Ended::Shutdown };
                    if let Some(ended) = self.on_event(context, cdr, routes, event).await {
                        break ended;
                    }
                    if let Some(ended) = self.follow_hold(context, cdr).await {
                        break ended;
                    }
                }
                Some(EndpointEvent::PlaybackFinished) = music_event => {
                    if let (Some(Media::Held { music, .. }), Some(hold)) =
                        (&self.media, self.hold_music.as_mut())
                    {
                        hold.play_next(Some(music)).await;
                    }
                }
                () = transfer_timeout => {
                    if let Some(transfer) = self.transfer.as_mut() {
                        transfer.dialing.cancel_all(context, cdr).await;
                    }
                    if let Some(ended) = self.fail_transfer(context, 480).await {
                        break ended;
                    }
                }
                Some(command) = command => {
                    if let Some(ended) = self.on_command(context, cdr, routes, command).await {
                        break ended;
                    }
                }
                _ = stopping.changed() => {
                    self.hang_up_all(context, cdr).await;
                    break Ended::Shutdown;
                }
            }
            if let Some(listed) = &listed {
                listed.supervised(self.supervision());
            }
        };
        if let Some(queue) = self.requeue.take() {
            return match self.caller_back(context, cdr, events, stopping).await {
                Ok(caller) => Talked::ToQueue {
                    queue,
                    caller: Box::new(caller),
                },
                Err(ended) => Talked::Over(ended),
            };
        }
        self.finish(cdr).await;
        Talked::Over(ended)
    }

    /// The caller's leg, off the relay, with an endpoint of its own again
    /// (the callee sent it to a queue and hung up); the callee's media
    /// quality is recorded and the recording closed. If its media cannot
    /// start, the caller is hung up.
    async fn caller_back(
        mut self,
        context: &CallContext,
        cdr: &Cdr,
        events: mpsc::UnboundedReceiver<CallEvent>,
        stopping: watch::Receiver<bool>,
    ) -> Result<Session, Ended> {
        let ports = match self.take_caller_ports().await {
            Ok((ports, stats)) => {
                if let (Some(leg), Some(stats)) = (&self.agent_leg, stats) {
                    let codec = self.sides[1].negotiated.codec;
                    cdr.leg_media(leg, codec, &stats).await;
                }
                ports
            }
            Err(why) => {
                tracing::error!(%why, "cannot take the caller back from the relay");
                hang_up(context, &self.caller).await;
                return Err(Ended::HungUp("media_failed".to_owned()));
            }
        };
        if let Some(recording) = self.recording.take() {
            recording.finish().await;
        }
        let [caller, _] = self.sides;
        let endpoint = match start_endpoint(&caller.negotiated, ports) {
            Ok(endpoint) => endpoint,
            Err(why) => {
                tracing::error!(%why, "cannot give the caller media of its own again");
                hang_up(context, &self.caller).await;
                return Err(Ended::HungUp("media_failed".to_owned()));
            }
        };
        let leg = CallerLeg {
            caller_id: self.caller_id,
            dialog: self.caller,
            endpoint,
            media: caller,
            events,
            stopping,
        };
        Ok(Session::from_caller_leg(context, leg))
    }

    /// The relay between caller and callee on these ports, recorded;
    /// packets pass untouched when both use the same codec, and are
    /// transcoded otherwise (Opus on one side, G.711 on the other).
    fn relay(&self, caller: PortPair, agent: PortPair) -> Result<RelayHandle, String> {
        let [caller_side, agent_side] = &self.sides;
        let codecs = [
            legs::audio(&caller_side.negotiated)?,
            legs::audio(&agent_side.negotiated)?,
        ];
        let config = relay_config(&caller_side.negotiated, &agent_side.negotiated);
        let tap = self.recording.as_ref().map(CallRecording::sink);
        spawn_relay_with_codecs(config, codecs, caller, agent, tap).map_err(|e| e.to_string())
    }

    async fn on_event(
        &mut self,
        context: &CallContext,
        cdr: &Cdr,
        routes: &LegRoutes,
        event: CallEvent,
    ) -> Option<Ended> {
        let event = match self.transfer.as_mut() {
            Some(transfer) => match transfer.dialing.on_event(context, cdr, event).await {
                Dialed::NotMine(event) => event,
                Dialed::Ringing => {
                    if let Some(transferor) = &transfer.transferor {
                        notify(context, transferor, 180, "Ringing", false).await;
                    }
                    return None;
                }
                Dialed::Nothing => return None,
                Dialed::Answered(side) => return self.complete_transfer(context, cdr, side).await,
                Dialed::Failed(status) => return self.fail_transfer(context, status).await,
                Dialed::Unusable(_) => return self.fail_transfer(context, 488).await,
            },
            None => event,
        };
        let event = match self.supervisor.as_mut().map(|s| &mut s.stage) {
            Some(Stage::Ringing(dialing)) => match dialing.on_event(context, cdr, event).await {
                Dialed::NotMine(event) => event,
                Dialed::Answered(side) => return self.join_supervisor(context, cdr, side).await,
                Dialed::Failed(status) => {
                    tracing::info!(status, "the supervisor's phones refused");
                    self.supervisor = None;
                    return None;
                }
                Dialed::Unusable(why) => {
                    tracing::info!(%why, "the supervisor's answer is unusable");
                    self.supervisor = None;
                    return None;
                }
                Dialed::Ringing | Dialed::Nothing => return None,
            },
            _ => event,
        };
        match event {
            CallEvent::Bye { dialog, request } if dialog == self.caller => {
                let why = reason(&request);
                cdr.hangup_cause(why.as_deref()).await;
                hang_up_because(context, &self.agent, why.as_deref()).await;
                self.hang_up_all(context, cdr).await;
                Some(Ended::CallerHungUp)
            }
            CallEvent::Bye { dialog, request } if dialog == self.agent => {
                if let Some(transfer) = self.transfer.as_mut() {
                    // A blind transfer: the caller waits for the target.
                    transfer.transferor = None;
                    return None;
                }
                let why = reason(&request);
                cdr.hangup_cause(why.as_deref()).await;
                hang_up_because(context, &self.caller, why.as_deref()).await;
                self.hang_up_all(context, cdr).await;
                Some(Ended::CalleeHungUp)
            }
            CallEvent::Bye { dialog, .. }
            | CallEvent::AckTimeout { dialog }
            | CallEvent::SessionExpired { dialog }
                if self.is_supervisor(&dialog) =>
            {
                self.leave_supervisor(context, cdr).await
            }
            CallEvent::AckTimeout { .. } => {
                self.hang_up_all(context, cdr).await;
                Some(Ended::AckTimeout)
            }
            CallEvent::SessionExpired { .. } => {
                self.hang_up_all(context, cdr).await;
                Some(Ended::HungUp("session_expired".to_owned()))
            }
            CallEvent::Answered { dialog, .. } => {
                // A second phone answered before its CANCEL arrived.
                hang_up(context, &dialog).await;
                None
            }
            CallEvent::Request {
                tx,
                dialog,
                request,
            } if request.method == Method::Refer => {
                self.on_refer(context, cdr, routes, tx, &dialog, &request)
                    .await
            }
            CallEvent::Request {
                tx,
                dialog,
                request,
            } => {
                let response = self.answer_in_call(&dialog, &request).await;
                let _ = context.sip.respond(tx, response).await;
                None
            }
            _ => None,
        }
    }

    async fn on_command(
        &mut self,
        context: &CallContext,
        cdr: &Cdr,
        routes: &LegRoutes,
        command: CallCommand,
    ) -> Option<Ended> {
        match command {
            CallCommand::Supervise {
                extension,
                mode,
                reply,
            } => {
                if self.supervisor.is_some() {
                    let _ = reply.send(Err(SuperviseError::Supervised));
                    return None;
                }
                let callee = Callee::Supervisor {
                    tenant_id: &self.tenant_id,
                    extension: &extension,
                };
                let caller = self.sides[0].negotiated;
                let shown = CallerId::named(SUPERVISE_CALLER);
                let dialing = Dialing::start(context, cdr, routes, &callee, &caller, &shown).await;
                let answer = match dialing {
                    Ok(dialing) => {
                        tracing::info!(supervisor = %extension, ?mode, "ringing the supervisor");
                        let stage = Stage::Ringing(dialing);
                        self.supervisor = Some(Supervisor {
                            extension,
                            mode,
                            stage,
                        });
                        Ok(())
                    }
                    Err(unreachable) => Err(SuperviseError::Unreachable(unreachable.why)),
                };
                let _ = reply.send(answer);
                None
            }
            CallCommand::PauseRecording { pause, reply } => {
                let done = match &self.recording {
                    None => Err(SuperviseError::NotRecorded),
                    Some(recording) if pause => {
                        recording.pause().map_err(SuperviseError::Recording)
                    }
                    Some(recording) => recording.resume().map_err(SuperviseError::Recording),
                };
                tracing::info!(pause, ok = done.is_ok(), "recording pause asked");
                let _ = reply.send(done);
                None
            }
            CallCommand::SetMode { mode, reply } => {
                let Some(supervisor) = self.supervisor.as_mut() else {
                    let _ = reply.send(Err(SuperviseError::Unsupervised));
                    return None;
                };
                supervisor.mode = mode;
                let applied = match &self.media {
                    Some(Media::Conference(conference)) => conference
                        .set_matrix(mode.hear_matrix())
                        .await
                        .map_err(|error| {
                            tracing::error!(%error, "cannot change the hear-matrix");
                            SuperviseError::Ended
                        }),
                    _ => Ok(()),
                };
                tracing::info!(?mode, "supervisor mode changed");
                let _ = reply.send(applied);
                None
            }
            CallCommand::HandOver { adopter, reply } => {
                self.hand_over(context, cdr, &adopter, reply).await
            }
        }
    }

    /// Who supervises the call now, as wallboards show it.
    fn supervision(&self) -> Option<SupervisionView> {
        self.supervisor.as_ref().map(|s| SupervisionView {
            supervisor: s.extension.clone(),
            mode: mode_name(s.mode),
            stage: match s.stage {
                Stage::Ringing(_) => "ringing",
                Stage::Joined { .. } => "joined",
            },
        })
    }

    fn is_supervisor(&self, dialog: &DialogId) -> bool {
        matches!(
            &self.supervisor,
            Some(Supervisor { stage: Stage::Joined { dialog: joined, .. }, .. }) if joined == dialog
        )
    }

    /// The supervisor answered: the relay's ports and theirs go to a
    /// conference in their mode.
    async fn join_supervisor(
        &mut self,
        context: &CallContext,
        cdr: &Cdr,
        side: AgentSide,
    ) -> Option<Ended> {
        let (mode, extension) = self
            .supervisor
            .as_ref()
            .map(|s| (s.mode, s.extension.clone()))?;
        if !matches!(self.media, Some(Media::Relay(_))) {
            tracing::info!("the call is on hold; the supervisor is not joined");
            hang_up(context, &side.dialog).await;
            self.supervisor = None;
            return None;
        }
        let Some(Media::Relay(relay)) = self.media.take() else {
            return None;
        };
        let switched = match relay.release().await {
            Ok((_, [caller, agent])) => {
                let participants = [
                    conference_leg(&self.sides[0].negotiated, caller),
                    conference_leg(&self.sides[1].negotiated, agent),
                    conference_leg(&side.media.negotiated, side.ports),
                ]
                .into_iter()
                .collect::<Result<Vec<_>, _>>();
                participants.and_then(|participants| {
                    spawn_conference(participants, mode.hear_matrix(), self.tap())
                        .map_err(|error| error.to_string())
                })
            }
            Err(error) => Err(error.to_string()),
        };
        self.supervisor = Some(Supervisor {
            extension,
            mode,
            stage: Stage::Joined {
                dialog: side.dialog,
                media: side.media,
                leg: side.leg,
            },
        });
        match switched {
            Ok(conference) => {
                tracing::info!(?mode, "the supervisor joined");
                self.media = Some(Media::Conference(conference));
                None
            }
            Err(why) => {
                tracing::error!(%why, "cannot join the supervisor; the call's media is lost");
                self.hang_up_all(context, cdr).await;
                Some(Ended::HungUp("media_failed".to_owned()))
            }
        }
    }

    /// The supervisor hung up: the conference's ports go back to a relay.
    async fn leave_supervisor(&mut self, context: &CallContext, cdr: &Cdr) -> Option<Ended> {
        let supervisor = self.supervisor.take()?;
        let Stage::Joined { media, leg, .. } = supervisor.stage else {
            return None;
        };
        let Some(Media::Conference(conference)) = self.media.take() else {
            return None;
        };
        let released = conference.release().await.map_err(|e| e.to_string());
        let relay = released.and_then(|released| {
            let mut legs = released.into_iter();
            let (Some((_, caller)), Some((_, agent)), Some((stats, _))) =
                (legs.next(), legs.next(), legs.next())
            else {
                return Err("the conference lost a participant".to_owned());
            };
            Ok((self.relay(caller, agent)?, stats))
        });
        match relay {
            Ok((relay, stats)) => {
                tracing::info!("the supervisor left");
                if let Some(leg) = &leg {
                    cdr.leg_media(leg, media.negotiated.codec, &stats).await;
                }
                self.media = Some(Media::Relay(relay));
                None
            }
            Err(why) => {
                tracing::error!(%why, "cannot return to the relay; the call's media is lost");
                self.hang_up_all(context, cdr).await;
                Some(Ended::HungUp("media_failed".to_owned()))
            }
        }
    }

    /// The callee's phone asks to transfer the caller: 202, then (blind)
    /// the target rings while the call goes on, or (attended) the caller
    /// is joined to the far side of the call named; NOTIFYs say how it goes.
    async fn on_refer(
        &mut self,
        context: &CallContext,
        cdr: &Cdr,
        routes: &LegRoutes,
        tx: TransactionId,
        dialog: &DialogId,
        request: &Request,
    ) -> Option<Ended> {
        let started = self
            .start_transfer(context, cdr, routes, dialog, request)
            .await;
        let response = match &started {
            Ok(_) => response_to(request, 202, "Accepted"),
            Err(Refused { status, reason }) => response_to(request, *status, reason),
        };
        let _ = context.sip.respond(tx, response).await;
        let replaces = started.ok()?;
        notify(context, dialog, 100, "Trying", false).await;
        if self.requeue.is_some() {
            // The caller is in the queue's hands now: the callee is done.
            notify(context, dialog, 200, "OK", true).await;
            hang_up(context, dialog).await;
            return Some(Ended::HungUp("transferred_to_queue".to_owned()));
        }
        match replaces {
            Some(replaces) => {
                self.transfer_attended(context, cdr, routes, dialog, &replaces)
                    .await
            }
            None => None,
        }
    }

    /// Rings a blind transfer's target; an attended transfer's `Replaces`
    /// is returned for [`Self::transfer_attended`].
    async fn start_transfer(
        &mut self,
        context: &CallContext,
        cdr: &Cdr,
        routes: &LegRoutes,
        dialog: &DialogId,
        request: &Request,
    ) -> Result<Option<Replaces>, Refused> {
        let forbidden = Refused {
            status: 403,
            reason: "Forbidden",
        };
        if *dialog != self.agent || self.supervisor.is_some() {
            return Err(forbidden);
        }
        if self.transfer.is_some() {
            return Err(Refused {
                status: 491,
                reason: "Request Pending",
            });
        }
        let to = match refer_to(request)? {
            ReferTo::Blind(to) => to,
            ReferTo::Attended(replaces) => return Ok(Some(replaces)),
        };
        let not_found = Refused {
            status: 404,
            reason: "Not Found",
        };
        match queue_named(context, &self.tenant_id, &to).await {
            Ok(Some(queue)) => {
                tracing::info!(%queue, "blind transfer to a queue");
                self.requeue = Some(queue);
                return Ok(None);
            }
            Ok(None) => {}
            Err(error) => {
                tracing::error!(%error, "cannot resolve a transfer target");
                return Err(not_found);
            }
        }
        let target = match resolve(context, &self.tenant_id, &to).await {
            Ok(Some(target)) => target,
            Ok(None) => return Err(not_found),
            Err(error) => {
                tracing::error!(%error, "cannot resolve a transfer target");
                return Err(not_found);
            }
        };
        let callee = target.callee(&self.tenant_id, &to);
        let caller = self.sides[0].negotiated;
        let dialing = Dialing::start(context, cdr, routes, &callee, &caller, &self.caller_id)
            .await
            .map_err(|unreachable| {
                tracing::info!(%to, why = %unreachable.why, "transfer target unreachable");
                Refused {
                    status: 480,
                    reason: "Temporarily Unavailable",
                }
            })?;
        tracing::info!(%to, "blind transfer: ringing the target");
        self.transfer = Some(Transfer {
            dialing,
            transferor: Some(dialog.clone()),
            deadline: tokio::time::Instant::now() + TRANSFER_RING_TIMEOUT,
        });
        Ok(None)
    }

    /// The transfer target answered: the relay now joins the caller and the
    /// target, and the transferring phone is told and hung up.
    async fn complete_transfer(
        &mut self,
        context: &CallContext,
        cdr: &Cdr,
        side: AgentSide,
    ) -> Option<Ended> {
        let transfer = self.transfer.take()?;
        let transferor = match self.put_through(context, cdr, side).await {
            Ok(transferor) => transferor,
            Err(ended) => return ended,
        };
        tracing::info!("blind transfer completed");
        if transfer.transferor.is_some() {
            notify(context, &transferor, 200, "OK", true).await;
            hang_up(context, &transferor).await;
        }
        None
    }

    /// Puts the caller through to a new callee `side`, in place of the
    /// callee; returns the callee's dialog. If the media cannot switch, the
    /// new side is hung up — and, when the call's media is lost, everyone
    /// (`Err(Some(_))`: the call is over).
    async fn put_through(
        &mut self,
        context: &CallContext,
        cdr: &Cdr,
        side: AgentSide,
    ) -> Result<DialogId, Option<Ended>> {
        let caller_ports = match self.take_caller_ports().await {
            Ok((caller_ports, stats)) => {
                if let (Some(leg), Some(stats)) = (&self.agent_leg, stats) {
                    let codec = self.sides[1].negotiated.codec;
                    cdr.leg_media(leg, codec, &stats).await;
                }
                caller_ports
            }
            Err(why) => {
                tracing::error!(%why, "cannot hand the caller to the transfer target");
                hang_up(context, &side.dialog).await;
                if self.media.is_some() {
                    return Err(None);
                }
                self.hang_up_all(context, cdr).await;
                return Err(Some(Ended::HungUp("media_failed".to_owned())));
            }
        };
        let previous = std::mem::replace(&mut self.agent, side.dialog);
        self.sides[1] = side.media;
        self.agent_leg = side.leg;
        match self.relay(caller_ports, side.ports) {
            Ok(relay) => self.media = Some(Media::Relay(relay)),
            Err(why) => {
                tracing::error!(%why, "cannot relay to the transfer target");
                self.hang_up_all(context, cdr).await;
                return Err(Some(Ended::HungUp("media_failed".to_owned())));
            }
        }
        Ok(previous)
    }

    /// The transfer target did not answer (`status`): the transferring
    /// phone is told and keeps the call — unless it hung up already, and
    /// then nobody is left for the caller.
    async fn fail_transfer(&mut self, context: &CallContext, status: u16) -> Option<Ended> {
        let transfer = self.transfer.take()?;
        tracing::info!(status, "blind transfer failed");
        match transfer.transferor {
            Some(transferor) => {
                notify(context, &transferor, status, reason_phrase(status), true).await;
                None
            }
            None => {
                hang_up(context, &self.caller).await;
                Some(Ended::CalleeHungUp)
            }
        }
    }

    /// Puts the caller on hold when the callee's last offer stopped their
    /// sending (`sendonly`, `inactive`), and back when it resumed.
    async fn follow_hold(&mut self, context: &CallContext, cdr: &Cdr) -> Option<Ended> {
        let callee_sends = self.sides[1].negotiated.direction.sends();
        let switched = match (&self.media, callee_sends) {
            (Some(Media::Relay(_)), false) => self.hold(context).await,
            (Some(Media::Held { .. }), true) => self.resume().await,
            _ => return None,
        };
        match switched {
            Ok(()) => None,
            Err(why) => {
                tracing::error!(%why, "cannot switch hold; the call's media is lost");
                self.hang_up_all(context, cdr).await;
                Some(Ended::HungUp("media_failed".to_owned()))
            }
        }
    }

    async fn hold(&mut self, context: &CallContext) -> Result<(), String> {
        let Some(Media::Relay(relay)) = self.media.take() else {
            return Ok(());
        };
        let (_, [caller, callee]) = relay.release().await.map_err(|e| e.to_string())?;
        let music = start_endpoint(&self.sides[0].negotiated, caller)?;
        if self.hold_music.is_none() {
            self.hold_music = Some(Hold::load(&context.prompts).await);
        }
        if let Some(hold) = self.hold_music.as_mut() {
            hold.play_next(Some(&music)).await;
        }
        tracing::info!("the caller is on hold");
        self.media = Some(Media::Held { music, callee });
        Ok(())
    }

    async fn resume(&mut self) -> Result<(), String> {
        let Some(Media::Held { music, callee }) = self.media.take() else {
            return Ok(());
        };
        let (_, caller) = music.release().await.map_err(|e| e.to_string())?;
        self.media = Some(Media::Relay(self.relay(caller, callee)?));
        tracing::info!("the caller is off hold");
        Ok(())
    }

    /// The caller's ports back from whatever carries the media now (for a
    /// transfer), with the callee's statistics when a relay had them; a
    /// conference keeps its ports.
    async fn take_caller_ports(&mut self) -> Result<(PortPair, Option<LegStats>), String> {
        match self.media.take() {
            Some(Media::Relay(relay)) => {
                let (stats, [caller, _]) = relay.release().await.map_err(|e| e.to_string())?;
                Ok((caller, Some(stats.agent)))
            }
            Some(Media::Held { music, .. }) => {
                let (_, caller) = music.release().await.map_err(|e| e.to_string())?;
                Ok((caller, None))
            }
            other => {
                self.media = other;
                Err("the call is not in a two-party state".to_owned())
            }
        }
    }

    /// The recording's tap, for a conference.
    fn tap(&self) -> Option<TapSink> {
        self.recording.as_ref().map(CallRecording::sink)
    }

    /// Hangs up the caller, the callee and any supervisor (ringing ones are
    /// cancelled).
    async fn hang_up_all(&mut self, context: &CallContext, cdr: &Cdr) {
        hang_up(context, &self.caller).await;
        hang_up(context, &self.agent).await;
        if let Some(mut transfer) = self.transfer.take() {
            transfer.dialing.cancel_all(context, cdr).await;
        }
        match self.supervisor.as_mut().map(|s| &mut s.stage) {
            Some(Stage::Ringing(dialing)) => dialing.cancel_all(context, cdr).await,
            Some(Stage::Joined { dialog, .. }) => hang_up(context, dialog).await,
            None => {}
        }
    }

    /// Stops the media, records its quality, closes the recording.
    async fn finish(self, cdr: &Cdr) {
        let [caller, agent] = &self.sides;
        let stats: Option<Vec<LegStats>> = match self.media {
            Some(Media::Relay(relay)) => match relay.stop().await {
                Ok(stats) => Some(vec![stats.caller, stats.agent]),
                Err(error) => {
                    tracing::warn!(%error, "the relay ended badly");
                    None
                }
            },
            Some(Media::Held { music, .. }) => match music.stop().await {
                Ok(stats) => Some(vec![stats]),
                Err(error) => {
                    tracing::warn!(%error, "the hold music ended badly");
                    None
                }
            },
            Some(Media::Conference(conference)) => match conference.stop().await {
                Ok(stats) => Some(stats),
                Err(error) => {
                    tracing::warn!(%error, "the conference ended badly");
                    None
                }
            },
            None => None,
        };
        if let Some(stats) = stats {
            if let Some(caller_stats) = stats.first() {
                cdr.caller_media(caller.negotiated.codec, caller_stats)
                    .await;
            }
            if let (Some(leg), Some(agent_stats)) = (&self.agent_leg, stats.get(1)) {
                cdr.leg_media(leg, agent.negotiated.codec, agent_stats)
                    .await;
            }
            if let (
                Some(Supervisor {
                    stage:
                        Stage::Joined {
                            media,
                            leg: Some(leg),
                            ..
                        },
                    ..
                }),
                Some(supervisor_stats),
            ) = (&self.supervisor, stats.get(2))
            {
                cdr.leg_media(leg, media.negotiated.codec, supervisor_stats)
                    .await;
            }
        }
        if let Some(recording) = self.recording {
            recording.finish().await;
        }
    }

    /// The answer to a request inside one party's dialog. A new offer (hold,
    /// resume, a phone that moved) is answered on that side alone: the codec
    /// stays, the media follows a new address and payload types, and the
    /// others are not disturbed. INFO and offer-less refreshes get 200.
    async fn answer_in_call(&mut self, dialog: &DialogId, request: &Request) -> Response {
        match request.method {
            Method::Invite | Method::Update if !request.body.is_empty() => {
                match self.renegotiate(dialog, &request.body).await {
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

    async fn renegotiate(&mut self, dialog: &DialogId, body: &[u8]) -> Result<String, String> {
        let participant = if *dialog == self.caller {
            0
        } else if *dialog == self.agent {
            1
        } else if self.is_supervisor(dialog) {
            2
        } else {
            return Err("not a dialog of this call".to_owned());
        };
        let current = self.side_mut(participant).ok_or("no such party")?;
        let keep = [current.negotiated.codec, Codec::TelephoneEvent];
        let (browser_answer, plain) = match &current.gateway {
            Some(gateway) if is_webrtc(body) => {
                let (answer, plain) = browser::reoffer(gateway, body).await?;
                (Some(answer), Some(plain))
            }
            _ => (None, None),
        };
        let body = plain.as_ref().map_or(body, |plain| plain.as_bytes());
        let (offer, renewed) = negotiate_offer(body, &keep)?;
        let moved = renewed.remote != current.negotiated.remote;
        let changed_types = renewed.payload_type != current.negotiated.payload_type
            || renewed.telephone_event != current.negotiated.telephone_event;
        match &self.media {
            Some(Media::Relay(relay)) => {
                let side = if participant == 0 {
                    Side::Caller
                } else {
                    Side::Agent
                };
                if moved {
                    relay
                        .repoint(side, renewed.remote)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            Some(Media::Conference(conference)) => {
                if changed_types {
                    return Err("payload types cannot change while a supervisor takes part".into());
                }
                if moved {
                    conference
                        .repoint(participant, renewed.remote)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            Some(Media::Held { music, .. }) => {
                if participant == 0 && moved {
                    music
                        .repoint(renewed.remote)
                        .await
                        .map_err(|e| e.to_string())?;
                }
            }
            None => return Err("the call's media is switching".to_owned()),
        }
        let current = self.side_mut(participant).ok_or("no such party")?;
        current.negotiated = renewed;
        current.version += 1;
        let answer = browser_answer.unwrap_or_else(|| {
            sdp::answer(
                &offer,
                &current.negotiated,
                current.local,
                current.session_id,
                current.version,
            )
        });
        if let (true, Some(Media::Relay(relay))) = (changed_types, &self.media) {
            let config = relay_config(&self.sides[0].negotiated, &self.sides[1].negotiated);
            relay
                .set_payload_maps(config.caller_to_agent, config.agent_to_caller)
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok(answer)
    }

    fn side_mut(&mut self, participant: usize) -> Option<&mut SideMedia> {
        match participant {
            0 | 1 => self.sides.get_mut(participant),
            _ => match &mut self.supervisor {
                Some(Supervisor {
                    stage: Stage::Joined { media, .. },
                    ..
                }) => Some(media),
                _ => None,
            },
        }
    }
}

/// How a bridged call ended for the code that bridged it.
pub(super) enum Talked {
    /// The call is over.
    Over(Ended),
    /// The callee sent the caller to `queue` (a blind transfer to a queue)
    /// and hung up; the caller's leg, answered, is back for the queue.
    ToQueue { queue: String, caller: Box<Session> },
}

/// Bridges an answered caller — its session, whose endpoint hands its
/// ports to the relay, so the caller's SDP stays as it was — to the answered
/// callee, until either hangs up (or the callee sends the caller to a
/// queue). Returns how it ended and how long the two talked (zero when they
/// never did).
pub(super) async fn join(
    context: &CallContext,
    cdr: &Cdr,
    routes: &LegRoutes,
    tenant_id: &str,
    session: Session,
    callee: AgentSide,
) -> (Talked, Duration) {
    let leg = match session.into_caller_leg().await {
        Ok(leg) => leg,
        Err(ended) => {
            hang_up(context, &callee.dialog).await;
            return (Talked::Over(ended), Duration::ZERO);
        }
    };
    let ports = match leg.endpoint.release().await {
        Ok((_, ports)) => ports,
        Err(error) => {
            tracing::error!(%error, "the caller's media ended badly");
            hang_up(context, &leg.dialog).await;
            hang_up(context, &callee.dialog).await;
            let ended = Ended::HungUp("media_failed".to_owned());
            return (Talked::Over(ended), Duration::ZERO);
        }
    };
    let caller = CallerSide {
        caller_id: leg.caller_id,
        dialog: leg.dialog,
        media: leg.media,
        ports,
    };
    match Bridged::start(context, cdr, tenant_id, caller, callee).await {
        Ok(bridged) => {
            let talking = Instant::now();
            let ended = bridged
                .talk(context, cdr, routes, leg.events, leg.stopping)
                .await;
            (ended, talking.elapsed())
        }
        Err(ended) => (Talked::Over(ended), Duration::ZERO),
    }
}

/// The reason phrase of a transfer's final status, for its NOTIFY.
fn reason_phrase(status: u16) -> &'static str {
    match status {
        404 => "Not Found",
        480 => "Temporarily Unavailable",
        486 => "Busy Here",
        487 => "Request Terminated",
        488 => "Not Acceptable Here",
        603 => "Decline",
        _ => "Service Unavailable",
    }
}

/// A conference participant from what its side negotiated.
fn conference_leg(side: &Negotiated, ports: PortPair) -> Result<ConferenceLeg, String> {
    let (payload_type, codec) = legs::audio(side)?;
    Ok(ConferenceLeg {
        config: legs::leg_config(side),
        codec,
        payload_type,
        ports,
    })
}

/// The relay between what the caller and the callee negotiated: each
/// side's payload types mapped to the other's.
fn relay_config(caller: &Negotiated, agent: &Negotiated) -> RelayConfig {
    let map = |from: &Negotiated, to: &Negotiated| {
        let mut pairs = vec![(from.payload_type, to.payload_type)];
        if let (Some(a), Some(b)) = (from.telephone_event, to.telephone_event) {
            pairs.push((a, b));
        }
        PayloadMap::Mapped(pairs)
    };
    RelayConfig {
        caller: legs::leg_config(caller),
        agent: legs::leg_config(agent),
        caller_to_agent: map(caller, agent),
        agent_to_caller: map(agent, caller),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kefu_media::sdp::Direction;

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

//! A caller waiting in an ACD queue — from an IVR `queue` node or a DID
//! routed to a queue — until an agent takes the call or the queue lets go.
//!
//! The answered call becomes a voice contact in the ACD ([`crate::routing`]).
//! While it waits the caller hears their place in line whenever the ACD
//! announces it, and music on hold in between ([`super::music`]). Each
//! offer rings the agent's registered phones ([`OfferRinging`]) while the music
//! goes on. The first phone to answer is accepted in the ACD and bridged to
//! the caller through the relay (recorded when recordings are on); the
//! endpoint that played the music hands its ports to the relay, so the
//! caller's SDP does not change. A busy, declined or unusable answer
//! declines the offer, a phone that cannot be rung counts as unanswered,
//! and the ACD's ring timeout withdraws the offer; the ACD then offers the
//! call to the next agent. A caller who hangs up while waiting abandons the
//! contact; when the bridged call ends the contact ends (the agent wraps up).
//! An agent's blind transfer to a queue ([`requeue`]) ends the contact too,
//! and the caller waits in that queue as a new one.
//! The CDR gets the contact, queue, agent, wait and talk times.

use std::time::{Duration, Instant};

use kefu_media::endpoint::EndpointEvent;
use kefu_signaling::uas::CallEvent;
use tokio::sync::{mpsc, watch};

use super::bridge::{AgentSide, CallerId};
use super::bridged::{Talked, join};
use super::call::{Start, caller_number};
use super::callback::{self, CallbackRequest};
use super::cdr::Cdr;
use super::ivr::{Source, play_prompt, render, say_then_hang_up};
use super::music::Hold;
use super::offer::{OfferRinging, Rung};
use super::session::{Ended, Happening, Session};
use super::voicemail::{self, RecordRequest};
use super::{CallContext, LegRoutes};
use crate::routing::{
    Channel, ContactId, ContactRequest, ContactUpdate, ContactUpdates, Offer, SkillNeed,
    TimeoutTarget,
};

/// A queue's voicemail: at most this long, ended by this much silence.
const QUEUE_VOICEMAIL_MAX: Duration = Duration::from_secs(120);
const QUEUE_VOICEMAIL_SILENCE: Duration = Duration::from_secs(5);

/// Said to a caller the queue lets go unserved.
const UNSERVED_NOW: &str = "Sorry, nobody can take your call right now.";
const UNSERVED: &str = "Sorry, nobody can take your call right now. Please call again later.";
/// How long a caller offered a callback has to press 1.
const CALLBACK_OFFER_WAIT: Duration = Duration::from_secs(10);

/// What a caller who declines a callback hears.
fn goodbye() -> Source {
    Source::Speech {
        voice: "en".to_owned(),
        text: "Goodbye.".to_owned(),
    }
}

/// What a caller the queue let go hears.
pub(super) fn unserved() -> Source {
    Source::Speech {
        voice: "en".to_owned(),
        text: UNSERVED.to_owned(),
    }
}

/// A number routed straight to a queue (priority 0, no skills).
pub(super) struct Direct<'a> {
    pub tenant_id: &'a str,
    pub queue: &'a str,
}

/// Answers a call to a number routed to a queue and queues it; a caller
/// the queue lets go hears that nobody can take the call, and kefu hangs up.
pub(super) async fn serve(
    context: &CallContext,
    start: &Start,
    cdr: &Cdr,
    direct: Direct<'_>,
    events: mpsc::UnboundedReceiver<CallEvent>,
    routes: &LegRoutes,
    stopping: watch::Receiver<bool>,
) -> Ended {
    let session = match Session::answer(context, start, cdr, events, stopping).await {
        Ok(session) => session,
        Err(ended) => return ended,
    };
    let request = QueueRequest {
        tenant_id: direct.tenant_id,
        queue: direct.queue,
        priority: 0,
        skills: &[],
        caller: caller_number(&start.invite),
        callback_key: None,
        caller_id: CallerId::of(context, &start.invite),
    };
    wait_or_let_go(context, cdr, routes, session, request).await
}

/// A caller an agent sent to `queue` (a blind transfer to a queue): it
/// waits there as a new contact (priority 0, no skills), and is let go as
/// any caller the queue cannot serve.
pub(super) async fn requeue(
    context: &CallContext,
    cdr: &Cdr,
    routes: &LegRoutes,
    tenant_id: &str,
    session: Session,
    queue: &str,
) -> Ended {
    let caller_id = session.caller_id().clone();
    let request = QueueRequest {
        tenant_id,
        queue,
        priority: 0,
        skills: &[],
        caller: (caller_id.name != "anonymous").then(|| caller_id.name.clone()),
        callback_key: None,
        caller_id,
    };
    wait_or_let_go(context, cdr, routes, session, request).await
}

/// How a bridged call ends for whoever bridged it: over, or — when the
/// agent sent the caller to a queue — once the caller is done there.
pub(super) async fn settled(
    context: &CallContext,
    cdr: &Cdr,
    routes: &LegRoutes,
    tenant_id: &str,
    talked: Talked,
) -> Ended {
    match talked {
        Talked::Over(ended) => ended,
        Talked::ToQueue { queue, caller } => {
            // Queue → bridge → queue: the future is boxed to be finite.
            Box::pin(requeue(context, cdr, routes, tenant_id, *caller, &queue)).await
        }
    }
}

/// Queues the caller; one the queue lets go hears why, then kefu hangs up
/// (or takes a message, as the queue's timeout target says).
async fn wait_or_let_go(
    context: &CallContext,
    cdr: &Cdr,
    routes: &LegRoutes,
    session: Session,
    request: QueueRequest<'_>,
) -> Ended {
    let (tenant_id, queue) = (request.tenant_id, request.queue);
    match wait(context, cdr, routes, session, request).await {
        Outcome::Over(ended) => ended,
        Outcome::Unserved {
            session,
            why,
            target,
        } => {
            tracing::info!(queue, %why, "the queue let the caller go");
            let_go(context, cdr, tenant_id, *session, &target, "queue_let_go").await
        }
    }
}

/// A caller the queue let go: a voicemail target records a message after
/// the apology; any other target hears the apology, then kefu hangs up
/// (`why` is the end reason then).
pub(super) async fn let_go(
    context: &CallContext,
    cdr: &Cdr,
    tenant_id: &str,
    mut session: Session,
    target: &TimeoutTarget,
    why: &str,
) -> Ended {
    let TimeoutTarget::Voicemail(mailbox) = target else {
        if !matches!(target, TimeoutTarget::Disconnect) {
            tracing::warn!(
                ?target,
                "voice calls follow only voicemail targets; hanging up"
            );
        }
        return say_then_hang_up(context, cdr, session, unserved(), why).await;
    };
    let leave = Source::Speech {
        voice: "en".to_owned(),
        text: format!("{UNSERVED} Please leave a message after the beep."),
    };
    play_prompt(&context.prompts, session.endpoint(), leave).await;
    tracing::info!(%mailbox, "the queue sends the caller to voicemail");
    let request = RecordRequest {
        tenant_id,
        beep: true,
        max: QUEUE_VOICEMAIL_MAX,
        silence: QUEUE_VOICEMAIL_SILENCE,
        number: 1,
    };
    if let Err(ended) = voicemail::record(context, cdr, &mut session, request).await {
        session.finish(cdr).await;
        return ended;
    }
    session.hang_up().await;
    session.finish(cdr).await;
    Ended::HungUp("queue_voicemail".to_owned())
}

/// Where a call waits and what it needs.
pub(super) struct QueueRequest<'a> {
    pub tenant_id: &'a str,
    pub queue: &'a str,
    /// 0 (lowest) to 9.
    pub priority: u8,
    /// Skills the agent needs (any level).
    pub skills: &'a [String],
    /// The caller's number: the customer, for the sticky agent, and the
    /// name the agent's phone shows.
    pub caller: Option<String>,
    /// The key that asks for a callback, if the queue offers one.
    pub callback_key: Option<char>,
    /// Who the agents' phones are told is calling.
    pub caller_id: CallerId,
}

/// How the wait ended.
pub(super) enum Outcome {
    /// The call is over: talked and hung up, or the caller left.
    Over(Ended),
    /// The queue let the caller go unserved (refused, timed out, stopped);
    /// the caller is still on the line.
    Unserved {
        session: Box<Session>,
        why: String,
        /// Where the queue sends callers it lets go.
        target: TimeoutTarget,
    },
}

/// Queues the answered call and runs it until it is over or let go.
pub(super) async fn wait(
    context: &CallContext,
    cdr: &Cdr,
    routes: &LegRoutes,
    session: Session,
    request: QueueRequest<'_>,
) -> Outcome {
    let contact = ContactRequest {
        tenant: request.tenant_id.to_owned(),
        channel: Channel::Voice,
        queue: request.queue.to_owned(),
        priority: request.priority,
        skills: request
            .skills
            .iter()
            .map(|name| SkillNeed {
                name: name.clone(),
                min_level: 1,
            })
            .collect(),
        customer: request.caller.clone(),
        call_id: cdr.id().map(str::to_owned),
        preferred_agent: None,
    };
    let enqueued = match context.acd.enqueue(contact.clone()).await {
        Ok(enqueued) => enqueued,
        Err(error) => {
            tracing::warn!(queue = request.queue, %error, "the ACD does not take the call");
            let why = error.to_string();
            let session = Box::new(session);
            let target = TimeoutTarget::Disconnect;
            return Outcome::Unserved {
                session,
                why,
                target,
            };
        }
    };
    tracing::info!(queue = request.queue, contact = %enqueued.id, "call queued");
    cdr.queued(&enqueued.id.0, request.queue).await;
    let waiting = Waiting {
        context,
        cdr,
        routes,
        tenant_id: request.tenant_id,
        caller_id: request.caller_id,
        contact: enqueued.id,
        updates: enqueued.updates,
        entered: Instant::now(),
        hold: Hold::load(&context.prompts).await,
        session,
        ringing: None,
        queue: request.queue.to_owned(),
        callback_key: request.callback_key,
        request: contact,
    };
    waiting.run().await
}

/// A queued call. See the [module docs](self).
struct Waiting<'a> {
    context: &'a CallContext,
    cdr: &'a Cdr,
    routes: &'a LegRoutes,
    tenant_id: &'a str,
    caller_id: CallerId,
    contact: ContactId,
    updates: ContactUpdates,
    entered: Instant,
    hold: Hold,
    session: Session,
    /// The phones of the offer being rung.
    ringing: Option<OfferRinging>,
    /// The queue's name (the latest, after an overflow).
    queue: String,
    /// The key that asks for a callback, if the queue offers one.
    callback_key: Option<char>,
    /// What the call asked the ACD for (to ask again for a callback).
    request: ContactRequest,
}

/// What the ACD's update asks of the wait.
enum Next {
    Wait,
    /// Why, and where the queue sends the caller.
    LetGo(String, TimeoutTarget),
}

impl Waiting<'_> {
    async fn run(mut self) -> Outcome {
        self.hold.play_next(self.session.endpoint()).await;
        loop {
            tokio::select! {
                happening = self.session.next() => match happening {
                    Happening::Media(EndpointEvent::PlaybackFinished) => {
                        self.hold.play_next(self.session.endpoint()).await;
                    }
                    Happening::Media(EndpointEvent::Dtmf(press))
                        if Some(press.digit.as_char()) == self.callback_key =>
                    {
                        match self.context.acd.request_callback(&self.contact).await {
                            Ok(()) => return self.call_back_later().await,
                            Err(error) => tracing::warn!(%error, "no callback for this call"),
                        }
                    }
                    Happening::Media(_) | Happening::MediaStarted => {}
                    Happening::Other(event) => {
                        if let Some((offer, agent)) = self.on_leg_event(event).await {
                            return self.connect(offer, agent).await;
                        }
                    }
                    Happening::Ended(ended) => {
                        self.stop_ringing().await;
                        if let Err(error) = self.context.acd.abandon(&self.contact).await {
                            tracing::warn!(%error, "cannot abandon the contact");
                        }
                        return Outcome::Over(ended);
                    }
                },
                update = self.updates.next() => {
                    let next = match update {
                        Some(update) => self.on_update(update).await,
                        None => Next::LetGo("the ACD stopped".to_owned(), TimeoutTarget::Disconnect),
                    };
                    if let Next::LetGo(_, TimeoutTarget::Callback) = next {
                        return self.offer_callback().await;
                    }
                    if let Next::LetGo(why, target) = next {
                        self.stop_ringing().await;
                        if let Some(endpoint) = self.session.endpoint() {
                            let _ = endpoint.stop_playing().await;
                        }
                        let session = Box::new(self.session);
                        return Outcome::Unserved { session, why, target };
                    }
                }
            }
        }
    }

    async fn on_update(&mut self, update: ContactUpdate) -> Next {
        match update {
            ContactUpdate::Waiting {
                position,
                expected_wait,
            } => {
                let mut text = place_in_line(position, expected_wait);
                if let Some(key) = self.callback_key {
                    text.push_str(&format!(
                        " To hang up and be called back when it is your turn, press {}.",
                        key_name(key)
                    ));
                }
                let voice = "en".to_owned();
                match render(&self.context.prompts, Source::Speech { voice, text }).await {
                    Ok(prompt) => {
                        self.hold
                            .announce(self.session.endpoint(), prompt.clip())
                            .await
                    }
                    Err(why) => tracing::warn!(%why, "place in line not announced"),
                }
                Next::Wait
            }
            ContactUpdate::Offered(offer) => {
                self.ring(offer).await;
                Next::Wait
            }
            ContactUpdate::OfferEnded { agent, reason } => {
                tracing::info!(agent = %agent.extension, reason = reason.as_str(), "offer ended");
                self.stop_ringing().await;
                Next::Wait
            }
            ContactUpdate::Overflowed { from, to } => {
                tracing::info!(%from, %to, "call moved to another queue");
                self.cdr.queued(&self.contact.0, &to).await;
                self.queue = to;
                Next::Wait
            }
            ContactUpdate::TimedOut { reason, target } => {
                tracing::info!(?reason, ?target, "the queue lets the call go");
                Next::LetGo(format!("the queue let the call go ({reason:?})"), target)
            }
            ContactUpdate::Answered { .. } => Next::Wait,
            ContactUpdate::Abandoned { .. } | ContactUpdate::Ended { .. } => {
                Next::LetGo("the contact ended".to_owned(), TimeoutTarget::Disconnect)
            }
        }
    }

    /// Rings the offered agent's phones (see [`OfferRinging`]).
    async fn ring(&mut self, offer: Offer) {
        self.stop_ringing().await;
        let Some(media) = self.session.negotiated() else {
            return;
        };
        let (context, cdr, routes) = (self.context, self.cdr, self.routes);
        let offered = (self.tenant_id, offer);
        self.ringing =
            OfferRinging::start(context, cdr, routes, offered, media, &self.caller_id).await;
    }

    /// Takes an event of the ringing phones; returns the answered phone once
    /// the ACD has given the call to its agent.
    async fn on_leg_event(&mut self, event: CallEvent) -> Option<(Offer, AgentSide)> {
        let ringing = self.ringing.as_mut()?;
        match ringing.on_event(self.context, self.cdr, event).await {
            Rung::Taken(taken) => {
                self.ringing = None;
                Some(*taken)
            }
            Rung::Over => {
                self.ringing = None;
                None
            }
            Rung::Ringing => None,
        }
    }

    /// Cancels the phones of the offer being rung, if any.
    async fn stop_ringing(&mut self) {
        if let Some(ringing) = self.ringing.take() {
            ringing.cancel(self.context, self.cdr).await;
        }
    }

    /// The queue times out to a callback: the caller may press 1 to be
    /// called back — a new contact in the same queue, keeping its place
    /// without holding — or is let go.
    async fn offer_callback(mut self) -> Outcome {
        self.stop_ringing().await;
        if let Some(endpoint) = self.session.endpoint() {
            let _ = endpoint.stop_playing().await;
        }
        let offer = Source::Speech {
            voice: "en".to_owned(),
            text: format!("{UNSERVED_NOW} To be called back when an agent is free, press 1."),
        };
        play_prompt(&self.context.prompts, self.session.endpoint(), offer).await;
        let deadline = tokio::time::Instant::now() + CALLBACK_OFFER_WAIT;
        let wants = loop {
            tokio::select! {
                happening = self.session.next() => match happening {
                    Happening::Media(EndpointEvent::Dtmf(press)) if press.digit.as_char() == '1' => {
                        break true;
                    }
                    Happening::Ended(ended) => return Outcome::Over(ended),
                    _ => {}
                },
                () = tokio::time::sleep_until(deadline) => break false,
            }
        };
        let again = match wants {
            true => self.context.acd.enqueue(self.request.clone()).await,
            false => {
                let (context, cdr) = (self.context, self.cdr);
                let bye = say_then_hang_up(context, cdr, self.session, goodbye(), "flow_ended");
                return Outcome::Over(bye.await);
            }
        };
        let requested = match again {
            Ok(enqueued) => {
                let asked = self.context.acd.request_callback(&enqueued.id).await;
                asked.map(|()| enqueued).map_err(|e| e.to_string())
            }
            Err(error) => Err(error.to_string()),
        };
        match requested {
            Ok(enqueued) => {
                self.cdr.queued(&enqueued.id.0, &self.queue).await;
                self.contact = enqueued.id;
                self.updates = enqueued.updates;
                self.entered = Instant::now();
                self.call_back_later().await
            }
            Err(why) => {
                tracing::warn!(%why, "no callback for this call");
                let (context, cdr) = (self.context, self.cdr);
                let bye = say_then_hang_up(context, cdr, self.session, unserved(), "flow_ended");
                Outcome::Over(bye.await)
            }
        }
    }

    /// The caller asked for a callback: they are told, the call ends, and
    /// a callback task keeps their place in line.
    async fn call_back_later(mut self) -> Outcome {
        self.stop_ringing().await;
        tracing::info!(contact = %self.contact, "the caller will be called back");
        let request = CallbackRequest {
            tenant_id: self.tenant_id.to_owned(),
            queue: self.queue.clone(),
            customer: self.caller_id.name.clone(),
            contact: self.contact.clone(),
            updates: self.updates,
            entered: self.entered,
        };
        callback::spawn(self.context.clone(), request);
        let text = "Thank you. We will call you back when it is your turn. Goodbye.";
        let speech = Source::Speech {
            voice: "en".to_owned(),
            text: text.to_owned(),
        };
        if let Some(endpoint) = self.session.endpoint() {
            let _ = endpoint.stop_playing().await;
        }
        let ended = say_then_hang_up(
            self.context,
            self.cdr,
            self.session,
            speech,
            "callback_requested",
        );
        Outcome::Over(ended.await)
    }

    /// Bridges the caller to the agent who answered, until the call ends.
    async fn connect(self, offer: Offer, agent: AgentSide) -> Outcome {
        let waited = self.entered.elapsed();
        tracing::info!(agent = %offer.agent.extension, waited_ms = waited.as_millis() as u64,
            "the agent took the call");
        self.cdr.taken_by(&offer.agent.extension, waited).await;
        let (talked, talk_time) = join(
            self.context,
            self.cdr,
            self.routes,
            self.tenant_id,
            self.session,
            agent,
        )
        .await;
        if !talk_time.is_zero() {
            self.cdr.talked(talk_time).await;
        }
        // Also when the agent sent the caller to another queue: this
        // contact is over (the agent wraps up), the caller is a new one.
        if let Err(error) = self.context.acd.end(&self.contact).await {
            tracing::warn!(%error, "cannot end the contact");
        }
        let (context, cdr, routes) = (self.context, self.cdr, self.routes);
        Outcome::Over(settled(context, cdr, routes, self.tenant_id, talked).await)
    }
}

/// How a key is said.
fn key_name(key: char) -> String {
    match key {
        '*' => "star".to_owned(),
        '#' => "pound".to_owned(),
        digit => digit.to_string(),
    }
}

/// "You are number 2 in line. The expected wait is about 3 minutes."
fn place_in_line(position: usize, expected_wait: Duration) -> String {
    let minutes = expected_wait.as_secs().div_ceil(60);
    let wait = match minutes {
        0 => String::new(),
        1 => " The expected wait is about 1 minute.".to_owned(),
        n => format!(" The expected wait is about {n} minutes."),
    };
    format!("Please hold. You are number {position} in line.{wait}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_place_in_line_says_the_wait_in_whole_minutes_rounded_up() {
        assert_eq!(
            place_in_line(1, Duration::ZERO),
            "Please hold. You are number 1 in line."
        );
        assert_eq!(
            place_in_line(3, Duration::from_secs(61)),
            "Please hold. You are number 3 in line. The expected wait is about 2 minutes."
        );
        assert!(place_in_line(2, Duration::from_secs(30)).ends_with("about 1 minute."));
    }
}

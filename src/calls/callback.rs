//! Calling a customer back. A caller who pressed the queue's callback key
//! hung up keeping their place in line; this task holds their contact's
//! updates from then on. When the ACD offers the contact it rings the
//! agent's phones (G.711, as a queued call would); once the agent answers
//! and the ACD gives them the contact, it calls the customer — their
//! extension, or their number through a trunk ([`resolve`]) — for at most
//! 30 s, and bridges the two (recorded, supervisable) until either hangs
//! up. The callback has a call record of its own (direction `outbound`, to
//! the customer's number) with the contact, queue, agent, wait and talk
//! times. A refused or unanswered agent goes back to the ACD as for any
//! queued call; a customer who does not answer ends the contact.

use std::time::{Duration, Instant};

use kefu_media::sdp::{Codec, Direction, Negotiated};
use kefu_signaling::uas::CallEvent;
use tokio::sync::{mpsc, watch};

use super::bridge::{AgentSide, CallerId, Dialed, Dialing, hang_up};
use super::bridged::{Bridged, CallerSide};
use super::cdr::{Cdr, Parties};
use super::offer::{OfferRinging, Rung};
use super::queue::settled;
use super::session::Ended;
use super::transfer::resolve;
use super::{CallContext, LegRoutes};
use crate::routing::{ContactId, ContactUpdate, ContactUpdates};

/// How long the customer's phone rings.
const CUSTOMER_RING_TIMEOUT: Duration = Duration::from_secs(30);
/// What the agent's phone is offered: G.711 µ-law and telephone-events.
const AGENT_OFFER: Negotiated = Negotiated {
    codec: Codec::Pcmu,
    payload_type: 0,
    telephone_event: Some(101),
    remote: None,
    direction: Direction::SendRecv,
    ptime: 20,
};

/// A contact whose customer waits for a call back.
pub(super) struct CallbackRequest {
    pub tenant_id: String,
    pub queue: String,
    /// The number (or extension) to call back.
    pub customer: String,
    pub contact: ContactId,
    pub updates: ContactUpdates,
    /// When the customer entered the queue.
    pub entered: Instant,
}

/// Starts the callback's task.
pub(super) fn spawn(context: CallContext, request: CallbackRequest) {
    tokio::spawn(async move {
        let id = format!("callback-{:016x}", rand::random::<u64>());
        let Some((routes, events)) = context.calls.add_call(&id) else {
            return;
        };
        let parties = Parties {
            direction: "outbound",
            tenant_id: Some(&request.tenant_id),
            from_uri: "<sip:callback@kefu>",
            to_uri: &format!("<sip:{}@kefu>", request.customer),
            did: Some(&request.customer),
            sip_call_id: &id,
        };
        let cdr = Cdr::open_placed(&context.records, &parties).await;
        cdr.queued(&request.contact.0, &request.queue).await;
        let span = tracing::info_span!("callback", contact = %request.contact);
        let callback = Callback {
            context: &context,
            cdr: &cdr,
            routes: &routes,
            request,
        };
        let ended = tracing::Instrument::instrument(callback.run(events), span).await;
        cdr.end(&ended.reason()).await;
    });
}

struct Callback<'a> {
    context: &'a CallContext,
    cdr: &'a Cdr,
    routes: &'a LegRoutes,
    request: CallbackRequest,
}

impl Callback<'_> {
    /// Waits for an agent, then calls the customer; returns how it ended.
    async fn run(mut self, mut events: mpsc::UnboundedReceiver<CallEvent>) -> Ended {
        let mut stopping = self.context.stopping.clone();
        let mut ringing: Option<OfferRinging> = None;
        loop {
            tokio::select! {
                update = self.request.updates.next() => match update {
                    Some(ContactUpdate::Offered(offer)) => {
                        self.cancel(&mut ringing).await;
                        let shown = CallerId::named(&self.request.customer);
                        let offered = (self.request.tenant_id.as_str(), offer);
                        let (context, cdr, routes) = (self.context, self.cdr, self.routes);
                        ringing =
                            OfferRinging::start(context, cdr, routes, offered, &AGENT_OFFER, &shown)
                                .await;
                    }
                    Some(ContactUpdate::OfferEnded { .. }) => self.cancel(&mut ringing).await,
                    Some(ContactUpdate::Overflowed { to, .. }) => {
                        self.cdr.queued(&self.request.contact.0, &to).await;
                    }
                    Some(update) if update.is_final() => {
                        tracing::info!(?update, "the callback left the queue unserved");
                        self.cancel(&mut ringing).await;
                        return Ended::HungUp("callback_unserved".to_owned());
                    }
                    Some(_) => {}
                    None => return Ended::Shutdown,
                },
                event = events.recv() => {
                    let Some(event) = event else { return Ended::Shutdown };
                    let Some(offered) = ringing.as_mut() else { continue };
                    match offered.on_event(self.context, self.cdr, event).await {
                        Rung::Taken(taken) => {
                            let (offer, agent) = *taken;
                            let waited = self.request.entered.elapsed();
                            self.cdr.taken_by(&offer.agent.extension, waited).await;
                            let ended = self.call_customer(agent, events, stopping).await;
                            if let Err(error) = self.context.acd.end(&self.request.contact).await {
                                tracing::warn!(%error, "cannot end the contact");
                            }
                            return ended;
                        }
                        Rung::Over => ringing = None,
                        Rung::Ringing => {}
                    }
                }
                _ = stopping.changed() => {
                    self.cancel(&mut ringing).await;
                    return Ended::Shutdown;
                }
            }
        }
    }

    async fn cancel(&self, ringing: &mut Option<OfferRinging>) {
        if let Some(offered) = ringing.take() {
            offered.cancel(self.context, self.cdr).await;
        }
    }

    /// The agent is on the line: call the customer and bridge them.
    async fn call_customer(
        &self,
        agent: AgentSide,
        mut events: mpsc::UnboundedReceiver<CallEvent>,
        mut stopping: watch::Receiver<bool>,
    ) -> Ended {
        let (context, cdr) = (self.context, self.cdr);
        let (tenant_id, number) = (&self.request.tenant_id, &self.request.customer);
        let target = match resolve(context, tenant_id, number).await {
            Ok(Some(target)) => target,
            Ok(None) | Err(_) => {
                tracing::warn!(%number, "no way to call the customer back");
                hang_up(context, &agent.dialog).await;
                return Ended::HungUp("callback_unroutable".to_owned());
            }
        };
        let callee = target.customer(tenant_id, number);
        let offer = agent.media.negotiated;
        let shown = CallerId::named(&self.request.queue);
        let mut dialing =
            match Dialing::start(context, cdr, self.routes, &callee, &offer, &shown).await {
                Ok(dialing) => dialing,
                Err(unreachable) => {
                    tracing::info!(why = %unreachable.why, "the customer cannot be called");
                    hang_up(context, &agent.dialog).await;
                    return Ended::Refused(unreachable.status);
                }
            };
        let deadline = tokio::time::Instant::now() + CUSTOMER_RING_TIMEOUT;
        let customer = loop {
            let event = tokio::select! {
                event = events.recv() => event,
                () = tokio::time::sleep_until(deadline) => {
                    dialing.cancel_all(context, cdr).await;
                    hang_up(context, &agent.dialog).await;
                    return Ended::HungUp("customer_no_answer".to_owned());
                }
                _ = stopping.changed() => {
                    dialing.cancel_all(context, cdr).await;
                    hang_up(context, &agent.dialog).await;
                    return Ended::Shutdown;
                }
            };
            let Some(event) = event else {
                return Ended::Shutdown;
            };
            match dialing.on_event(context, cdr, event).await {
                Dialed::Answered(customer) => break customer,
                Dialed::Failed(status) => {
                    hang_up(context, &agent.dialog).await;
                    return Ended::Refused(status);
                }
                Dialed::Unusable(_) => {
                    hang_up(context, &agent.dialog).await;
                    return Ended::Refused(488);
                }
                Dialed::NotMine(CallEvent::Bye { dialog, .. }) if dialog == agent.dialog => {
                    dialing.cancel_all(context, cdr).await;
                    return Ended::CalleeHungUp;
                }
                Dialed::Ringing | Dialed::Nothing | Dialed::NotMine(_) => {}
            }
        };
        let caller = CallerSide {
            caller_id: CallerId::named(number),
            dialog: customer.dialog,
            media: customer.media,
            ports: customer.ports,
        };
        match Bridged::start(context, cdr, tenant_id, caller, agent).await {
            Ok(bridged) => {
                let talking = Instant::now();
                let talked = bridged
                    .talk(context, cdr, self.routes, events, stopping)
                    .await;
                cdr.talked(talking.elapsed()).await;
                settled(context, cdr, self.routes, tenant_id, talked).await
            }
            Err(ended) => ended,
        }
    }
}

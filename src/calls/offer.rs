//! Ringing the agent the ACD offers a voice contact to — for a caller
//! waiting in a queue ([`super::queue`]) and for a callback
//! ([`super::callback`]) alike. A phone that cannot be rung counts as an
//! unanswered offer; busy, declined or unusable answers decline it; the
//! first phone to answer is accepted in the ACD, and if the offer ended
//! meanwhile (the ACD's ring timeout) that phone is hung up.

use kefu_media::sdp::Negotiated;
use kefu_signaling::uas::CallEvent;

use super::bridge::{AgentSide, Callee, CallerId, Dialed, Dialing, hang_up};
use super::cdr::Cdr;
use super::{CallContext, LegRoutes};
use crate::routing::Offer;

/// An offered agent's phones, ringing.
pub(super) struct OfferRinging {
    offer: Offer,
    dialing: Dialing,
}

/// What a call event did to the ringing.
pub(super) enum Rung {
    /// The agent answered and the ACD gave them the contact: bridge them.
    Taken(Box<(Offer, AgentSide)>),
    /// Over without the agent: the ACD was told and offers the contact
    /// again as it sees fit.
    Over,
    /// Still ringing (or not an event of these phones).
    Ringing,
}

impl OfferRinging {
    /// Rings the phones of the offer's agent, offering `media` and showing
    /// `caller_id`; `None` when none can be rung (counted as unanswered).
    pub async fn start(
        context: &CallContext,
        cdr: &Cdr,
        routes: &LegRoutes,
        (tenant_id, offer): (&str, Offer),
        media: &Negotiated,
        caller_id: &CallerId,
    ) -> Option<Self> {
        let callee = Callee::Agent {
            tenant_id,
            extension: &offer.agent.extension,
        };
        match Dialing::start(context, cdr, routes, &callee, media, caller_id).await {
            Ok(dialing) => {
                tracing::info!(agent = %offer.agent.extension, "ringing the agent");
                Some(Self { offer, dialing })
            }
            Err(unreachable) => {
                tracing::info!(agent = %offer.agent.extension, why = %unreachable.why,
                    "the agent cannot be rung; counted as unanswered");
                if let Err(error) = context.acd.timeout(&offer).await {
                    tracing::debug!(%error, "the offer had ended already");
                }
                None
            }
        }
    }

    /// Takes one call event of the ringing phones.
    pub async fn on_event(&mut self, context: &CallContext, cdr: &Cdr, event: CallEvent) -> Rung {
        let agent = &self.offer.agent.extension;
        match self.dialing.on_event(context, cdr, event).await {
            Dialed::Answered(side) => match context.acd.accept(&self.offer).await {
                Ok(()) => Rung::Taken(Box::new((self.offer.clone(), side))),
                Err(error) => {
                    tracing::info!(%error, "the offer ended before the phone answered");
                    hang_up(context, &side.dialog).await;
                    Rung::Over
                }
            },
            Dialed::Failed(status) => {
                tracing::info!(%agent, status, "the agent's phones refused");
                self.decline(context).await;
                Rung::Over
            }
            Dialed::Unusable(why) => {
                tracing::info!(%agent, %why, "the agent's answer is unusable");
                self.decline(context).await;
                Rung::Over
            }
            Dialed::Ringing | Dialed::Nothing | Dialed::NotMine(_) => Rung::Ringing,
        }
    }

    /// Stops ringing (the offer ended, or the customer left).
    pub async fn cancel(mut self, context: &CallContext, cdr: &Cdr) {
        self.dialing.cancel_all(context, cdr).await;
    }

    async fn decline(&self, context: &CallContext) {
        if let Err(error) = context.acd.decline(&self.offer).await {
            tracing::debug!(%error, "the offer had ended already");
        }
    }
}

//! Attended transfer (RFC 3515 REFER with an RFC 3891 `Replaces`): the
//! callee's phone put the caller on hold, called someone else through kefu
//! (a second call, whose caller leg is that phone's), and now asks kefu to
//! join the caller to that someone. kefu is the far end of both of the
//! phone's dialogs, so it does what the `Replaces` asks itself, without a
//! new INVITE: the second call hands its callee's side (dialog, ports, SDP
//! state) over to this call ([`LiveCalls::hand_over`]), its events come
//! here from then on, and the relay joins the caller to it. The phone is
//! told (NOTIFY `200 OK`) and hung up in both calls; the second call ends
//! as `transferred`, and this call's record gets the adopted leg, naming
//! the call it came from.
//!
//! [`LiveCalls::hand_over`]: super::super::supervise::LiveCalls::hand_over

use std::time::Duration;

use kefu_signaling::dialog::DialogId;
use tokio::sync::oneshot;

use super::super::supervise::{HandOverError, HandedOver};
use super::{Bridged, Media};
use crate::calls::bridge::{AgentSide, hang_up};
use crate::calls::cdr::Cdr;
use crate::calls::refer::{Replaces, notify};
use crate::calls::session::{Ended, SideMedia};
use crate::calls::{Adopter, CallContext, LegRoutes};

/// How long the other call may take to hand its callee over (it answers
/// at once unless stuck; a pair of REFERs replacing each other's call
/// would otherwise wait for ever).
const HAND_OVER_TIMEOUT: Duration = Duration::from_secs(5);

impl Bridged {
    /// The callee's phone (`transferor`) asked to join the caller to the
    /// far side of the call whose dialog `replaces` names. The REFER has
    /// been accepted; the outcome goes to the phone as a NOTIFY.
    pub(super) async fn transfer_attended(
        &mut self,
        context: &CallContext,
        cdr: &Cdr,
        routes: &LegRoutes,
        transferor: &DialogId,
        replaces: &Replaces,
    ) -> Option<Ended> {
        let asked = context.live.hand_over(replaces, routes.adopter());
        let handed = match tokio::time::timeout(HAND_OVER_TIMEOUT, asked).await {
            Ok(Ok(handed)) => handed,
            Ok(Err(error)) => {
                tracing::info!(%error, call_id = %replaces.call_id, "attended transfer failed");
                let (status, reason) = error.status();
                notify(context, transferor, status, reason, true).await;
                return None;
            }
            Err(_) => {
                tracing::warn!(call_id = %replaces.call_id, "attended transfer: no hand-over in time");
                notify(context, transferor, 408, "Request Timeout", true).await;
                return None;
            }
        };
        let HandedOver { mut side, record } = handed;
        side.leg = match (cdr.id(), side.leg.as_deref()) {
            (Some(_), Some(leg)) => cdr.adopt_leg(leg).await,
            _ => None,
        };
        match self.put_through(context, cdr, side).await {
            Ok(_) => {
                tracing::info!(from = ?record, "attended transfer completed");
                notify(context, transferor, 200, "OK", true).await;
                hang_up(context, transferor).await;
                None
            }
            Err(ended) => ended,
        }
    }

    /// Another call takes this call's callee over (an attended transfer
    /// by the caller's phone): the callee's side goes to `adopter`'s call,
    /// the caller is hung up, and this call is over.
    pub(super) async fn hand_over(
        &mut self,
        context: &CallContext,
        cdr: &Cdr,
        adopter: &Adopter,
        reply: oneshot::Sender<Result<HandedOver, HandOverError>>,
    ) -> Option<Ended> {
        if self.supervisor.is_some() || self.transfer.is_some() {
            let _ = reply.send(Err(HandOverError::Busy));
            return None;
        }
        let caller_codec = self.sides[0].negotiated.codec;
        let callee_codec = self.sides[1].negotiated.codec;
        let ports = match self.media.take() {
            Some(Media::Relay(relay)) => match relay.release().await {
                Ok((stats, [_, callee_ports])) => {
                    cdr.caller_media(caller_codec, &stats.caller).await;
                    if let Some(leg) = &self.agent_leg {
                        cdr.leg_media(leg, callee_codec, &stats.agent).await;
                    }
                    Ok(callee_ports)
                }
                Err(error) => Err(error.to_string()),
            },
            Some(Media::Held {
                music,
                callee: ports,
            }) => match music.stop().await {
                Ok(stats) => {
                    cdr.caller_media(caller_codec, &stats).await;
                    Ok(ports)
                }
                Err(error) => Err(error.to_string()),
            },
            other => {
                self.media = other;
                let _ = reply.send(Err(HandOverError::Busy));
                return None;
            }
        };
        let ports = match ports {
            Ok(ports) => ports,
            Err(why) => {
                tracing::error!(%why, "cannot hand the callee over; the call's media is lost");
                let _ = reply.send(Err(HandOverError::MediaFailed));
                self.hang_up_all(context, cdr).await;
                return Some(Ended::HungUp("media_failed".to_owned()));
            }
        };
        adopter.adopt(&self.agent.call_id);
        let callee = &mut self.sides[1];
        let side = AgentSide {
            dialog: self.agent.clone(),
            media: SideMedia {
                negotiated: callee.negotiated,
                local: callee.local,
                session_id: callee.session_id,
                version: callee.version,
                // A browser callee's gateway goes along with its side.
                gateway: callee.gateway.take(),
            },
            ports,
            leg: self.agent_leg.take(),
        };
        let handed = HandedOver {
            side,
            record: cdr.id().map(str::to_owned),
        };
        if let Err(Ok(unwanted)) = reply.send(Ok(handed)) {
            // The asking call gave up waiting: nobody takes the callee.
            hang_up(context, &unwanted.side.dialog).await;
        }
        tracing::info!("the callee went on in another call (attended transfer)");
        hang_up(context, &self.caller).await;
        Some(Ended::Transferred)
    }
}

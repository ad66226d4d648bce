//! The IVR's `transfer` (`dial`) node: the answered caller is put through to
//! an extension or a number. `to` names a user of the tenant (their
//! registered phones ring, forked), else a number routed to a trunk, else a
//! number sent out through the tenant's first trunk that takes outbound
//! calls. The caller hears ringback meanwhile (the tone region's cadence);
//! the first phone to answer is bridged like a queued call ([`join`]), and
//! the flow is over. Busy or declined, unanswered in time, and anything else
//! give the node's `busy`, `no_answer` and `failed` exits, with the caller
//! still on the line.

use std::sync::Arc;
use std::time::Duration;

use kefu_media::endpoint::EndpointEvent;
use kefu_media::pcm::SampleRate;

use super::bridge::{Callee, CallerId, Dialed, Dialing};
use super::bridged::join;
use super::cdr::Cdr;
use super::queue::settled;
use super::session::{Ended, Happening, Session};
use super::{CallContext, LegRoutes};
use crate::ivr::exec::TransferFailure;
use crate::store::{RouteTarget, StoreError};

/// Where to and for how long.
pub(super) struct TransferRequest<'a> {
    pub tenant_id: &'a str,
    pub to: &'a str,
    pub timeout: Duration,
    /// Who the callee's phone is told is calling.
    pub caller_id: &'a CallerId,
}

/// How a transfer ended.
pub(super) enum Transferred {
    /// The callee answered; the call is over now.
    Over(Ended),
    /// It did not connect; the caller is still on the line.
    Failed {
        session: Box<Session>,
        why: TransferFailure,
    },
}

/// Puts the caller through to `request.to`. See the [module docs](self).
pub(super) async fn transfer(
    context: &CallContext,
    cdr: &Cdr,
    routes: &LegRoutes,
    mut session: Session,
    request: TransferRequest<'_>,
) -> Transferred {
    let failed = |session, why| Transferred::Failed {
        session: Box::new(session),
        why,
    };
    let target = match resolve(context, request.tenant_id, request.to).await {
        Ok(Some(target)) => target,
        Ok(None) => {
            tracing::info!(to = request.to, "nowhere to transfer to");
            return failed(session, TransferFailure::Failed);
        }
        Err(error) => {
            tracing::error!(%error, "cannot resolve a transfer target");
            return failed(session, TransferFailure::Failed);
        }
    };
    let callee = target.callee(request.tenant_id, request.to);
    let Some(caller) = session.negotiated().copied() else {
        return failed(session, TransferFailure::Failed);
    };
    let mut dialing =
        match Dialing::start(context, cdr, routes, &callee, &caller, request.caller_id).await {
            Ok(dialing) => dialing,
            Err(unreachable) => {
                tracing::info!(to = request.to, why = %unreachable.why, "transfer failed");
                return failed(session, failure(unreachable.status));
            }
        };
    let ringback: Arc<[i16]> = context
        .tones
        .ringback()
        .render_cycle(SampleRate::NARROWBAND)
        .into();
    if let Some(endpoint) = session.endpoint() {
        let _ = endpoint.play(ringback.clone()).await;
    }
    let deadline = tokio::time::Instant::now() + request.timeout;
    loop {
        let happening = tokio::select! {
            happening = session.next() => happening,
            () = tokio::time::sleep_until(deadline) => {
                dialing.cancel_all(context, cdr).await;
                stop_ringback(&session).await;
                return failed(session, TransferFailure::NoAnswer);
            }
        };
        match happening {
            Happening::Media(EndpointEvent::PlaybackFinished) => {
                if let Some(endpoint) = session.endpoint() {
                    let _ = endpoint.play(ringback.clone()).await;
                }
            }
            Happening::Media(_) | Happening::MediaStarted => {}
            Happening::Ended(ended) => {
                dialing.cancel_all(context, cdr).await;
                return Transferred::Over(ended);
            }
            Happening::Other(event) => match dialing.on_event(context, cdr, event).await {
                Dialed::Answered(callee) => {
                    tracing::info!(to = request.to, "transfer answered");
                    let (talked, _) =
                        join(context, cdr, routes, request.tenant_id, session, callee).await;
                    let tenant_id = request.tenant_id;
                    return Transferred::Over(
                        settled(context, cdr, routes, tenant_id, talked).await,
                    );
                }
                Dialed::Failed(status) => {
                    stop_ringback(&session).await;
                    return failed(session, failure(status));
                }
                Dialed::Unusable(_) => {
                    stop_ringback(&session).await;
                    return failed(session, TransferFailure::Failed);
                }
                Dialed::Ringing | Dialed::Nothing | Dialed::NotMine(_) => {}
            },
        }
    }
}

async fn stop_ringback(session: &Session) {
    if let Some(endpoint) = session.endpoint() {
        let _ = endpoint.stop_playing().await;
    }
}

/// The node's exit for a callee's final status.
fn failure(status: u16) -> TransferFailure {
    match status {
        486 | 600 | 603 => TransferFailure::Busy,
        408 | 480 | 487 => TransferFailure::NoAnswer,
        _ => TransferFailure::Failed,
    }
}

/// Whom a transfer rings.
pub(super) enum Target {
    Extension(String),
    /// The trunk `to` goes out through.
    Trunk(String),
}

impl Target {
    /// The callee to dial for `to` in the tenant.
    pub fn callee<'a>(&'a self, tenant_id: &'a str, to: &'a str) -> Callee<'a> {
        match self {
            Target::Extension(extension) => Callee::Agent {
                tenant_id,
                extension,
            },
            Target::Trunk(trunk) => Callee::Trunk {
                tenant_id,
                trunk,
                number: to,
            },
        }
    }

    /// The same, dialled as the customer of a callback.
    pub fn customer<'a>(&'a self, tenant_id: &'a str, to: &'a str) -> Callee<'a> {
        match self {
            Target::Extension(extension) => Callee::Customer {
                tenant_id,
                extension,
            },
            Target::Trunk(_) => self.callee(tenant_id, to),
        }
    }
}

/// The queue `to` names in the tenant — a queue's own name, or a number
/// routed to a queue — for a blind transfer to a queue.
pub(super) async fn queue_named(
    context: &CallContext,
    tenant_id: &str,
    to: &str,
) -> Result<Option<String>, StoreError> {
    let store = &context.store;
    if store.queues(tenant_id).await?.iter().any(|q| q.name == to) {
        return Ok(Some(to.to_owned()));
    }
    Ok(match store.number_route(tenant_id, to).await? {
        Some(route) => match route.route {
            RouteTarget::Queue(queue) => Some(queue),
            _ => None,
        },
        None => None,
    })
}

/// A user with extension `to`, else the trunk `to` is routed to, else the
/// tenant's first trunk that takes outbound calls (UDP with a host).
pub(super) async fn resolve(
    context: &CallContext,
    tenant_id: &str,
    to: &str,
) -> Result<Option<Target>, StoreError> {
    let store = &context.store;
    let user = store.user_by_username(tenant_id, to).await?;
    if user.is_some_and(|user| user.disabled_at.is_none()) {
        return Ok(Some(Target::Extension(to.to_owned())));
    }
    if let Some(route) = store.number_route(tenant_id, to).await? {
        if let RouteTarget::Trunk(trunk) = route.route {
            return Ok(Some(Target::Trunk(trunk)));
        }
    }
    let outbound = store.trunks(tenant_id).await?.into_iter().find(|trunk| {
        trunk.disabled_at.is_none() && trunk.transport == "udp" && trunk.host.is_some()
    });
    Ok(outbound.map(|trunk| Target::Trunk(trunk.name)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_statuses_map_to_the_nodes_exits() {
        assert_eq!(failure(486), TransferFailure::Busy);
        assert_eq!(failure(603), TransferFailure::Busy);
        assert_eq!(failure(480), TransferFailure::NoAnswer);
        assert_eq!(failure(404), TransferFailure::Failed);
        assert_eq!(failure(503), TransferFailure::Failed);
    }
}

//! One call from its INVITE to its end: route it, open its record, run what
//! the route asks for, and finish the record on every path out.

use kefu_signaling::message::response_to;
use kefu_signaling::transaction::{Peer, TransactionId};
use kefu_signaling::uas::CallEvent;
use rsip::Request;
use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt;
use tokio::sync::{mpsc, watch};
use tracing::Instrument;

use super::browser::{self, BrowserCaller};
use super::cdr::{Cdr, Parties};
use super::echo;
use super::feature::{self, FeatureCode};
use super::ivr::{self, FlowRef};
use super::route::{self, Refused, Routed, Sender};
use super::session::{Ended, refuse};
use super::{CallContext, LegRoutes, bridge, queue};
use crate::store::RouteTarget;

/// What a call task listens on: its events, its B-legs' routes, shutdown.
pub(super) struct Channels {
    pub events: mpsc::UnboundedReceiver<CallEvent>,
    pub routes: LegRoutes,
    pub stopping: watch::Receiver<bool>,
}

/// The INVITE that starts a call.
pub(super) struct Start {
    pub tx: TransactionId,
    pub invite: Request,
    pub source: Peer,
    /// The SIP user whose credentials the INVITE carried, verified.
    pub user: Option<String>,
    /// The gateway answering a WebRTC caller; its INVITE's body is then the
    /// gateway's plain offer.
    pub browser: Option<BrowserCaller>,
}

/// Runs the call until it ends.
pub(super) async fn run(
    context: CallContext,
    mut start: Start,
    events: mpsc::UnboundedReceiver<CallEvent>,
    routes: LegRoutes,
    stopping: watch::Receiver<bool>,
) {
    let sip_call_id = header(&start.invite, |r| r.call_id_header().map(|h| h.value()));
    let span = tracing::info_span!("call", sip_call_id = %sip_call_id);
    async move {
        if let Some(code) = FeatureCode::dialled(&start.invite) {
            if start.user.is_none() {
                // Out of the registry before the retry with credentials can
                // come, so that it starts a call of its own.
                drop(routes);
                return challenge(&context, &start);
            }
            return feature::run(&context, &start, code, events, stopping).await;
        }
        let sender = Sender {
            source: start.source.addr.ip(),
            user: start.user.as_deref(),
            realm: &context.sip_realm,
        };
        let routed = match route::route(&context.store, &start.invite, &sender).await {
            Ok(Ok(routed)) => routed,
            Ok(Err(refused)) if refused.challenge => {
                drop(routes);
                return challenge(&context, &start);
            }
            Ok(Err(refused)) => return refuse_route(&context, &start, refused).await,
            Err(error) => {
                tracing::error!(%error, "cannot route a call: storage failed");
                let busy = response_to(&start.invite, 503, "Service Unavailable");
                let _ = context.sip.respond(start.tx, busy).await;
                metrics::counter!("kefu_calls_total", "outcome" => "storage_error").increment(1);
                return;
            }
        };
        metrics::counter!("kefu_calls_total", "outcome" => "routed").increment(1);
        let cdr = open_record(
            &context,
            &start,
            routed.direction,
            Some(&routed.tenant_id),
            Some(&routed.did),
        )
        .await;
        tracing::info!(did = %routed.did, target = ?routed.target, cdr = cdr.id(), "call routed");
        if browser::is_webrtc(&start.invite.body) {
            match BrowserCaller::answer(&context, &start.invite.body) {
                Ok((gateway, plain)) => {
                    start.invite.body = plain.into_bytes();
                    start.browser = Some(gateway);
                }
                Err(why) => {
                    let why = Some(why.as_str());
                    let ended = refuse(&context, &start, &cdr, 488, "Not Acceptable Here", why);
                    cdr.end(&ended.await.reason()).await;
                    return;
                }
            }
        }
        let channels = Channels {
            events,
            routes,
            stopping,
        };
        let ended = serve(&context, &start, &routed, &cdr, channels).await;
        tracing::info!(reason = %ended.reason(), "call ended");
        cdr.end(&ended.reason()).await;
    }
    .instrument(span)
    .await;
}

/// Runs the route's target.
async fn serve(
    context: &CallContext,
    start: &Start,
    routed: &Routed,
    cdr: &Cdr,
    channels: Channels,
) -> Ended {
    let Channels {
        events,
        routes,
        stopping,
    } = channels;
    match &routed.target {
        RouteTarget::Agent(extension) => {
            let agent = bridge::Callee::Agent {
                tenant_id: &routed.tenant_id,
                extension,
            };
            bridge::run(context, start, cdr, agent, events, routes, stopping).await
        }
        RouteTarget::Trunk(trunk) => {
            let out = bridge::Callee::Trunk {
                tenant_id: &routed.tenant_id,
                trunk,
                number: &routed.did,
            };
            bridge::run(context, start, cdr, out, events, routes, stopping).await
        }
        RouteTarget::Echo => echo::run(context, start, cdr, events, stopping).await,
        RouteTarget::Ivr(name) => {
            let flow = FlowRef {
                tenant_id: &routed.tenant_id,
                name,
                did: &routed.did,
            };
            ivr::run(context, start, cdr, flow, events, &routes, stopping).await
        }
        RouteTarget::Queue(name) => {
            let queue = queue::Direct {
                tenant_id: &routed.tenant_id,
                queue: name,
            };
            queue::serve(context, start, cdr, queue, events, &routes, stopping).await
        }
    }
}

/// Asks for digest credentials (401); the INVITE comes again with them as
/// a new call, so the caller's task must have left the registry first.
fn challenge(context: &CallContext, start: &Start) {
    metrics::counter!("kefu_calls_total", "outcome" => "challenged").increment(1);
    context.sip.challenge(start.tx);
}

/// Answers a refused INVITE; calls from trusted trunks get a record too.
async fn refuse_route(context: &CallContext, start: &Start, refused: Refused) {
    let outcome = if refused.status == 403 {
        "forbidden"
    } else {
        "not_found"
    };
    metrics::counter!("kefu_calls_total", "outcome" => outcome).increment(1);
    tracing::info!(status = refused.status, source = %start.source.addr, "call refused");
    let response = response_to(&start.invite, refused.status, refused.reason);
    let _ = context.sip.respond(start.tx, response).await;
    if let Some(tenant_id) = &refused.tenant_id {
        let cdr = open_record(
            context,
            start,
            "inbound",
            Some(tenant_id),
            refused.did.as_deref(),
        )
        .await;
        cdr.caller_setup_finished(refused.status).await;
        cdr.end(&Ended::Refused(refused.status).reason()).await;
    }
}

/// Answers 482 to a second INVITE with the Call-ID of a call in progress but
/// no To tag: a loop or a merged request (RFC 3261 §8.2.2.2).
pub(super) async fn refuse_merged(context: &CallContext, tx: TransactionId, invite: &Request) {
    let response = response_to(invite, 482, "Loop Detected");
    let _ = context.sip.respond(tx, response).await;
}

pub(super) async fn open_record(
    context: &CallContext,
    start: &Start,
    direction: &'static str,
    tenant_id: Option<&str>,
    did: Option<&str>,
) -> Cdr {
    let from_uri = header(&start.invite, |r| r.from_header().map(|h| h.value()));
    let to_uri = header(&start.invite, |r| r.to_header().map(|h| h.value()));
    let sip_call_id = header(&start.invite, |r| r.call_id_header().map(|h| h.value()));
    let parties = Parties {
        direction,
        tenant_id,
        from_uri: &from_uri,
        to_uri: &to_uri,
        did,
        sip_call_id: &sip_call_id,
    };
    Cdr::open(&context.records, &parties).await
}

/// The caller's number: the user part of the From URI.
pub(super) fn caller_number(invite: &Request) -> Option<String> {
    use rsip::headers::ToTypedHeader;
    let from = invite.from_header().ok()?.typed().ok()?;
    from.uri.user().map(str::to_owned)
}

fn header<'a>(
    request: &'a Request,
    pick: impl Fn(&'a Request) -> Result<&'a str, rsip::Error>,
) -> String {
    pick(request).unwrap_or_default().to_owned()
}

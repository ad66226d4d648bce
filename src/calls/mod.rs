//! Call control: where kefu-signaling's INVITE sessions meet media, routing
//! and the call detail record.
//!
//! [`CallControl::start`] runs a dispatcher task over the SIP driver's
//! [`CallChannel`]: each dialog-creating INVITE gets a task of its own
//! ([`call`]), which decides where the call goes ([`route`]: trusted trunk,
//! DID), writes its CDR ([`cdr`]), answers with media anchored in kefu
//! ([`session`]) and runs what the route asks for: the echo test ([`echo`])
//! or an IVR flow ([`ivr`]).
//! Every later event of that Call-ID goes to the same task. On shutdown each
//! call is hung up (BYE, or 503 before the answer) and its CDR finished.

mod call;
mod cdr;
mod echo;
mod ivr;
mod route;
mod session;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use kefu_media::driver::ports::PortAllocator;
use kefu_signaling::driver::{CallChannel, SipCommands};
use kefu_signaling::uas::CallEvent;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::store::Store;

pub use ivr::Prompts;

/// What every call task shares.
#[derive(Clone)]
pub(crate) struct CallContext {
    pub store: Store,
    pub sip: SipCommands,
    pub media: Media,
    pub prompts: Arc<Prompts>,
}

/// Where calls' media lives: the RTP port pool and the address announced in SDP.
#[derive(Debug, Clone)]
pub struct Media {
    /// RTP/RTCP port pairs, bound on `address`.
    pub ports: PortAllocator,
    /// The address in our SDP.
    pub address: IpAddr,
}

/// The running call control. See the [module docs](self).
pub struct CallControl {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl CallControl {
    /// Starts dispatching the driver's call events.
    pub fn start(store: Store, channel: CallChannel, media: Media, prompts: Prompts) -> Self {
        metrics::describe_gauge!("kefu_calls_active", "Calls in progress");
        metrics::describe_counter!("kefu_calls_total", "Calls received, by outcome of routing");
        let (shutdown, stopping) = watch::channel(false);
        let context = CallContext {
            store,
            sip: channel.commands,
            media,
            prompts: Arc::new(prompts),
        };
        let task = tokio::spawn(dispatch(context, channel.events, stopping));
        Self { shutdown, task }
    }

    /// Hangs up every call and waits (at most `limit`) for their records to be
    /// finished.
    pub async fn shutdown(self, limit: Duration) {
        let _ = self.shutdown.send(true);
        if tokio::time::timeout(limit, self.task).await.is_err() {
            tracing::warn!("calls still ending at shutdown; their records may stay open");
        }
    }
}

/// Hands each event to its call's task, starting one per new INVITE.
async fn dispatch(
    context: CallContext,
    mut events: mpsc::UnboundedReceiver<CallEvent>,
    mut stopping: watch::Receiver<bool>,
) {
    let mut calls: HashMap<String, mpsc::UnboundedSender<CallEvent>> = HashMap::new();
    let (ended, mut ended_calls) = mpsc::unbounded_channel::<String>();
    let mut draining = false;
    loop {
        tokio::select! {
            event = events.recv(), if !draining => match event {
                Some(CallEvent::Invite { tx, request, source }) => {
                    let call_id = CallEvent::Invite { tx, request: request.clone(), source }
                        .call_id()
                        .to_owned();
                    if calls.contains_key(&call_id) {
                        call::refuse_merged(&context, tx, &request).await;
                        continue;
                    }
                    let (sender, receiver) = mpsc::unbounded_channel();
                    calls.insert(call_id.clone(), sender);
                    metrics::gauge!("kefu_calls_active").set(calls.len() as f64);
                    let start = call::Start { tx, invite: *request, source };
                    let task = call::run(context.clone(), start, receiver, stopping.clone());
                    let ended = ended.clone();
                    tokio::spawn(async move {
                        task.await;
                        let _ = ended.send(call_id);
                    });
                }
                Some(event) => match calls.get(event.call_id()) {
                    Some(call) => {
                        let _ = call.send(event);
                    }
                    None => tracing::debug!(call_id = event.call_id(), "event for no call"),
                },
                None => draining = true,
            },
            Some(call_id) = ended_calls.recv() => {
                calls.remove(&call_id);
                metrics::gauge!("kefu_calls_active").set(calls.len() as f64);
                if draining && calls.is_empty() {
                    return;
                }
            }
            _ = stopping.changed(), if !draining => {
                draining = true;
                if calls.is_empty() {
                    return;
                }
            }
        }
    }
}

//! Call control: where kefu-signaling's INVITE sessions meet media, routing
//! and the call detail record.
//!
//! [`CallControl::start`] runs a dispatcher task over the SIP driver's
//! [`CallChannel`]: each dialog-creating INVITE gets a task of its own
//! ([`call`]), which decides where the call goes ([`route`]: trusted trunk,
//! DID), writes its CDR ([`cdr`]), answers with media anchored in kefu
//! ([`session`]) and runs what the route asks for: the echo test ([`echo`])
//! or an IVR flow ([`ivr`], whose `webhook` nodes call out through
//! [`webhook`]).
//! Every later event of that Call-ID goes to the same task. On shutdown each
//! call is hung up (BYE, or 503 before the answer) and its CDR finished.

mod bridge;
mod bridged;
mod browser;
mod call;
mod callback;
mod cdr;
mod echo;
mod feature;
mod ivr;
mod legs;
mod music;
mod offer;
mod queue;
mod recording;
mod records;
mod refer;
mod route;
mod session;
mod supervise;
mod transfer;
mod voicemail;
mod webhook;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use kefu_media::driver::ports::PortAllocator;
use kefu_media::tone::ToneRegion;
use kefu_signaling::driver::{CallChannel, SipCommands};
use kefu_signaling::uas::CallEvent;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::routing::AcdHandle;
use crate::store::Store;

pub use ivr::Prompts;
pub use supervise::{LiveCallView, LiveCalls, SuperviseError, SupervisionView};

/// What every call task shares.
#[derive(Clone)]
pub(crate) struct CallContext {
    pub store: Store,
    pub sip: SipCommands,
    pub media: Media,
    pub prompts: Arc<Prompts>,
    /// The realm whose users may place calls with digest credentials.
    pub sip_realm: String,
    /// Where recordings are written (`DATA_DIR/recordings/...`).
    pub data_dir: std::path::PathBuf,
    /// Whether bridged calls are recorded.
    pub record: bool,
    /// The ACD, which queued calls wait in.
    pub acd: AcdHandle,
    /// Whose ringback and busy tones callers hear.
    pub tones: ToneRegion,
    /// The bridged calls, for supervisors.
    pub live: LiveCalls,
    /// Which task each Call-ID's events go to (callbacks join it too).
    pub calls: Registry,
    /// Where calls' records are written.
    pub records: records::Records,
    /// Turns true when kefu stops.
    pub stopping: watch::Receiver<bool>,
    /// Headers of a caller's INVITE copied onto the calls placed for it.
    pub forward_headers: Vec<String>,
}

/// Where calls' media lives: the RTP port pool and the address announced in
/// SDP, and whose call-progress tones callers hear.
#[derive(Debug, Clone)]
pub struct Media {
    /// RTP/RTCP port pairs, bound on `address`.
    pub ports: PortAllocator,
    /// The address in our SDP.
    pub address: IpAddr,
    /// `media.public_ip`: the NAT's public address of `address`, one more
    /// ICE candidate for browsers.
    pub public_ip: Option<IpAddr>,
    /// `media.tone_region`.
    pub tones: ToneRegion,
}

/// What calls take from the SIP configuration.
pub struct SipSettings {
    /// The realm whose users may place calls with digest credentials.
    pub realm: String,
    /// `sip.forward_headers`: headers copied from a caller's INVITE onto
    /// the calls placed for it.
    pub forward_headers: Vec<String>,
}

/// Where and whether bridged calls are recorded.
pub struct Recordings {
    /// The data dir; files go under `recordings/`.
    pub data_dir: std::path::PathBuf,
    /// `recordings.enabled`.
    pub enabled: bool,
}

/// The running call control. See the [module docs](self).
pub struct CallControl {
    shutdown: watch::Sender<bool>,
    task: JoinHandle<()>,
    live: LiveCalls,
}

impl CallControl {
    /// Starts dispatching the driver's call events.
    pub fn start(
        store: Store,
        channel: CallChannel,
        media: Media,
        prompts: Prompts,
        sip: SipSettings,
        recordings: Recordings,
        acd: AcdHandle,
    ) -> Self {
        metrics::describe_gauge!("kefu_calls_active", "Calls in progress");
        metrics::describe_counter!("kefu_calls_total", "Calls received, by outcome of routing");
        metrics::describe_histogram!(
            "kefu_rtp_jitter_seconds",
            "Interarrival jitter of each finished call leg's incoming RTP"
        );
        metrics::describe_histogram!(
            "kefu_rtp_rtt_seconds",
            "Round-trip time of each finished call leg, from its peer's RTCP reports"
        );
        metrics::describe_counter!(
            "kefu_rtp_packets_lost_total",
            "RTP packets lost by peers on the way to kefu"
        );
        metrics::describe_counter!(
            "kefu_rtp_packets_received_total",
            "RTP packets received on finished call legs"
        );
        metrics::describe_histogram!(
            "kefu_call_record_batch_writes",
            "Call record writes stored per transaction by the records' writer"
        );
        metrics::describe_counter!(
            "kefu_rtp_foreign_dropped_total",
            "Packets dropped for coming from another address than a leg's peer (RTP bleed)"
        );
        let (shutdown, stopping) = watch::channel(false);
        let tones = media.tones;
        let live = LiveCalls::default();
        let context = CallContext {
            records: records::Records::start(store.clone()),
            store,
            sip: channel.commands,
            media,
            prompts: Arc::new(prompts),
            sip_realm: sip.realm,
            data_dir: recordings.data_dir,
            record: recordings.enabled,
            acd,
            tones,
            live: live.clone(),
            calls: Registry::default(),
            stopping: stopping.clone(),
            forward_headers: sip.forward_headers,
        };
        let task = tokio::spawn(dispatch(context, channel.events, stopping));
        Self {
            shutdown,
            task,
            live,
        }
    }

    /// The bridged calls, for supervisors (shared with the HTTP API).
    pub fn live(&self) -> LiveCalls {
        self.live.clone()
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

/// Which call task each Call-ID's events go to: the caller's Call-ID and
/// those of the B-legs the call made. Shared by the dispatcher and the calls.
#[derive(Clone, Default)]
pub(crate) struct Registry(Arc<Mutex<RegistryInner>>);

#[derive(Default)]
struct RegistryInner {
    routes: HashMap<String, (u64, mpsc::UnboundedSender<CallEvent>)>,
    /// Each call's Call-IDs, so that a call leaves without a scan of every
    /// route (some may have gone to another call since: an attended
    /// transfer).
    calls: HashMap<u64, Vec<String>>,
    next_call: u64,
}

impl RegistryInner {
    fn insert(&mut self, call_id: &str, call: u64, sender: mpsc::UnboundedSender<CallEvent>) {
        self.routes.insert(call_id.to_owned(), (call, sender));
        self.calls.entry(call).or_default().push(call_id.to_owned());
    }
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, RegistryInner> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Registers a new call under `call_id`; `None` if that Call-ID is taken.
    pub(crate) fn add_call(
        &self,
        call_id: &str,
    ) -> Option<(LegRoutes, mpsc::UnboundedReceiver<CallEvent>)> {
        let mut inner = self.lock();
        if inner.routes.contains_key(call_id) {
            return None;
        }
        inner.next_call += 1;
        let call = inner.next_call;
        let (sender, receiver) = mpsc::unbounded_channel();
        inner.insert(call_id, call, sender.clone());
        let routes = LegRoutes {
            registry: self.clone(),
            call,
            sender,
        };
        Some((routes, receiver))
    }

    /// Hands `event` to its call; false when no call has its Call-ID.
    fn route(&self, event: CallEvent) -> bool {
        let inner = self.lock();
        match inner.routes.get(event.call_id()) {
            Some((_, sender)) => sender.send(event).is_ok(),
            None => false,
        }
    }

    /// Forgets every Call-ID of `call`; returns how many calls remain.
    fn remove_call(&self, call: u64) -> usize {
        let mut inner = self.lock();
        for call_id in inner.calls.remove(&call).unwrap_or_default() {
            if inner
                .routes
                .get(&call_id)
                .is_some_and(|(owner, _)| *owner == call)
            {
                inner.routes.remove(&call_id);
            }
        }
        inner.calls.len()
    }
}

/// A call's hold on the registry: B-legs it starts add their Call-IDs.
pub(crate) struct LegRoutes {
    registry: Registry,
    call: u64,
    sender: mpsc::UnboundedSender<CallEvent>,
}

/// A call that ends stops receiving at once, so that an INVITE retried with
/// the same Call-ID (after a challenge) starts a new call.
impl Drop for LegRoutes {
    fn drop(&mut self) {
        self.registry.remove_call(self.call);
    }
}

impl LegRoutes {
    /// Routes the events of `call_id` (a B-leg's) to this call.
    pub fn add(&self, call_id: &str) {
        self.adopter().adopt(call_id);
    }

    /// A handle another call uses to give this call one of its legs.
    pub fn adopter(&self) -> Adopter {
        Adopter {
            registry: self.registry.clone(),
            call: self.call,
            sender: self.sender.clone(),
        }
    }
}

/// Routes a leg's events to the call that takes it over from another (an
/// attended transfer): from [`Adopter::adopt`] on, they go to that call.
pub(crate) struct Adopter {
    registry: Registry,
    call: u64,
    sender: mpsc::UnboundedSender<CallEvent>,
}

impl std::fmt::Debug for Adopter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Adopter").field("call", &self.call).finish()
    }
}

impl Adopter {
    /// Routes the events of `call_id` to the adopting call.
    pub fn adopt(&self, call_id: &str) {
        self.registry
            .lock()
            .insert(call_id, self.call, self.sender.clone());
    }
}

/// Hands each event to its call's task, starting one per new INVITE.
async fn dispatch(
    context: CallContext,
    mut events: mpsc::UnboundedReceiver<CallEvent>,
    mut stopping: watch::Receiver<bool>,
) {
    let registry = context.calls.clone();
    let (ended, mut ended_calls) = mpsc::unbounded_channel::<u64>();
    let mut active = 0_usize;
    let mut draining = false;
    loop {
        tokio::select! {
            event = events.recv(), if !draining => match event {
                Some(invite @ CallEvent::Invite { .. }) => {
                    let call_id = invite.call_id().to_owned();
                    let CallEvent::Invite { tx, request, source, user } = invite else {
                        continue;
                    };
                    let Some((routes, receiver)) = registry.add_call(&call_id) else {
                        call::refuse_merged(&context, tx, &request).await;
                        continue;
                    };
                    active += 1;
                    metrics::gauge!("kefu_calls_active").set(active as f64);
                    let call = routes.call;
                    let start = call::Start { tx, invite: *request, source, user, browser: None };
                    let task = call::run(context.clone(), start, receiver, routes, stopping.clone());
                    let ended = ended.clone();
                    tokio::spawn(async move {
                        task.await;
                        let _ = ended.send(call);
                    });
                }
                Some(event) => {
                    let call_id = event.call_id().to_owned();
                    if !registry.route(event) {
                        tracing::debug!(%call_id, "event for no call");
                    }
                }
                None => draining = true,
            },
            Some(call) = ended_calls.recv() => {
                active = registry.remove_call(call);
                metrics::gauge!("kefu_calls_active").set(active as f64);
                if draining && active == 0 {
                    return;
                }
            }
            _ = stopping.changed(), if !draining => {
                draining = true;
                if active == 0 {
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bye(call_id: &str) -> CallEvent {
        let dialog = kefu_signaling::dialog::DialogId {
            call_id: call_id.to_owned(),
            local_tag: "kefu".to_owned(),
            remote_tag: "phone".to_owned(),
        };
        CallEvent::AckTimeout { dialog }
    }

    #[test]
    fn a_call_leaves_with_its_legs_but_not_those_another_call_adopted() {
        let registry = Registry::default();
        let (first, _first_events) = registry.add_call("a").unwrap();
        let (second, mut second_events) = registry.add_call("b").unwrap();
        first.add("a-leg");
        first.add("a-other-leg");
        second.adopter().adopt("a-other-leg");
        assert!(registry.add_call("a").is_none(), "a Call-ID in use");
        drop(first);
        assert!(!registry.route(bye("a")), "gone with its call");
        assert!(!registry.route(bye("a-leg")));
        assert!(registry.route(bye("a-other-leg")), "the adopter keeps it");
        assert!(second_events.try_recv().is_ok());
        assert_eq!(registry.remove_call(second.call), 0, "no call is left");
    }
}

//! One tokio task per browser WebRTC session: it owns two port pairs — the
//! browser-facing one, whose RTP port carries ICE, DTLS and SRTP multiplexed
//! (the browser uses rtcp-mux, so its RTCP port is only held), and the
//! engine-facing one, whose RTP and RTCP ports talk plain RTP to the
//! engine's leg on 127.0.0.1 — and runs a sans-IO [`Gateway`] between them.
//! It waits until a socket is readable, the gateway's timer is due or call
//! control sends a command, feeds the waiting datagrams (a bounded burst per
//! wake-up) into the gateway and sends what it returns. Through the
//! [`WebRtcHandle`] call control reads the SDP answer and the negotiated
//! codec, names the engine's leg once it exists, receives connection changes
//! and key presses, and reads statistics. The task stops when the handle
//! says so (or is dropped), sending the browser a DTLS close_notify; the
//! ports return to their pools then.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use tokio::net::UdpSocket;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use super::STATS_INTERVAL;
use super::leg_sockets::{LegSockets, MAX_DATAGRAM, Request, TaskEnded, receive_burst, request};
use super::ports::PortPair;
use crate::webrtc::gateway::{
    Gateway, GatewayConfig, GatewayError, GatewayEvent, GatewayStats, Side,
};
use crate::webrtc::offer::{GatewayCodec, OfferError};

/// Events kept for call control; more are dropped rather than stall media.
const EVENT_QUEUE: usize = 32;
/// Call-control commands waiting for the task.
const COMMAND_QUEUE: usize = 8;

/// Why a gateway task could not start or finish.
#[derive(Debug, thiserror::Error)]
pub enum WebRtcTaskError {
    #[error(transparent)]
    Gateway(#[from] GatewayError),
    #[error("could not hand the gateway's ports to tokio: {0}")]
    Socket(io::Error),
    #[error("the WebRTC gateway task ended abnormally: {0}")]
    Task(#[from] tokio::task::JoinError),
    #[error("the WebRTC gateway task has ended")]
    Ended,
}

impl From<TaskEnded> for WebRtcTaskError {
    fn from(_: TaskEnded) -> Self {
        Self::Ended
    }
}

/// Controls a running gateway task.
#[derive(Debug)]
pub struct WebRtcHandle {
    stop: oneshot::Sender<()>,
    task: JoinHandle<GatewayStats>,
    stats: watch::Receiver<GatewayStats>,
    events: mpsc::Receiver<GatewayEvent>,
    commands: mpsc::Sender<Request<Command>>,
    local_sdp: String,
    codec: GatewayCodec,
    browser: SocketAddr,
    engine: SocketAddr,
}

impl WebRtcHandle {
    /// Our SDP for the browser: the answer to its offer, or (after
    /// [`WebRtcOffer::accept`]) the offer it answered.
    pub fn local_sdp(&self) -> &str {
        &self.local_sdp
    }

    /// The negotiated codec and payload types, for the engine's leg.
    pub fn codec(&self) -> GatewayCodec {
        self.codec
    }

    /// The browser-facing socket (the port in the answer's candidates).
    pub fn browser_addr(&self) -> SocketAddr {
        self.browser
    }

    /// Where the engine's leg sends plain RTP for the browser (its RTCP
    /// goes to the next port).
    pub fn rtp_addr_for_engine(&self) -> SocketAddr {
        self.engine
    }

    /// Names the engine's leg: where browser audio goes and the only source
    /// of engine-side RTP accepted; returns once applied.
    pub async fn set_engine_peer(&self, peer: SocketAddr) -> Result<(), WebRtcTaskError> {
        Ok(request(&self.commands, Command::SetEnginePeer(peer)).await?)
    }

    /// Answers the browser's new offer in the same session (hold, resume;
    /// see [`Gateway::answer_reoffer`]).
    pub async fn answer_reoffer(&self, offer: &str) -> Result<String, WebRtcTaskError> {
        let (answer, answered) = oneshot::channel();
        let command = Command::Reoffer {
            offer: offer.to_owned(),
            answer,
        };
        request(&self.commands, command).await?;
        let answer = answered.await.map_err(|_| TaskEnded)?;
        answer.map_err(|error| WebRtcTaskError::Gateway(error.into()))
    }

    /// The next connection change or key press; None once the task has
    /// ended. Beyond 32 unread events, new ones are dropped rather than
    /// stall the media.
    pub async fn next_event(&mut self) -> Option<GatewayEvent> {
        self.events.recv().await
    }

    /// The statistics as of at most [`STATS_INTERVAL`] ago, for metrics.
    pub fn stats(&self) -> GatewayStats {
        *self.stats.borrow()
    }

    /// Closes the session towards the browser, stops the task and returns
    /// the final statistics; the ports go back to their pools.
    pub async fn stop(self) -> Result<GatewayStats, WebRtcTaskError> {
        // The task may have ended already; its result says how.
        let _ = self.stop.send(());
        Ok(self.task.await?)
    }
}

/// Answers the browser's `offer` and starts its gateway on the current
/// tokio runtime: `browser` faces the browser (its RTP port is the ICE
/// candidates' port), `engine` faces the engine's leg.
pub fn spawn_webrtc_gateway(
    config: &GatewayConfig,
    offer: &str,
    browser: PortPair,
    engine: PortPair,
) -> Result<WebRtcHandle, WebRtcTaskError> {
    let browser_addr = browser.rtp.local_addr().map_err(WebRtcTaskError::Socket)?;
    let gateway = Gateway::new(config, browser_addr.port(), offer, Instant::now())?;
    spawn(gateway, browser, engine)
}

/// A gateway whose offer waits for the browser's answer (kefu calls a
/// browser). Nothing runs yet: what the browser sends before its answer is
/// read from the socket once [`Self::accept`] starts the task (ICE retries
/// its checks meanwhile). Dropping it returns the ports to their pools.
#[derive(Debug)]
pub struct WebRtcOffer {
    /// Boxed: a gateway is large, and offers are moved about while phones ring.
    gateway: Box<Gateway>,
    browser: PortPair,
    engine: PortPair,
}

impl WebRtcOffer {
    /// The SDP offer to send to the browser.
    pub fn offer(&self) -> &str {
        self.gateway.local_sdp()
    }

    /// The codec offered; after [`Self::accept`], [`WebRtcHandle::codec`]
    /// says whether the browser kept the telephone-event.
    pub fn codec(&self) -> GatewayCodec {
        self.gateway.codec()
    }

    /// Takes the browser's answer and starts the gateway's task on the
    /// current tokio runtime.
    pub fn accept(mut self, answer: &str) -> Result<WebRtcHandle, WebRtcTaskError> {
        self.gateway
            .accept_answer(answer, Instant::now())
            .map_err(GatewayError::from)?;
        spawn(*self.gateway, self.browser, self.engine)
    }
}

/// Makes an offer in `codec` for a browser kefu calls; see [`WebRtcOffer`].
pub fn offer_webrtc_gateway(
    config: &GatewayConfig,
    codec: GatewayCodec,
    browser: PortPair,
    engine: PortPair,
) -> Result<WebRtcOffer, WebRtcTaskError> {
    let browser_addr = browser.rtp.local_addr().map_err(WebRtcTaskError::Socket)?;
    let gateway = Gateway::offering(config, browser_addr.port(), codec, Instant::now())?;
    Ok(WebRtcOffer {
        gateway: Box::new(gateway),
        browser,
        engine,
    })
}

fn spawn(
    gateway: Gateway,
    browser: PortPair,
    engine: PortPair,
) -> Result<WebRtcHandle, WebRtcTaskError> {
    let browser_addr = browser.rtp.local_addr().map_err(WebRtcTaskError::Socket)?;
    let engine_addr = engine.rtp.local_addr().map_err(WebRtcTaskError::Socket)?;
    let browser = LegSockets::new(browser).map_err(WebRtcTaskError::Socket)?;
    let engine = LegSockets::new(engine).map_err(WebRtcTaskError::Socket)?;
    let local_sdp = gateway.local_sdp().to_owned();
    let codec = gateway.codec();
    let (stop, stopped) = oneshot::channel();
    let (publish, stats) = watch::channel(gateway.stats());
    let (report_event, events) = mpsc::channel(EVENT_QUEUE);
    let (commands, received_commands) = mpsc::channel(COMMAND_QUEUE);
    let sockets = Sockets { browser, engine };
    let outputs = Outputs {
        stats: publish,
        events: report_event,
    };
    let task = tokio::spawn(run(gateway, sockets, stopped, received_commands, outputs));
    Ok(WebRtcHandle {
        stop,
        task,
        stats,
        events,
        commands,
        local_sdp,
        codec,
        browser: browser_addr,
        engine: engine_addr,
    })
}

/// What call control asks of a running gateway.
#[derive(Debug)]
enum Command {
    SetEnginePeer(SocketAddr),
    Reoffer {
        offer: String,
        answer: oneshot::Sender<Result<String, OfferError>>,
    },
}

/// The task's two port pairs.
struct Sockets {
    browser: LegSockets,
    engine: LegSockets,
}

impl Sockets {
    fn socket(&self, side: Side) -> &UdpSocket {
        match side {
            Side::Browser => &self.browser.rtp,
            Side::Engine => &self.engine.rtp,
        }
    }

    fn send_all(&self, gateway: &mut Gateway) {
        while let Some(transmit) = gateway.poll_transmit() {
            // A send that fails is a lost packet, as on the wire.
            let _ = self
                .socket(transmit.side)
                .try_send_to(&transmit.payload, transmit.destination);
        }
    }
}

/// What the task tells its handle while it runs.
struct Outputs {
    stats: watch::Sender<GatewayStats>,
    events: mpsc::Sender<GatewayEvent>,
}

/// What woke the task up.
#[derive(Debug)]
enum Ready {
    Browser,
    EngineRtp,
    EngineRtcp,
    Timer,
    Command(Request<Command>),
    Stop,
}

async fn run(
    mut gateway: Gateway,
    sockets: Sockets,
    mut stopped: oneshot::Receiver<()>,
    mut commands: mpsc::Receiver<Request<Command>>,
    outputs: Outputs,
) -> GatewayStats {
    let mut next_publish = Instant::now() + STATS_INTERVAL;
    let mut buffer = [0u8; MAX_DATAGRAM];
    loop {
        let deadline = tokio::time::Instant::from_std(gateway.poll_timeout().min(next_publish));
        let ready = tokio::select! {
            _ = &mut stopped => Ready::Stop,
            Some(request) = commands.recv() => Ready::Command(request),
            Ok(()) = sockets.browser.rtp.readable() => Ready::Browser,
            Ok(()) = sockets.engine.rtp.readable() => Ready::EngineRtp,
            Ok(()) = sockets.engine.rtcp.readable() => Ready::EngineRtcp,
            () = tokio::time::sleep_until(deadline) => Ready::Timer,
        };
        let now = Instant::now();
        match ready {
            Ready::Stop => break,
            // Refused datagrams are counted in the gateway's statistics.
            Ready::Browser => {
                receive_burst(&sockets.browser.rtp, &mut buffer, |source, datagram| {
                    let _ = gateway.handle_browser_datagram(now, source, datagram);
                })
            }
            Ready::EngineRtp => {
                receive_burst(&sockets.engine.rtp, &mut buffer, |source, datagram| {
                    let _ = gateway.handle_engine_datagram(now, source, datagram);
                })
            }
            Ready::EngineRtcp => {
                receive_burst(&sockets.engine.rtcp, &mut buffer, |source, datagram| {
                    let _ = gateway.handle_engine_datagram(now, source, datagram);
                })
            }
            Ready::Timer => gateway.handle_timeout(now),
            Ready::Command(request) => request.apply(|command| match command {
                Command::SetEnginePeer(peer) => gateway.set_engine_peer(Some(peer)),
                Command::Reoffer { offer, answer } => {
                    let _ = answer.send(gateway.answer_reoffer(&offer, now));
                }
            }),
        }
        sockets.send_all(&mut gateway);
        while let Some(event) = gateway.poll_event() {
            // Full or closed: call control is not listening; media goes on.
            let _ = outputs.events.try_send(event);
        }
        if now >= next_publish {
            next_publish = now + STATS_INTERVAL;
            outputs.stats.send_replace(gateway.stats());
        }
    }
    gateway.close(Instant::now());
    sockets.send_all(&mut gateway);
    gateway.stats()
}

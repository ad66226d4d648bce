//! The tokio driver: the only place in this crate that touches sockets, tasks
//! and the clock. All protocol logic stays in the sans-IO [`UasCore`] and
//! [`crate::transaction::TransactionLayer`]; this module only moves bytes.
//!
//! [`Driver::start`] spawns one task per job: the [`endpoint`] task owns the
//! [`UasCore`], sleeps until its `poll_timeout()`, and sends what it transmits;
//! the [`udp`] task receives datagrams; the [`tcp`] task accepts connections and
//! runs one reader per connection, which cuts the stream into messages with
//! [`framing`]. Transports feed the endpoint task through a channel. Responses
//! go back on the connection their request came on (RFC 3261 §18.2.2), over UDP
//! to the Via's `received`/`rport` (RFC 3581). Dropped input is logged with its
//! reason and counted in `kefu_sip_dropped_total{reason}`; requests in
//! `kefu_sip_requests_total{method}`. [`Driver::stop`] ends every task.

mod endpoint;
pub mod framing;
mod tcp;
mod udp;

use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::transaction::Peer;
use crate::uas::UasCore;

/// How many received messages may wait for the endpoint task.
const INBOUND_QUEUE: usize = 1024;

/// What the transport tasks tell the endpoint task.
#[derive(Debug)]
enum Inbound {
    /// One message's bytes.
    Message { bytes: Bytes, source: Peer },
    /// A TCP connection opened; responses for `peer` go to `writer`.
    Connected {
        peer: SocketAddr,
        connection: u64,
        writer: mpsc::Sender<Bytes>,
    },
    /// That connection closed.
    Closed { peer: SocketAddr, connection: u64 },
}

/// The running SIP driver. See the [module docs](self).
pub struct Driver {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

impl Driver {
    /// Serves SIP on `udp` and `tcp` with `core`. Must be called inside a tokio
    /// runtime.
    pub fn start(udp: UdpSocket, tcp: TcpListener, core: UasCore) -> Self {
        metrics::describe_counter!(
            "kefu_sip_requests_total",
            "SIP requests received, by method"
        );
        metrics::describe_counter!(
            "kefu_sip_dropped_total",
            "SIP input dropped without an answer, by reason"
        );
        let (stop, stopped) = watch::channel(false);
        let (inbound, inbox) = mpsc::channel(INBOUND_QUEUE);
        let udp = Arc::new(udp);
        let tasks = vec![
            tokio::spawn(endpoint::run(core, udp.clone(), inbox, stopped.clone())),
            tokio::spawn(udp::receive(udp, inbound.clone(), stopped.clone())),
            tokio::spawn(tcp::accept(tcp, inbound, stopped)),
        ];
        Self { stop, tasks }
    }

    /// Stops every task and waits for them to end; the sockets close.
    pub async fn stop(self) {
        let _ = self.stop.send(true);
        for task in self.tasks {
            if let Err(error) = task.await {
                tracing::warn!(%error, "a SIP driver task failed");
            }
        }
    }
}

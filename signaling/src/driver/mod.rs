//! The tokio driver: the only place in this crate that touches sockets, tasks
//! and the clock. All protocol logic stays in the sans-IO [`UasCore`] and
//! [`crate::transaction::TransactionLayer`]; this module only moves bytes.
//!
//! [`Driver::start`] spawns one task per job: the `endpoint` task owns the
//! [`UasCore`], sleeps until its `poll_timeout()`, and sends what it transmits;
//! the `udp` task receives datagrams; the `tcp` task accepts connections and
//! runs one reader per connection, which cuts the stream into messages with
//! [`framing`]. Transports feed the endpoint task through a channel. Responses
//! go back on the connection their request came on (RFC 3261 §18.2.2), over UDP
//! to the Via's `received`/`rport` (RFC 3581). Dropped input is logged with its
//! reason and counted in `kefu_sip_dropped_total{reason}`; requests in
//! `kefu_sip_requests_total{method}`. Call control talks to the core through
//! the [`CallChannel`] [`Driver::start`] returns. [`Driver::stop`] ends every task.

mod calls;
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

pub use calls::{CallChannel, SipCommands};

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
    /// runtime. The [`CallChannel`] carries the core's call events and call
    /// control's commands (nothing flows when the core has no call pathway).
    pub fn start(udp: UdpSocket, tcp: TcpListener, core: UasCore) -> (Self, CallChannel) {
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
        let (events_tx, events) = mpsc::unbounded_channel();
        let (commands_tx, commands) = mpsc::unbounded_channel();
        let udp = Arc::new(udp);
        let channels = endpoint::Channels {
            inbox,
            commands,
            events: events_tx,
        };
        let tasks = vec![
            tokio::spawn(endpoint::run(core, udp.clone(), channels, stopped.clone())),
            tokio::spawn(udp::receive(udp, inbound.clone(), stopped.clone())),
            tokio::spawn(tcp::accept(tcp, inbound, stopped)),
        ];
        let calls = CallChannel {
            events,
            commands: SipCommands::new(commands_tx),
        };
        (Self { stop, tasks }, calls)
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::time::timeout;

    use super::*;
    use crate::transaction::{Timers, TransactionLayer};

    const WAIT: Duration = Duration::from_secs(5);

    fn options(via: &str) -> Vec<u8> {
        format!(
            "OPTIONS sip:kefu SIP/2.0\r\nVia: {via};branch=z9hG4bKdriver;rport\r\nTo: <sip:kefu>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: driver\r\nCSeq: 1 OPTIONS\r\nContent-Length: 0\r\n\r\n"
        )
        .into_bytes()
    }

    async fn started() -> (Driver, SocketAddr) {
        let udp = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let addr = udp.local_addr().unwrap();
        let tcp = TcpListener::bind(addr).await.unwrap();
        let core = UasCore::new(
            TransactionLayer::new(Timers::default(), || "branch".to_owned()),
            || "tag".to_owned(),
        );
        (Driver::start(udp, tcp, core).0, addr)
    }

    #[tokio::test(start_paused = true)]
    async fn a_connection_holding_an_incomplete_message_is_closed() {
        let (driver, addr) = started().await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        let via = format!("SIP/2.0/TCP {}", client.local_addr().unwrap());
        client.write_all(&options(&via)[..40]).await.unwrap();
        let began = tokio::time::Instant::now();
        let mut buffer = [0; 64];
        let size = client.read(&mut buffer).await.unwrap_or(0);
        assert_eq!(size, 0, "closed without an answer");
        assert!(began.elapsed() >= tcp::INCOMPLETE_MESSAGE_TIMEOUT);
        driver.stop().await;
    }

    #[tokio::test]
    async fn options_is_answered_over_udp_at_the_source_port() {
        let (driver, addr) = started().await;
        let client = UdpSocket::bind("127.0.0.1:0").await.unwrap();
        let via = format!("SIP/2.0/UDP {}", client.local_addr().unwrap());
        client.send_to(&options(&via), addr).await.unwrap();
        let mut buffer = vec![0; 4096];
        let (size, from) = timeout(WAIT, client.recv_from(&mut buffer))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(from, addr);
        assert!(buffer[..size].starts_with(b"SIP/2.0 200 OK\r\n"));
        driver.stop().await;
    }

    #[tokio::test]
    async fn options_is_answered_on_its_tcp_connection_which_stop_closes() {
        let (driver, addr) = started().await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        let via = format!("SIP/2.0/TCP {}", client.local_addr().unwrap());
        client.write_all(&options(&via)).await.unwrap();
        let mut received = Vec::new();
        let mut buffer = [0; 4096];
        while !received.ends_with(b"\r\n\r\n") {
            let size = timeout(WAIT, client.read(&mut buffer))
                .await
                .unwrap()
                .unwrap();
            assert!(size > 0, "closed before the answer");
            received.extend_from_slice(&buffer[..size]);
        }
        assert!(received.starts_with(b"SIP/2.0 200 OK\r\n"));

        timeout(WAIT, driver.stop()).await.unwrap();
        let size = timeout(WAIT, client.read(&mut buffer))
            .await
            .unwrap()
            .unwrap_or(0);
        assert_eq!(size, 0, "the connection is closed");
        assert!(UdpSocket::bind(addr).await.is_ok(), "the UDP port is free");
        assert!(
            TcpListener::bind(addr).await.is_ok(),
            "the TCP port is free"
        );
    }
}

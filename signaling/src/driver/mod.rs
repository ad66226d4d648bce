//! The tokio driver: the only place in this crate that touches sockets, tasks
//! and the clock. All protocol logic stays in the sans-IO [`UasCore`] and
//! [`crate::transaction::TransactionLayer`]; this module only moves bytes.
//!
//! [`Driver::start`] spawns one task per job: the `endpoint` task owns the
//! [`UasCore`], sleeps until its `poll_timeout()`, and sends what it transmits;
//! the `udp` task receives datagrams; the `tcp` task accepts connections and
//! runs one reader per connection, which cuts the stream into messages with
//! [`framing`]. [`Driver::serve_tls`] adds a TLS listener served the same way
//! after the handshake. Connection-oriented transports served elsewhere (SIP
//! over WebSocket, RFC 7118, in the HTTP server) open a [`Connection`] through
//! [`Driver::connections`] and hand in one message per WebSocket message.
//! Transports feed the endpoint task through a channel. Responses go back on
//! the connection their request came on (RFC 3261 §18.2.2), over UDP to the
//! Via's `received`/`rport` (RFC 3581); when a connection closes, the core is
//! told (`transport_failed`). Dropped input is logged with its reason and
//! counted in `kefu_sip_dropped_total{reason}`; requests in
//! `kefu_sip_requests_total{method}`. Call control talks to the core through
//! the [`CallChannel`] [`Driver::start`] returns. [`Driver::stop`] ends every
//! task, and with them every connection.

mod calls;
mod connection;
mod endpoint;
pub mod framing;
mod tcp;
mod tls;
mod udp;

use std::sync::Arc;

use bytes::Bytes;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;

use crate::transaction::Peer;
use crate::uas::UasCore;

pub use calls::{CallChannel, SipCommands};
pub use connection::{Connection, ConnectionSink, DriverStopped};

/// How many received messages may wait for the endpoint task.
const INBOUND_QUEUE: usize = 1024;

/// What the transport tasks tell the endpoint task.
#[derive(Debug)]
enum Inbound {
    /// One message's bytes.
    Message { bytes: Bytes, source: Peer },
    /// A connection opened; responses for `peer` go to `writer`.
    Connected {
        peer: Peer,
        connection: u64,
        writer: mpsc::Sender<Bytes>,
    },
    /// That connection closed.
    Closed { peer: Peer, connection: u64 },
}

/// The running SIP driver. See the [module docs](self).
pub struct Driver {
    stop: watch::Sender<bool>,
    connections: ConnectionSink,
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
        let connections = ConnectionSink::new(inbound.clone());
        let tasks = vec![
            tokio::spawn(endpoint::run(core, udp.clone(), channels, stopped.clone())),
            tokio::spawn(udp::receive(udp, inbound, stopped.clone())),
            tokio::spawn(tcp::accept(tcp, None, connections.clone(), stopped)),
        ];
        let calls = CallChannel {
            events,
            commands: SipCommands::new(commands_tx),
        };
        let driver = Self {
            stop,
            connections,
            tasks,
        };
        (driver, calls)
    }

    /// Also serves SIP over TLS on `listener`, with the certificate in `tls`.
    pub fn serve_tls(&mut self, listener: TcpListener, tls: Arc<ServerConfig>) {
        let acceptor = Some(TlsAcceptor::from(tls));
        let stopped = self.stop.subscribe();
        let accept = tcp::accept(listener, acceptor, self.connections.clone(), stopped);
        self.tasks.push(tokio::spawn(accept));
    }

    /// Opens connections served outside the driver, e.g. SIP over WebSocket.
    pub fn connections(&self) -> ConnectionSink {
        self.connections.clone()
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
    use std::net::SocketAddr;
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpStream;
    use tokio::time::timeout;

    use super::*;
    use crate::transaction::{Timers, TransactionLayer, Transport};

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

    /// Reads from `stream` until a whole header section (no body expected).
    async fn read_response(stream: &mut (impl AsyncReadExt + Unpin)) -> Vec<u8> {
        let mut received = Vec::new();
        let mut buffer = [0; 4096];
        while !received.ends_with(b"\r\n\r\n") {
            let size = timeout(WAIT, stream.read(&mut buffer))
                .await
                .unwrap()
                .unwrap();
            assert!(size > 0, "closed before the answer");
            received.extend_from_slice(&buffer[..size]);
        }
        received
    }

    #[tokio::test]
    async fn options_on_an_opened_connection_is_answered_on_it_until_stop() {
        let (driver, _) = started().await;
        let peer = Peer {
            transport: Transport::Ws,
            addr: "192.0.2.7:40000".parse().unwrap(),
        };
        let mut connection = driver.connections().open(peer).await.unwrap();
        let message = options("SIP/2.0/WS df7jal23ls0d.invalid");
        connection.receive(message.into()).await.unwrap();
        let answer = timeout(WAIT, connection.next_outgoing()).await.unwrap();
        let answer = String::from_utf8(answer.unwrap().to_vec()).unwrap();
        assert!(answer.starts_with("SIP/2.0 200 OK\r\n"), "{answer}");
        assert!(
            answer.contains("Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bKdriver;rport=40000;received=192.0.2.7"),
            "received and rport stamped as for TCP: {answer}"
        );

        let sink = driver.connections();
        timeout(WAIT, driver.stop()).await.unwrap();
        assert_eq!(connection.next_outgoing().await, None, "closed by stop");
        assert_eq!(sink.open(peer).await.unwrap_err(), DriverStopped);
    }

    /// A server configuration with a fresh self-signed certificate for
    /// `localhost`, and a client configuration trusting only it.
    fn tls_pair() -> (ServerConfig, tokio_rustls::rustls::ClientConfig) {
        use tokio_rustls::rustls::pki_types::{PrivateKeyDer, PrivatePkcs8KeyDer};
        use tokio_rustls::rustls::{ClientConfig, RootCertStore};

        let certified = rcgen::generate_simple_self_signed(["localhost".to_owned()]).unwrap();
        let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(
            certified.signing_key.serialize_der(),
        ));
        let server = ServerConfig::builder()
            .with_no_client_auth()
            .with_single_cert(vec![certified.cert.der().clone()], key)
            .unwrap();
        let mut roots = RootCertStore::empty();
        roots.add(certified.cert.der().clone()).unwrap();
        let client = ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        (server, client)
    }

    /// A started driver also serving TLS, and the TLS address.
    async fn started_with_tls(server: ServerConfig) -> (Driver, SocketAddr) {
        let (mut driver, _) = started().await;
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        driver.serve_tls(listener, Arc::new(server));
        (driver, addr)
    }

    #[tokio::test]
    async fn options_is_answered_over_tls_on_its_connection() {
        use tokio_rustls::rustls::pki_types::ServerName;

        let (server, client) = tls_pair();
        let (driver, addr) = started_with_tls(server).await;
        let tcp = TcpStream::connect(addr).await.unwrap();
        let via = format!("SIP/2.0/TLS {}", tcp.local_addr().unwrap());
        let connector = tokio_rustls::TlsConnector::from(Arc::new(client));
        let name = ServerName::try_from("localhost").unwrap();
        let mut tls = timeout(WAIT, connector.connect(name, tcp))
            .await
            .unwrap()
            .unwrap();
        tls.write_all(&options(&via)).await.unwrap();
        let answer = read_response(&mut tls).await;
        assert!(answer.starts_with(b"SIP/2.0 200 OK\r\n"));
        timeout(WAIT, driver.stop()).await.unwrap();
    }

    #[tokio::test(start_paused = true)]
    async fn a_tls_connection_that_never_completes_the_handshake_is_closed() {
        let (driver, addr) = started_with_tls(tls_pair().0).await;
        let mut client = TcpStream::connect(addr).await.unwrap();
        let began = tokio::time::Instant::now();
        let mut buffer = [0; 64];
        let size = client.read(&mut buffer).await.unwrap_or(0);
        assert_eq!(size, 0, "closed without a byte");
        assert!(began.elapsed() >= tls::HANDSHAKE_TIMEOUT);
        driver.stop().await;
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
        let received = read_response(&mut client).await;
        assert!(received.starts_with(b"SIP/2.0 200 OK\r\n"));
        let mut buffer = [0; 64];

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

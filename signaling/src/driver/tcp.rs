//! Stream transports, TCP and TLS: the accept loop, and per connection one task
//! that (for TLS) completes the handshake ([`super::tls`]), reads the stream,
//! frames it into messages ([`super::framing`]) for the endpoint task, and
//! writes back what the endpoint sends on this connection (responses reuse it,
//! RFC 3261 §18.2.2). A stream that cannot be framed is logged, counted and
//! closed, and so is one that leaves a message incomplete for
//! [`INCOMPLETE_MESSAGE_TIMEOUT`] (a peer trickling bytes to hold the
//! connection, "slowloris").

use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;

use super::connection::{Connection, ConnectionSink};
use super::framing::StreamFramer;
use super::tls;
use crate::transaction::{Peer, Transport};

/// How long the start of a message may wait for the rest of it.
pub(super) const INCOMPLETE_MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes read from a connection at a time.
const READ_BUFFER: usize = 16 * 1024;

/// Accepts connections on `listener` until `stop` turns true, then ends them.
/// With `tls`, each connection is TLS and carries transport `TLS`.
pub(super) async fn accept(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    sink: ConnectionSink,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, addr)) => match &tls {
                    None => {
                        let peer = Peer { transport: Transport::Tcp, addr };
                        connections.spawn(serve(stream, peer, sink.clone(), stop.clone()));
                    }
                    Some(acceptor) => {
                        let (acceptor, sink, stop) = (acceptor.clone(), sink.clone(), stop.clone());
                        connections.spawn(async move {
                            if let Some(stream) = tls::handshake(&acceptor, stream, addr).await {
                                let peer = Peer { transport: Transport::Tls, addr };
                                serve(stream, peer, sink, stop).await;
                            }
                        });
                    }
                },
                Err(error) => tracing::warn!(%error, "SIP TCP accept failed"),
            },
        }
    }
    connections.shutdown().await;
}

/// Serves one connection until it closes, cannot be framed, or `stop` turns true.
async fn serve<S>(stream: S, peer: Peer, sink: ConnectionSink, mut stop: watch::Receiver<bool>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Ok(mut connection) = sink.open(peer).await else {
        return;
    };
    let addr = peer.addr;
    let transport = peer.transport;
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut framer = StreamFramer::default();
    let mut buffer = vec![0; READ_BUFFER];
    let mut incomplete_since: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            () = incomplete_deadline(incomplete_since) => {
                tracing::info!(
                    peer = %addr,
                    reason = "incomplete_message_timeout",
                    "SIP input dropped: a message stayed incomplete, closing the {} connection",
                    name(transport)
                );
                metrics::counter!("kefu_sip_dropped_total", "reason" => "incomplete_message_timeout")
                    .increment(1);
                break;
            }
            out = connection.next_outgoing() => match out {
                Some(bytes) => {
                    if let Err(error) = write(&mut writer, &bytes).await {
                        tracing::debug!(peer = %addr, %error, "SIP {} write failed", name(transport));
                        break;
                    }
                }
                None => break,
            },
            read = reader.read(&mut buffer) => match read {
                Ok(0) => break,
                Ok(size) => {
                    framer.extend(&buffer[..size]);
                    let Some(forwarded) = forward_messages(&mut framer, &connection).await else {
                        break;
                    };
                    incomplete_since = match (framer.holds_partial_message(), forwarded) {
                        (false, _) => None,
                        (true, 0) => incomplete_since.or_else(|| Some(Instant::now())),
                        (true, _) => Some(Instant::now()),
                    };
                }
                Err(error) => {
                    tracing::debug!(peer = %addr, %error, "SIP {} read failed", name(transport));
                    break;
                }
            },
        }
    }
    let _ = writer.shutdown().await;
}

/// How logs name a stream transport: `TCP` or `TLS`.
fn name(transport: Transport) -> &'static str {
    if transport == Transport::Tls {
        "TLS"
    } else {
        "TCP"
    }
}

/// Writes one message whole and flushes it (TLS buffers records).
async fn write<W: AsyncWrite + Unpin>(writer: &mut W, bytes: &[u8]) -> std::io::Result<()> {
    writer.write_all(bytes).await?;
    writer.flush().await
}

/// Sleeps until a message begun at `since` has been incomplete for too long;
/// forever when no message is incomplete.
async fn incomplete_deadline(since: Option<Instant>) {
    match since {
        Some(since) => tokio::time::sleep_until(since + INCOMPLETE_MESSAGE_TIMEOUT).await,
        None => std::future::pending().await,
    }
}

/// Hands every whole message in `framer` to the endpoint task and says how
/// many. `None` when the connection must close: the stream cannot be framed,
/// or the driver has stopped.
async fn forward_messages(framer: &mut StreamFramer, connection: &Connection) -> Option<usize> {
    let mut forwarded = 0;
    loop {
        match framer.next_message() {
            Ok(Some(bytes)) => {
                connection.receive(bytes).await.ok()?;
                forwarded += 1;
            }
            Ok(None) => return Some(forwarded),
            Err(error) => {
                let peer = connection.peer();
                tracing::info!(
                    peer = %peer.addr,
                    reason = error.label(),
                    %error,
                    "SIP input dropped: closing the {} connection",
                    name(peer.transport)
                );
                metrics::counter!("kefu_sip_dropped_total", "reason" => error.label()).increment(1);
                return None;
            }
        }
    }
}

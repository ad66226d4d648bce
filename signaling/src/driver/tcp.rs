//! TCP: the accept loop, and per connection one task that reads the stream,
//! frames it into messages ([`super::framing`]) for the endpoint task, and writes
//! back what the endpoint sends on this connection (responses reuse it, RFC 3261
//! §18.2.2). A stream that cannot be framed is logged, counted and closed, and so
//! is one that leaves a message incomplete for [`INCOMPLETE_MESSAGE_TIMEOUT`]
//! (a peer trickling bytes to hold the connection, "slowloris").

use std::net::SocketAddr;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;
use tokio::time::Instant;

use super::Inbound;
use super::framing::StreamFramer;
use crate::transaction::{Peer, Transport};

/// How many outgoing messages may wait for one connection's writer.
const OUTGOING_QUEUE: usize = 64;

/// How long the start of a message may wait for the rest of it.
pub(super) const INCOMPLETE_MESSAGE_TIMEOUT: Duration = Duration::from_secs(30);

/// Bytes read from a connection at a time.
const READ_BUFFER: usize = 16 * 1024;

/// Accepts connections on `listener` until `stop` turns true, then ends them.
pub(super) async fn accept(
    listener: TcpListener,
    inbound: mpsc::Sender<Inbound>,
    mut stop: watch::Receiver<bool>,
) {
    let mut connections = JoinSet::new();
    let mut next_connection = 0_u64;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    next_connection += 1;
                    connections.spawn(serve(
                        stream,
                        peer,
                        next_connection,
                        inbound.clone(),
                        stop.clone(),
                    ));
                }
                Err(error) => tracing::warn!(%error, "SIP TCP accept failed"),
            },
        }
    }
    connections.shutdown().await;
}

/// Serves one connection until it closes, cannot be framed, or `stop` turns true.
async fn serve(
    stream: TcpStream,
    peer: SocketAddr,
    connection: u64,
    inbound: mpsc::Sender<Inbound>,
    mut stop: watch::Receiver<bool>,
) {
    let (writer, mut outgoing) = mpsc::channel::<Bytes>(OUTGOING_QUEUE);
    let connected = Inbound::Connected {
        peer,
        connection,
        writer,
    };
    if inbound.send(connected).await.is_err() {
        return;
    }
    let (mut reader, mut write_half) = stream.into_split();
    let mut framer = StreamFramer::default();
    let mut buffer = vec![0; READ_BUFFER];
    let mut incomplete_since: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = stop.changed() => break,
            () = incomplete_deadline(incomplete_since) => {
                tracing::info!(
                    %peer,
                    reason = "incomplete_message_timeout",
                    "SIP input dropped: a message stayed incomplete, closing the TCP connection"
                );
                metrics::counter!("kefu_sip_dropped_total", "reason" => "incomplete_message_timeout")
                    .increment(1);
                break;
            }
            out = outgoing.recv() => match out {
                Some(bytes) => {
                    if let Err(error) = write_half.write_all(&bytes).await {
                        tracing::debug!(%peer, %error, "SIP TCP write failed");
                        break;
                    }
                }
                None => break,
            },
            read = reader.read(&mut buffer) => match read {
                Ok(0) => break,
                Ok(size) => {
                    framer.extend(&buffer[..size]);
                    let Some(forwarded) = forward_messages(&mut framer, peer, &inbound).await else {
                        break;
                    };
                    incomplete_since = match (framer.holds_partial_message(), forwarded) {
                        (false, _) => None,
                        (true, 0) => incomplete_since.or_else(|| Some(Instant::now())),
                        (true, _) => Some(Instant::now()),
                    };
                }
                Err(error) => {
                    tracing::debug!(%peer, %error, "SIP TCP read failed");
                    break;
                }
            },
        }
    }
    let _ = inbound.send(Inbound::Closed { peer, connection }).await;
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
/// or the endpoint task is gone.
async fn forward_messages(
    framer: &mut StreamFramer,
    peer: SocketAddr,
    inbound: &mpsc::Sender<Inbound>,
) -> Option<usize> {
    let mut forwarded = 0;
    loop {
        match framer.next_message() {
            Ok(Some(bytes)) => {
                let source = Peer {
                    transport: Transport::Tcp,
                    addr: peer,
                };
                inbound
                    .send(Inbound::Message { bytes, source })
                    .await
                    .ok()?;
                forwarded += 1;
            }
            Ok(None) => return Some(forwarded),
            Err(error) => {
                tracing::info!(
                    %peer,
                    reason = error.label(),
                    %error,
                    "SIP input dropped: closing the TCP connection"
                );
                metrics::counter!("kefu_sip_dropped_total", "reason" => error.label()).increment(1);
                return None;
            }
        }
    }
}

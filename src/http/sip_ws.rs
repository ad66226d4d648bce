//! SIP over WebSocket (RFC 7118) at `GET /sip`: the upgrade, which must ask
//! for the subprotocol `sip` (answered with `Sec-WebSocket-Protocol: sip`; a
//! handshake without it gets 400), and then one connection of transport `WS`
//! opened with the SIP driver ([`ConnectionSink`]). Each WebSocket text or
//! binary message is one SIP message (RFC 7118 §5.1, no `Content-Length`
//! framing); what the driver sends on the connection goes back as one message,
//! text when it is UTF-8. A message over [`MAX_MESSAGE_SIZE`] closes the
//! connection (logged and counted as `too_large`), a double-CRLF keep-alive
//! (RFC 5626 §3.5.1) gets a CRLF back. The SIP logic stays in the driver; this
//! module only moves messages. WSS is expected to be terminated by a reverse
//! proxy in front of kefu (see docs/deployment.md).

use std::error::Error as _;
use std::net::SocketAddr;

use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use kefu_signaling::driver::{Connection, ConnectionSink};
use kefu_signaling::message::MAX_MESSAGE_SIZE;
use kefu_signaling::transaction::{Peer, Transport};

use super::AppState;
use super::problem::Problem;

/// The WebSocket subprotocol of RFC 7118.
const SUBPROTOCOL: &str = "sip";

/// Close code 1001 "going away": kefu is stopping.
const GOING_AWAY: u16 = 1001;

/// Close code 1009 "message too big".
const MESSAGE_TOO_BIG: u16 = 1009;

/// `GET /sip`: upgrades to a SIP WebSocket, or says in a 4xx why not.
pub async fn upgrade(
    State(state): State<AppState>,
    ConnectInfo(addr): ConnectInfo<SocketAddr>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> Response {
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade.protocols([SUBPROTOCOL]),
        Err(rejection) => {
            let detail = format!(
                "{}; /sip serves SIP over WebSocket (RFC 7118): open a WebSocket with subprotocol `sip`",
                rejection.body_text()
            );
            return Problem::new(rejection.status(), detail).into_response();
        }
    };
    if upgrade.selected_protocol().is_none() {
        return Problem::new(
            StatusCode::BAD_REQUEST,
            "SIP over WebSocket needs the subprotocol `sip` (Sec-WebSocket-Protocol: sip, RFC 7118)",
        )
        .into_response();
    }
    let sink = state.sip.clone();
    upgrade
        .max_message_size(MAX_MESSAGE_SIZE)
        .max_frame_size(MAX_MESSAGE_SIZE)
        .on_upgrade(move |socket| serve(socket, addr, sink))
}

/// Moves messages between one upgraded WebSocket and the SIP driver until
/// either side closes.
async fn serve(mut socket: WebSocket, addr: SocketAddr, sink: ConnectionSink) {
    let peer = Peer {
        transport: Transport::Ws,
        addr,
    };
    let Ok(mut connection) = sink.open(peer).await else {
        close(&mut socket, GOING_AWAY, "kefu is stopping").await;
        return;
    };
    tracing::debug!(peer = %addr, "SIP WebSocket connection opened");
    loop {
        tokio::select! {
            out = connection.next_outgoing() => match out {
                Some(bytes) => {
                    if let Err(error) = socket.send(frame(bytes)).await {
                        tracing::debug!(peer = %addr, %error, "SIP WebSocket write failed");
                        break;
                    }
                }
                None => {
                    close(&mut socket, GOING_AWAY, "kefu is stopping").await;
                    break;
                }
            },
            received = socket.recv() => match received {
                Some(Ok(Message::Text(text))) => {
                    if !receive(&mut socket, &connection, text.into()).await {
                        break;
                    }
                }
                Some(Ok(Message::Binary(bytes))) => {
                    if !receive(&mut socket, &connection, bytes).await {
                        break;
                    }
                }
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => {}
                Some(Ok(Message::Close(_))) | None => break,
                Some(Err(error)) => {
                    if is_too_large(&error) {
                        tracing::info!(
                            peer = %addr,
                            transport = "WS",
                            reason = "too_large",
                            %error,
                            "SIP input dropped: message over {MAX_MESSAGE_SIZE} bytes, closing the WebSocket"
                        );
                        metrics::counter!("kefu_sip_dropped_total", "reason" => "too_large").increment(1);
                        close(&mut socket, MESSAGE_TOO_BIG, "SIP message over 64 KiB").await;
                    } else {
                        tracing::debug!(peer = %addr, %error, "SIP WebSocket read failed");
                    }
                    break;
                }
            },
        }
    }
    tracing::debug!(peer = %addr, "SIP WebSocket connection closed");
}

/// Hands one received message to the driver, or answers a keep-alive; false
/// when the connection should close.
async fn receive(socket: &mut WebSocket, connection: &Connection, bytes: Bytes) -> bool {
    match keep_alive(&bytes) {
        Some(KeepAlive::Ping) => socket.send(Message::text("\r\n")).await.is_ok(),
        Some(KeepAlive::Pong) => true,
        None => connection.receive(bytes).await.is_ok(),
    }
}

/// A CRLF keep-alive (RFC 5626 §3.5.1) instead of a SIP message.
#[derive(Debug, PartialEq, Eq)]
enum KeepAlive {
    /// A double CRLF: the client asks for a CRLF back.
    Ping,
    /// A single CRLF (or other bare line ends): nothing to answer.
    Pong,
}

fn keep_alive(bytes: &[u8]) -> Option<KeepAlive> {
    if bytes.is_empty() || !bytes.iter().all(|&byte| byte == b'\r' || byte == b'\n') {
        return None;
    }
    Some(if bytes == b"\r\n\r\n" {
        KeepAlive::Ping
    } else {
        KeepAlive::Pong
    })
}

/// One SIP message as a WebSocket message: text when it is UTF-8.
fn frame(bytes: Bytes) -> Message {
    match Utf8Bytes::try_from(bytes.clone()) {
        Ok(text) => Message::Text(text),
        Err(_) => Message::Binary(bytes),
    }
}

/// Whether a read failed because a message or frame exceeded the size limit.
fn is_too_large(error: &axum::Error) -> bool {
    error
        .source()
        .and_then(|source| source.downcast_ref::<tungstenite::Error>())
        .is_some_and(|error| matches!(error, tungstenite::Error::Capacity(_)))
}

/// Sends a close frame; the connection is ending anyway, so errors are moot.
async fn close(socket: &mut WebSocket, code: u16, reason: &'static str) {
    let frame = CloseFrame {
        code,
        reason: reason.into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_double_crlf_is_a_ping_and_bare_line_ends_a_pong() {
        assert_eq!(keep_alive(b"\r\n\r\n"), Some(KeepAlive::Ping));
        assert_eq!(keep_alive(b"\r\n"), Some(KeepAlive::Pong));
        assert_eq!(keep_alive(b""), None);
        assert_eq!(keep_alive(b"OPTIONS sip:kefu SIP/2.0\r\n\r\n"), None);
    }

    #[test]
    fn utf8_messages_go_out_as_text_and_others_as_binary() {
        assert_eq!(
            frame(Bytes::from_static(b"SIP/2.0 200 OK\r\n\r\n")),
            Message::text("SIP/2.0 200 OK\r\n\r\n")
        );
        let latin1 = Bytes::from_static(b"MESSAGE sip:a SIP/2.0\r\n\r\ncaf\xe9");
        assert_eq!(frame(latin1.clone()), Message::Binary(latin1));
    }
}

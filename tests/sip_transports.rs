//! SIP over WebSocket (RFC 7118, `ws://HTTP/sip`, subprotocol `sip`) and over
//! TLS (`sip.tls_listen` with a self-signed certificate made here) against
//! `kefu serve --demo`: OPTIONS answered, REGISTER challenged then accepted
//! with the digest answer, a call to the echo test answered and hung up over
//! WebSocket, an agent registered over WebSocket rung on it, answers on the
//! connection the request came on; a
//! handshake without the subprotocol and an oversized message are refused;
//! SIGTERM closes open WebSockets; an unreadable certificate stops start-up
//! with a config error naming the key.

#![allow(clippy::unwrap_used)] // test code: a panic is a failed test

mod common;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use common::kefu::{Kefu, Options, command};
use common::sip::{self, status};
use common::uac::{Uac, header, offer};
use futures_util::{SinkExt, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::timeout;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use tokio_rustls::rustls::pki_types::ServerName;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

/// How long to wait for an answer that must come.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// A client that sends one SIP request and reads its final answer.
trait SipClient {
    /// The Via sent-protocol and sent-by this client puts in its requests.
    fn via(&self) -> String;
    async fn exchange(&mut self, request: String) -> String;
}

/// REGISTERs `user` with its password and `contact`: the first answer must be
/// 401, the one to the digest answer is returned.
async fn register_with_password(
    client: &mut impl SipClient,
    user: &str,
    password: &str,
    contact: &str,
) -> String {
    let call_id = format!("{}@test", uuid::Uuid::now_v7().simple());
    let extra = format!("Contact: {contact}\r\nExpires: 600\r\n");
    let via = client.via();
    let challenge = client
        .exchange(sip::register(&via, user, &call_id, 1, &extra))
        .await;
    assert_eq!(status(&challenge), 401, "{challenge}");
    let authorization = sip::digest_answer(&challenge, user, password);
    let request = sip::register(&via, user, &call_id, 2, &format!("{authorization}{extra}"));
    client.exchange(request).await
}

/// A browser-like SIP WebSocket client (RFC 7118).
struct WsPhone {
    socket: WebSocketStream<TcpStream>,
}

impl WsPhone {
    /// Opens `ws://HTTP/sip` asking for `protocol`; the handshake's error when
    /// refused.
    async fn connect(http: SocketAddr, protocol: Option<&str>) -> Result<Self, WsError> {
        let mut request = format!("ws://{http}/sip").into_client_request().unwrap();
        if let Some(protocol) = protocol {
            request.headers_mut().insert(
                "Sec-WebSocket-Protocol",
                HeaderValue::from_str(protocol).unwrap(),
            );
        }
        let stream = TcpStream::connect(http).await.unwrap();
        let (socket, response) = tokio_tungstenite::client_async(request, stream).await?;
        assert_eq!(
            response.headers().get("Sec-WebSocket-Protocol").unwrap(),
            "sip"
        );
        Ok(WsPhone { socket })
    }

    /// The next SIP message kefu sends.
    async fn next_message(&mut self) -> Option<String> {
        loop {
            match timeout(ANSWER_WAIT, self.socket.next()).await.unwrap()? {
                Ok(Message::Text(text)) => return Some(text.as_str().to_owned()),
                Ok(Message::Binary(bytes)) => {
                    return Some(String::from_utf8_lossy(&bytes).into_owned());
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}

impl SipClient for WsPhone {
    fn via(&self) -> String {
        "SIP/2.0/WS df7jal23ls0d.invalid".to_owned()
    }

    async fn exchange(&mut self, request: String) -> String {
        self.socket.send(Message::text(request)).await.unwrap();
        self.next_message()
            .await
            .expect("an answer on the WebSocket")
    }
}

/// A SIP client over TLS, trusting only the test's certificate.
struct TlsPhone {
    stream: TlsStream<TcpStream>,
    local: SocketAddr,
}

impl TlsPhone {
    async fn connect(server: SocketAddr, cert: &rcgen::Certificate) -> Self {
        let mut roots = RootCertStore::empty();
        roots.add(cert.der().clone()).unwrap();
        let config = ClientConfig::builder()
            .with_root_certificates(roots)
            .with_no_client_auth();
        let tcp = TcpStream::connect(server).await.unwrap();
        let local = tcp.local_addr().unwrap();
        let name = ServerName::try_from("localhost").unwrap();
        let stream = timeout(
            ANSWER_WAIT,
            TlsConnector::from(Arc::new(config)).connect(name, tcp),
        )
        .await
        .unwrap()
        .unwrap();
        TlsPhone { stream, local }
    }
}

impl SipClient for TlsPhone {
    fn via(&self) -> String {
        format!("SIP/2.0/TLS {}", self.local)
    }

    /// Reads one answer: the header section, then `Content-Length` bytes.
    async fn exchange(&mut self, request: String) -> String {
        self.stream.write_all(request.as_bytes()).await.unwrap();
        let mut received = Vec::new();
        let mut buffer = [0; 4096];
        loop {
            if let Some(end) = received.windows(4).position(|w| w == b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&received[..end]).into_owned();
                let body = head
                    .lines()
                    .find_map(|l| l.strip_prefix("Content-Length: "))
                    .map_or(0, |n| n.trim().parse::<usize>().unwrap());
                if received.len() >= end + 4 + body {
                    return String::from_utf8_lossy(&received[..end + 4 + body]).into_owned();
                }
            }
            let size = timeout(ANSWER_WAIT, self.stream.read(&mut buffer))
                .await
                .unwrap()
                .unwrap();
            assert!(size > 0, "closed before the answer");
            received.extend_from_slice(&buffer[..size]);
        }
    }
}

fn demo_kefu(dir: &Path, env: Vec<(String, String)>) -> Kefu {
    Kefu::start(
        dir,
        Options {
            demo: true,
            env,
            ..Options::default()
        },
    )
}

#[tokio::test]
async fn options_and_register_over_websocket_are_answered_on_the_websocket() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path(), Vec::new());
    let mut phone = WsPhone::connect(kefu.http, Some("sip")).await.unwrap();

    let via = phone.via();
    let answer = phone.exchange(sip::options(&via)).await;
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(
        answer.contains("Via: SIP/2.0/WS df7jal23ls0d.invalid;")
            && answer.contains("received=127.0.0.1"),
        "the Via is stamped with where the request came from: {answer}"
    );

    let contact = "<sip:k8b2cq7h@df7jal23ls0d.invalid;transport=ws>";
    let ok = register_with_password(&mut phone, "1001", "demo1001", contact).await;
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(
        ok.contains("sip:k8b2cq7h@df7jal23ls0d.invalid;transport=ws"),
        "{ok}"
    );

    phone.socket.send(Message::text("\r\n\r\n")).await.unwrap();
    assert_eq!(
        phone.next_message().await.as_deref(),
        Some("\r\n"),
        "keep-alive pong"
    );
}

/// A request in the WebSocket caller's one dialog (Call-ID `call_id`).
fn ws_request(method: &str, uri: &str, call_id: &str, cseq: u32, to: &str, sdp: &str) -> String {
    let content_type = if sdp.is_empty() {
        ""
    } else {
        "Content-Type: application/sdp\r\n"
    };
    format!(
        "{method} {uri} SIP/2.0\r\n\
         Via: SIP/2.0/WS df7jal23ls0d.invalid;branch=z9hG4bK{branch};rport\r\n\
         Max-Forwards: 70\r\n\
         From: <sip:caller@df7jal23ls0d.invalid>;tag=wscaller\r\n\
         To: {to}\r\n\
         Call-ID: {call_id}\r\n\
         CSeq: {cseq} {method}\r\n\
         Contact: <sip:caller@df7jal23ls0d.invalid;transport=ws>\r\n\
         {content_type}Content-Length: {len}\r\n\r\n{sdp}",
        branch = uuid::Uuid::now_v7().simple(),
        len = sdp.len(),
    )
}

#[tokio::test]
async fn a_call_over_websocket_is_answered_and_hung_up_on_the_websocket() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path(), Vec::new());
    let mut phone = WsPhone::connect(kefu.http, Some("sip")).await.unwrap();
    let rtp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let call_id = format!("ws-call-{}", uuid::Uuid::now_v7().simple());
    let to = "<sip:4001@127.0.0.1>";
    let sdp = offer(rtp.local_addr().unwrap(), "0 101");
    let invite = ws_request("INVITE", "sip:4001@127.0.0.1", &call_id, 1, to, &sdp);
    phone.socket.send(Message::text(invite)).await.unwrap();
    let answer = loop {
        let message = phone.next_message().await.expect("an answer to the INVITE");
        if status(&message) >= 200 {
            break message;
        }
    };
    assert_eq!(status(&answer), 200, "{answer}");
    assert!(answer.contains("m=audio "), "an SDP answer: {answer}");
    let kefu_to = header(&answer, "To").unwrap();
    let contact = header(&answer, "Contact").unwrap();
    let target = contact.trim_matches(|c| c == '<' || c == '>');

    let ack = ws_request("ACK", target, &call_id, 1, &kefu_to, "");
    phone.socket.send(Message::text(ack)).await.unwrap();
    let bye = ws_request("BYE", target, &call_id, 2, &kefu_to, "");
    phone.socket.send(Message::text(bye)).await.unwrap();
    let ok = loop {
        // A 2xx retransmission that crossed the ACK may come first.
        let message = phone.next_message().await.expect("an answer to the BYE");
        if message.contains("CSeq: 2 BYE") {
            break message;
        }
    };
    assert_eq!(status(&ok), 200, "{ok}");
}

/// A final response with no body to `request`, as a phone sends it.
fn response_to(request: &str, status_line: &str) -> String {
    let head = request.split("\r\n\r\n").next().unwrap();
    let mut response = format!("SIP/2.0 {status_line}\r\n");
    for line in head.lines().skip(1) {
        let name = line.split(':').next().unwrap().trim().to_ascii_lowercase();
        match name.as_str() {
            "via" | "from" | "call-id" | "cseq" => response.push_str(&format!("{line}\r\n")),
            "to" => response.push_str(&format!("{line};tag=wsphone\r\n")),
            _ => {}
        }
    }
    response.push_str("Content-Length: 0\r\n\r\n");
    response
}

#[tokio::test]
async fn an_agent_registered_over_websocket_is_rung_on_its_websocket() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path(), Vec::new());
    let mut phone = WsPhone::connect(kefu.http, Some("sip")).await.unwrap();
    let contact = "<sip:k8b2cq7h@df7jal23ls0d.invalid;transport=ws>";
    let ok = register_with_password(&mut phone, "1001", "demo1001", contact).await;
    assert_eq!(status(&ok), 200, "{ok}");

    let sip = kefu.sip;
    let caller = tokio::task::spawn_blocking(move || {
        let mut uac = Uac::new("127.0.0.1:0", sip, "1001");
        let rtp: SocketAddr = "127.0.0.1:40000".parse().unwrap();
        uac.invite(&offer(rtp, "0"), ANSWER_WAIT)
    });
    let invite = loop {
        let message = phone
            .next_message()
            .await
            .expect("kefu's INVITE on the WebSocket");
        if message.starts_with("INVITE ") {
            break message;
        }
    };
    assert!(
        invite
            .lines()
            .next()
            .unwrap()
            .contains("k8b2cq7h@df7jal23ls0d.invalid"),
        "sent to the registered contact: {invite}"
    );
    assert!(
        header(&invite, "Via").unwrap().starts_with("SIP/2.0/WS "),
        "{invite}"
    );
    let busy = response_to(&invite, "486 Busy Here");
    phone.socket.send(Message::text(busy)).await.unwrap();
    let answer = caller.await.unwrap().expect("an answer to the caller");
    assert_eq!(answer.status, 486, "{}", answer.text);
}

#[tokio::test]
async fn a_websocket_handshake_without_the_sip_subprotocol_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path(), Vec::new());
    for protocol in [None, Some("chat")] {
        let Err(WsError::Http(response)) = WsPhone::connect(kefu.http, protocol).await else {
            panic!("the handshake asking for {protocol:?} must be refused");
        };
        assert_eq!(response.status(), 400);
        let body = String::from_utf8(response.body().clone().unwrap()).unwrap();
        assert!(body.contains("subprotocol `sip`"), "{body}");
    }
}

#[tokio::test]
async fn a_websocket_message_over_64_kib_closes_the_connection_with_a_logged_reason() {
    let dir = tempfile::tempdir().unwrap();
    let kefu = demo_kefu(dir.path(), Vec::new());
    let mut phone = WsPhone::connect(kefu.http, Some("sip")).await.unwrap();
    let via = phone.via();
    let mut huge = sip::options(&via);
    huge.push_str(&"x".repeat(70_000));
    let _ = phone.socket.send(Message::text(huge)).await;
    assert_eq!(phone.next_message().await, None, "closed without an answer");
    assert!(
        kefu.stderr().contains("too_large") && kefu.stderr().contains("closing the WebSocket"),
        "{}",
        kefu.stderr()
    );

    let mut again = WsPhone::connect(kefu.http, Some("sip")).await.unwrap();
    let answer = again.exchange(sip::options(&via)).await;
    assert_eq!(status(&answer), 200, "kefu keeps serving: {answer}");
}

#[tokio::test]
async fn sigterm_closes_open_sip_websockets_going_away_and_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let mut kefu = demo_kefu(dir.path(), Vec::new());
    let mut phone = WsPhone::connect(kefu.http, Some("sip")).await.unwrap();
    let via = phone.via();
    assert_eq!(status(&phone.exchange(sip::options(&via)).await), 200);

    let exit = kefu.signal_and_wait("TERM", Duration::from_secs(10));
    assert!(exit.expect("stopped").success());
    let close = loop {
        match timeout(ANSWER_WAIT, phone.socket.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(u16::from(close.unwrap().code), 1001, "going away");
}

/// A self-signed certificate for `localhost` and its key, as PEM files in `dir`.
fn self_signed(dir: &Path) -> (rcgen::Certificate, PathBuf, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(["localhost".to_owned()]).unwrap();
    let cert = dir.join("cert.pem");
    let key = dir.join("key.pem");
    std::fs::write(&cert, certified.cert.pem()).unwrap();
    std::fs::write(&key, certified.signing_key.serialize_pem()).unwrap();
    (certified.cert, cert, key)
}

fn tls_env(cert: &Path, key: &Path) -> Vec<(String, String)> {
    vec![
        ("KEFU_SIP_TLS_LISTEN".into(), "127.0.0.1:0".into()),
        ("KEFU_SIP_TLS_CERT".into(), cert.display().to_string()),
        ("KEFU_SIP_TLS_KEY".into(), key.display().to_string()),
    ]
}

#[tokio::test]
async fn options_and_register_over_tls_are_answered_on_the_connection() {
    let dir = tempfile::tempdir().unwrap();
    let (certificate, cert, key) = self_signed(dir.path());
    let kefu = demo_kefu(dir.path(), tls_env(&cert, &key));
    let ready = kefu.stdout.last().unwrap();
    let tls: SocketAddr = ready
        .split_whitespace()
        .find_map(|field| field.strip_prefix("tls="))
        .unwrap_or_else(|| panic!("no tls= in {ready:?}"))
        .parse()
        .unwrap();

    let mut phone = TlsPhone::connect(tls, &certificate).await;
    let via = phone.via();
    let answer = phone.exchange(sip::options(&via)).await;
    assert_eq!(status(&answer), 200, "{answer}");

    let contact = format!("<sip:1002@{};transport=tls>", phone.local);
    let ok = register_with_password(&mut phone, "1002", "demo1002", &contact).await;
    assert_eq!(status(&ok), 200, "{ok}");
    assert!(
        ok.contains(&format!("sip:1002@{};transport=tls", phone.local)),
        "{ok}"
    );
}

#[test]
fn an_unreadable_tls_certificate_stops_start_up_naming_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let (_, _, key) = self_signed(dir.path());
    let output = command(dir.path())
        .args([
            "serve",
            "--sip-listen",
            "127.0.0.1:0",
            "--http-listen",
            "127.0.0.1:0",
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .envs(tls_env(Path::new("/nonexistent/cert.pem"), &key))
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.starts_with("config error: sip.tls_cert: cannot read /nonexistent/cert.pem: "),
        "{stderr}"
    );
}

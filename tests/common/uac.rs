//! A minimal SIP caller over UDP for call tests: INVITE with an SDP offer,
//! ACK, BYE, CANCEL, and answering kefu's in-dialog requests. It speaks just
//! enough RFC 3261 to drive kefu, and reads responses as text.

use std::net::{SocketAddr, UdpSocket};

use md5::Digest;
use std::time::{Duration, Instant};

use super::sip::status;

/// One caller and its single dialog.
pub struct Uac {
    pub socket: UdpSocket,
    pub kefu: SocketAddr,
    pub call_id: String,
    pub from_tag: String,
    to: String,
    cseq: u32,
    /// The 2xx's To header (with kefu's tag), once answered.
    pub remote_to: Option<String>,
    /// The branch of the INVITE transaction in progress.
    branch: String,
    /// Credentials for the next INVITE (`Authorization` value).
    authorization: Option<String>,
}

/// What kefu answered to an INVITE.
#[derive(Debug)]
pub struct Answer {
    pub status: u16,
    pub text: String,
}

impl Answer {
    /// Where kefu wants RTP, from the SDP's `c=` and `m=audio` lines.
    pub fn media_addr(&self) -> SocketAddr {
        let body = self.text.split("\r\n\r\n").nth(1).expect("SDP body");
        let ip = body
            .lines()
            .find_map(|l| l.strip_prefix("c=IN IP4 "))
            .expect("c= line");
        let port = body
            .lines()
            .find_map(|l| l.strip_prefix("m=audio "))
            .and_then(|rest| rest.split_whitespace().next())
            .expect("m=audio line");
        format!("{}:{}", ip.trim(), port)
            .parse()
            .expect("media address")
    }

    /// The value of a header, if present.
    pub fn header(&self, name: &str) -> Option<String> {
        header(&self.text, name)
    }
}

/// The SDP offer of a phone at `rtp` with these payload types.
pub fn offer(rtp: SocketAddr, payload_types: &str) -> String {
    let mut sdp = format!(
        "v=0\r\no=uac 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP {payload_types}\r\n",
        ip = rtp.ip(),
        port = rtp.port()
    );
    if payload_types.split_whitespace().any(|pt| pt == "101") {
        sdp.push_str("a=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-16\r\n");
    }
    sdp.push_str("a=sendrecv\r\n");
    sdp
}

impl Uac {
    /// A caller bound on `local` (port 0 for any) calling `number` at kefu.
    pub fn new(local: &str, kefu: SocketAddr, number: &str) -> Self {
        let socket = UdpSocket::bind(local).expect("bind the caller");
        socket
            .set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let call_id = format!("uac-{}-{}", std::process::id(), rand_suffix());
        Self {
            socket,
            kefu,
            call_id,
            from_tag: rand_suffix(),
            to: format!("<sip:{number}@{kefu}>"),
            cseq: 1,
            remote_to: None,
            branch: "inv1".to_owned(),
            authorization: None,
        }
    }

    fn local(&self) -> SocketAddr {
        self.socket.local_addr().expect("local address")
    }

    fn request(
        &self,
        method: &str,
        uri: &str,
        branch: &str,
        cseq: u32,
        to: &str,
        body: &str,
    ) -> String {
        let local = self.local();
        let mut content_type = if body.is_empty() {
            String::new()
        } else {
            "Content-Type: application/sdp\r\n".to_owned()
        };
        if let (Some(authorization), "INVITE") = (&self.authorization, method) {
            content_type.push_str(&format!("Authorization: {authorization}\r\n"));
        }
        format!(
            "{method} {uri} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bK{branch};rport\r\nMax-Forwards: 70\r\nFrom: <sip:caller@{local}>;tag={tag}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\nContact: <sip:caller@{local}>\r\n{content_type}Content-Length: {len}\r\n\r\n{body}",
            tag = self.from_tag,
            call_id = self.call_id,
            len = body.len(),
        )
    }

    fn send(&self, text: &str) {
        self.socket
            .send_to(text.as_bytes(), self.kefu)
            .expect("send");
    }

    /// The next message from kefu within `wait`.
    pub fn receive(&self, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        let mut buffer = vec![0; 65_536];
        while Instant::now() < deadline {
            if let Ok((size, _)) = self.socket.recv_from(&mut buffer) {
                return Some(String::from_utf8_lossy(&buffer[..size]).into_owned());
            }
        }
        None
    }

    /// Sends INVITE with `sdp` (empty: a late offer) and returns kefu's
    /// final response, skipping provisional ones.
    pub fn invite(&mut self, sdp: &str, wait: Duration) -> Option<Answer> {
        self.send_invite(sdp);
        self.final_response(wait)
    }

    /// Sends INVITE with `sdp` and returns the first response with a body
    /// (a 183 with early media's SDP) or a final one.
    pub fn invite_early(&mut self, sdp: &str, wait: Duration) -> Option<Answer> {
        self.send_invite(sdp);
        let deadline = Instant::now() + wait;
        while let Some(response) = self.receive(deadline.saturating_duration_since(Instant::now()))
        {
            if !response.starts_with("SIP/2.0 ") {
                continue;
            }
            let code = status(&response);
            if code >= 200 {
                return Some(self.take_final(response));
            }
            if response.contains("\r\n\r\nv=0") {
                return Some(Answer {
                    status: code,
                    text: response,
                });
            }
        }
        None
    }

    fn send_invite(&mut self, sdp: &str) {
        let uri = self.to.trim_matches(|c| c == '<' || c == '>').to_owned();
        let text = self.request(
            "INVITE",
            &uri,
            &self.branch,
            self.cseq,
            &self.to.clone(),
            sdp,
        );
        self.send(&text);
    }

    /// The final response to the INVITE in progress, skipping provisional
    /// ones; a failure is acknowledged.
    pub fn final_response(&mut self, wait: Duration) -> Option<Answer> {
        let deadline = Instant::now() + wait;
        while let Some(response) = self.receive(deadline.saturating_duration_since(Instant::now()))
        {
            if response.starts_with("SIP/2.0 ") && status(&response) >= 200 {
                return Some(self.take_final(response));
            }
        }
        None
    }

    fn take_final(&mut self, response: String) -> Answer {
        let code = status(&response);
        if code < 300 {
            self.remote_to = header(&response, "To");
        } else {
            let uri = self.to.trim_matches(|c| c == '<' || c == '>').to_owned();
            let to = header(&response, "To").unwrap_or_default();
            let ack = self.request("ACK", &uri, &self.branch, self.cseq, &to, "");
            self.send(&ack);
        }
        Answer {
            status: code,
            text: response,
        }
    }

    /// Sends INVITE; answers a 401 digest challenge (MD5, `qop=auth`) as
    /// `user`/`password` with a second INVITE, and returns the final answer.
    pub fn invite_as(
        &mut self,
        user: &str,
        password: &str,
        sdp: &str,
        wait: Duration,
    ) -> Option<Answer> {
        let first = self.invite(sdp, wait)?;
        if first.status != 401 {
            return Some(first);
        }
        let challenge = first
            .text
            .split("\r\n")
            .filter_map(|line| line.strip_prefix("WWW-Authenticate: Digest "))
            .find(|c| c.contains("algorithm=MD5"))
            .expect("an MD5 challenge")
            .to_owned();
        let param = |name: &str| {
            challenge
                .split(", ")
                .find_map(|p| p.strip_prefix(&format!("{name}=")))
                .map(|v| v.trim_matches('"').to_owned())
                .unwrap_or_default()
        };
        let (realm, nonce, opaque) = (param("realm"), param("nonce"), param("opaque"));
        let uri = self.to.trim_matches(|c| c == '<' || c == '>').to_owned();
        let md5 = |text: String| format!("{:x}", md5::Md5::digest(text.as_bytes()));
        let ha1 = md5(format!("{user}:{realm}:{password}"));
        let ha2 = md5(format!("INVITE:{uri}"));
        let cnonce = "0a4f113b";
        let response = md5(format!("{ha1}:{nonce}:00000001:{cnonce}:auth:{ha2}"));
        self.authorization = Some(format!(
            "Digest username=\"{user}\", realm=\"{realm}\", nonce=\"{nonce}\", uri=\"{uri}\", response=\"{response}\", algorithm=MD5, qop=auth, nc=00000001, cnonce=\"{cnonce}\", opaque=\"{opaque}\""
        ));
        self.cseq += 1;
        self.branch = "inv2".to_owned();
        self.invite(sdp, wait)
    }

    /// Sends CANCEL for the INVITE.
    pub fn cancel(&self) {
        let uri = self.to.trim_matches(|c| c == '<' || c == '>').to_owned();
        let text = self.request("CANCEL", &uri, "inv1", self.cseq, &self.to, "");
        self.send(&text);
    }

    /// Acknowledges a 2xx (with `sdp` answering a late offer, or empty).
    pub fn ack(&self, sdp: &str) {
        let to = self.remote_to.clone().expect("answered");
        let text = self.request("ACK", &self.kefu_contact(), "ack1", self.cseq, &to, sdp);
        self.send(&text);
    }

    /// Sends a re-INVITE with a new offer in the dialog, ACKs its 2xx and
    /// returns the final answer.
    pub fn reinvite(&mut self, sdp: &str, wait: Duration) -> Option<Answer> {
        self.cseq += 1;
        let to = self.remote_to.clone().expect("answered");
        let branch = format!("reinv{}", self.cseq);
        let text = self.request("INVITE", &self.kefu_contact(), &branch, self.cseq, &to, sdp);
        self.send(&text);
        let deadline = Instant::now() + wait;
        while let Some(message) = self.receive(deadline.saturating_duration_since(Instant::now())) {
            if !message.starts_with("SIP/2.0 ") || status(&message) < 200 {
                continue;
            }
            if status(&message) < 300 {
                let ack = self.request("ACK", &self.kefu_contact(), "reack", self.cseq, &to, "");
                self.send(&ack);
            }
            return Some(Answer {
                status: status(&message),
                text: message,
            });
        }
        None
    }

    /// Hangs up and returns the status of kefu's answer.
    pub fn bye(&mut self, wait: Duration) -> Option<u16> {
        self.bye_with("", wait)
    }

    /// [`Self::bye`] with extra header lines (each ending in CRLF), e.g. a
    /// `Reason`.
    pub fn bye_with(&mut self, headers: &str, wait: Duration) -> Option<u16> {
        self.cseq += 1;
        let to = self.remote_to.clone().expect("answered");
        let text = self.request("BYE", &self.kefu_contact(), "bye1", self.cseq, &to, "");
        let text = text.replacen("Content-Length:", &format!("{headers}Content-Length:"), 1);
        self.send(&text);
        let deadline = Instant::now() + wait;
        while let Some(message) = self.receive(deadline.saturating_duration_since(Instant::now())) {
            if message.starts_with("SIP/2.0 ") && message.contains(" BYE\r\n") {
                return Some(status(&message));
            }
        }
        None
    }

    /// Waits for a request from kefu (e.g. its BYE), answers it 200 and
    /// returns it.
    pub fn answer_next_request(&self, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        while let Some(message) = self.receive(deadline.saturating_duration_since(Instant::now())) {
            if message.starts_with("SIP/2.0 ") {
                continue;
            }
            let mut ok = String::from("SIP/2.0 200 OK\r\n");
            for name in ["Via", "From", "To", "Call-ID", "CSeq"] {
                if let Some(value) = header(&message, name) {
                    ok.push_str(&format!("{name}: {value}\r\n"));
                }
            }
            ok.push_str("Content-Length: 0\r\n\r\n");
            self.send(&ok);
            return Some(message);
        }
        None
    }

    fn kefu_contact(&self) -> String {
        format!("sip:kefu@{}", self.kefu)
    }
}

/// The value of the first header `name` in a SIP message.
pub fn header(text: &str, name: &str) -> Option<String> {
    let prefix = format!("{}:", name.to_ascii_lowercase());
    text.split("\r\n\r\n").next()?.lines().find_map(|line| {
        line.to_ascii_lowercase()
            .starts_with(&prefix)
            .then(|| line[prefix.len()..].trim().to_owned())
    })
}

fn rand_suffix() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or_default();
    format!("{nanos:08x}")
}

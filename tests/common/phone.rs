//! A scripted SIP phone over UDP, for what baresip 1.0 cannot do (attended
//! transfer): it registers as a demo user with MD5 digest, answers kefu's
//! INVITE with an SDP answer, sends requests in that dialog (a re-INVITE to
//! hold, REFER) and answers kefu's requests (NOTIFY, BYE) with 200,
//! keeping them for the test to read.

use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

use super::sip::{digest_answer, register, status};
use super::uac::header;

/// A registered phone.
pub struct Phone {
    socket: UdpSocket,
    kefu: SocketAddr,
    user: String,
    /// kefu's requests answered so far, oldest first.
    pub requests: Vec<String>,
    branch: u32,
}

/// A dialog kefu opened by calling the phone.
pub struct Dialog {
    pub call_id: String,
    /// kefu's From (with its tag): our To in requests we send.
    remote: String,
    /// Our To (with our tag): our From in requests we send.
    local: String,
    /// kefu's Contact URI: where our requests go.
    target: String,
    cseq: u32,
}

impl Phone {
    /// Registers `user` (password `password`) at kefu from a fresh socket.
    pub fn register(kefu: SocketAddr, user: &str, password: &str) -> Self {
        let socket = UdpSocket::bind("127.0.0.1:0").expect("bind the phone");
        socket
            .set_read_timeout(Some(Duration::from_millis(100)))
            .expect("a read timeout");
        let mut phone = Self {
            socket,
            kefu,
            user: user.to_owned(),
            requests: Vec::new(),
            branch: 0,
        };
        let via = format!("SIP/2.0/UDP {}", phone.local());
        let contact = format!("Contact: <sip:{user}@{}>\r\n", phone.local());
        let call_id = format!("reg-{user}-{}", std::process::id());
        phone.send(&register(&via, user, &call_id, 1, &contact));
        let challenge = phone.response(1, Duration::from_secs(5)).expect("a 401");
        assert_eq!(status(&challenge), 401, "{challenge}");
        let answer = digest_answer(&challenge, user, password);
        phone.send(&register(&via, user, &call_id, 2, &(contact + &answer)));
        let ok = phone.response(2, Duration::from_secs(5)).expect("a 200");
        assert_eq!(status(&ok), 200, "{ok}");
        phone
    }

    /// Where the phone registered from (sipp may take the port over once
    /// the phone is dropped).
    pub fn local(&self) -> SocketAddr {
        self.socket.local_addr().expect("local address")
    }

    fn send(&self, text: &str) {
        self.socket
            .send_to(text.as_bytes(), self.kefu)
            .expect("send");
    }

    fn receive(&self, deadline: Instant) -> Option<String> {
        let mut buffer = vec![0; 65_536];
        while Instant::now() < deadline {
            if let Ok((size, _)) = self.socket.recv_from(&mut buffer) {
                return Some(String::from_utf8_lossy(&buffer[..size]).into_owned());
            }
        }
        None
    }

    /// Answers a request of kefu's with `status` (and a To tag, a Contact
    /// and `body` as SDP when given).
    fn reply(&self, request: &str, status: &str, to_tag: Option<&str>, body: &str) {
        let mut text = format!("SIP/2.0 {status}\r\n");
        for name in ["Via", "From", "Call-ID", "CSeq"] {
            for line in request.split("\r\n\r\n").next().unwrap_or("").lines() {
                if line
                    .to_ascii_lowercase()
                    .starts_with(&format!("{}:", name.to_ascii_lowercase()))
                {
                    text.push_str(line);
                    text.push_str("\r\n");
                }
            }
        }
        let to = header(request, "To").unwrap_or_default();
        match to_tag {
            Some(tag) if !to.contains(";tag=") => text.push_str(&format!("To: {to};tag={tag}\r\n")),
            _ => text.push_str(&format!("To: {to}\r\n")),
        }
        text.push_str(&format!(
            "Contact: <sip:{}@{}>\r\n",
            self.user,
            self.local()
        ));
        if !body.is_empty() {
            text.push_str("Content-Type: application/sdp\r\n");
        }
        text.push_str(&format!("Content-Length: {}\r\n\r\n{body}", body.len()));
        self.send(&text);
    }

    /// The response with CSeq number `cseq`; kefu's requests meanwhile are
    /// answered 200 and kept.
    fn response(&mut self, cseq: u32, wait: Duration) -> Option<String> {
        let deadline = Instant::now() + wait;
        while let Some(message) = self.receive(deadline) {
            if !message.starts_with("SIP/2.0 ") {
                self.take_request(message);
                continue;
            }
            let number = header(&message, "CSeq")
                .and_then(|value| value.split_whitespace().next()?.parse::<u32>().ok());
            if number == Some(cseq) && status(&message) >= 200 {
                return Some(message);
            }
        }
        None
    }

    fn take_request(&mut self, request: String) {
        if !request.starts_with("ACK ") {
            self.reply(&request, "200 OK", None, "");
        }
        self.requests.push(request);
    }

    /// Waits for kefu's INVITE and answers it 200 with `sdp`; returns the
    /// dialog.
    pub fn answer(&mut self, sdp: &str, wait: Duration) -> Option<Dialog> {
        let deadline = Instant::now() + wait;
        while let Some(message) = self.receive(deadline) {
            if !message.starts_with("INVITE ") {
                continue;
            }
            let tag = "phone-tag";
            self.reply(&message, "200 OK", Some(tag), sdp);
            let contact = header(&message, "Contact")?;
            let target = contact
                .split_once('<')
                .and_then(|(_, rest)| rest.split_once('>'))
                .map_or(contact.as_str(), |(uri, _)| uri)
                .to_owned();
            return Some(Dialog {
                call_id: header(&message, "Call-ID")?,
                remote: header(&message, "From")?,
                local: format!("{};tag={tag}", header(&message, "To")?),
                target,
                cseq: 0,
            });
        }
        None
    }

    /// Sends `method` in `dialog` with `headers` (lines without CRLF) and
    /// an SDP `body`; returns the final response (a 2xx to an INVITE is
    /// acknowledged).
    pub fn request(
        &mut self,
        dialog: &mut Dialog,
        method: &str,
        headers: &[String],
        body: &str,
    ) -> Option<String> {
        dialog.cseq += 1;
        let mut extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
        if !body.is_empty() {
            extra.push_str("Content-Type: application/sdp\r\n");
        }
        let text = self.in_dialog(dialog, method, dialog.cseq, &extra, body);
        self.send(&text);
        let response = self.response(dialog.cseq, Duration::from_secs(10))?;
        if method == "INVITE" && status(&response) < 300 {
            let ack = self.in_dialog(dialog, "ACK", dialog.cseq, "", "");
            self.send(&ack);
        }
        Some(response)
    }

    fn in_dialog(
        &mut self,
        dialog: &Dialog,
        method: &str,
        cseq: u32,
        extra: &str,
        body: &str,
    ) -> String {
        self.branch += 1;
        format!(
            "{method} {target} SIP/2.0\r\nVia: SIP/2.0/UDP {local};branch=z9hG4bKphone{branch};rport\r\n\
             Max-Forwards: 70\r\nFrom: {from}\r\nTo: {to}\r\nCall-ID: {call_id}\r\nCSeq: {cseq} {method}\r\n\
             Contact: <sip:{user}@{local}>\r\n{extra}Content-Length: {len}\r\n\r\n{body}",
            target = dialog.target,
            local = self.local(),
            branch = self.branch,
            from = dialog.local,
            to = dialog.remote,
            call_id = dialog.call_id,
            user = self.user,
            len = body.len(),
        )
    }

    /// Answers kefu's requests for `wait`.
    pub fn listen(&mut self, wait: Duration) {
        let deadline = Instant::now() + wait;
        while let Some(message) = self.receive(deadline) {
            if !message.starts_with("SIP/2.0 ") {
                self.take_request(message);
            }
        }
    }

    /// Answers kefu's requests until one starting with `start` (e.g.
    /// `BYE `) arrives within `wait`; returns it.
    pub fn wait_for_request(&mut self, start: &str, wait: Duration) -> Option<String> {
        if let Some(seen) = self.requests.iter().find(|r| r.starts_with(start)) {
            return Some(seen.clone());
        }
        let deadline = Instant::now() + wait;
        while let Some(message) = self.receive(deadline) {
            if message.starts_with("SIP/2.0 ") {
                continue;
            }
            let wanted = message.starts_with(start);
            self.take_request(message.clone());
            if wanted {
                return Some(message);
            }
        }
        None
    }
}

//! A client of rtpengine's ng control protocol: bencoded dictionaries over
//! UDP, each prefixed with a cookie that the reply repeats. Only what the
//! relay bench needs: `ping`, and `offer`/`answer`/`delete` of a two-party call.

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::time::Duration;

/// A bencoded value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Bytes(Vec<u8>),
    Int(i64),
    List(Vec<Value>),
    Dict(Vec<(Vec<u8>, Value)>),
}

impl Value {
    fn text(text: &str) -> Self {
        Self::Bytes(text.as_bytes().to_vec())
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Self::Bytes(bytes) => {
                out.extend_from_slice(format!("{}:", bytes.len()).as_bytes());
                out.extend_from_slice(bytes);
            }
            Self::Int(int) => out.extend_from_slice(format!("i{int}e").as_bytes()),
            Self::List(items) => {
                out.push(b'l');
                items.iter().for_each(|item| item.encode(out));
                out.push(b'e');
            }
            Self::Dict(entries) => {
                out.push(b'd');
                for (key, value) in entries {
                    Self::Bytes(key.clone()).encode(out);
                    value.encode(out);
                }
                out.push(b'e');
            }
        }
    }

    /// Decodes one value at the start of `input`; returns it and the rest.
    fn decode(input: &[u8]) -> Option<(Self, &[u8])> {
        match *input.first()? {
            b'i' => {
                let end = input.iter().position(|b| *b == b'e')?;
                let int = std::str::from_utf8(&input[1..end]).ok()?.parse().ok()?;
                Some((Self::Int(int), &input[end + 1..]))
            }
            b'l' => {
                let mut rest = &input[1..];
                let mut items = Vec::new();
                while *rest.first()? != b'e' {
                    let (item, after) = Self::decode(rest)?;
                    items.push(item);
                    rest = after;
                }
                Some((Self::List(items), &rest[1..]))
            }
            b'd' => {
                let mut rest = &input[1..];
                let mut entries = Vec::new();
                while *rest.first()? != b'e' {
                    let (Self::Bytes(key), after) = Self::decode(rest)? else {
                        return None;
                    };
                    let (value, after) = Self::decode(after)?;
                    entries.push((key, value));
                    rest = after;
                }
                Some((Self::Dict(entries), &rest[1..]))
            }
            b'0'..=b'9' => {
                let colon = input.iter().position(|b| *b == b':')?;
                let len: usize = std::str::from_utf8(&input[..colon]).ok()?.parse().ok()?;
                let bytes = input.get(colon + 1..colon + 1 + len)?;
                Some((Self::Bytes(bytes.to_vec()), &input[colon + 1 + len..]))
            }
            _ => None,
        }
    }

    /// The text under `key` of a dictionary.
    fn get_text(&self, key: &str) -> Option<String> {
        let Self::Dict(entries) = self else {
            return None;
        };
        entries.iter().find_map(|(k, v)| match v {
            Self::Bytes(bytes) if k == key.as_bytes() => {
                Some(String::from_utf8_lossy(bytes).into_owned())
            }
            _ => None,
        })
    }
}

/// rtpengine's control socket.
pub struct NgClient {
    socket: UdpSocket,
    server: SocketAddr,
    next_cookie: u64,
}

impl NgClient {
    pub fn new(server: SocketAddr) -> io::Result<Self> {
        let socket = UdpSocket::bind("127.0.0.1:0")?;
        socket.set_read_timeout(Some(Duration::from_secs(2)))?;
        Ok(Self {
            socket,
            server,
            next_cookie: 1,
        })
    }

    /// Sends `command` with these further entries; the reply's dictionary,
    /// an error when rtpengine says `result` is not `ok`/`pong`.
    fn call(&mut self, command: &str, entries: Vec<(&str, Value)>) -> io::Result<Value> {
        let cookie = format!("{}_{}", std::process::id(), self.next_cookie);
        self.next_cookie += 1;
        let mut dict = vec![(b"command".to_vec(), Value::text(command))];
        dict.extend(entries.into_iter().map(|(k, v)| (k.as_bytes().to_vec(), v)));
        let mut message = format!("{cookie} ").into_bytes();
        Value::Dict(dict).encode(&mut message);
        self.socket.send_to(&message, self.server)?;
        let mut buffer = vec![0; 65_536];
        loop {
            let (len, _) = self.socket.recv_from(&mut buffer)?;
            let Some(body) = buffer[..len].strip_prefix(format!("{cookie} ").as_bytes()) else {
                continue; // a late reply to an earlier command
            };
            let invalid = || io::Error::new(io::ErrorKind::InvalidData, "bad ng reply");
            let (reply, _) = Value::decode(body).ok_or_else(invalid)?;
            return match reply.get_text("result").as_deref() {
                Some("ok" | "pong") => Ok(reply),
                other => Err(io::Error::other(format!(
                    "rtpengine {command}: {other:?} {:?}",
                    reply.get_text("error-reason")
                ))),
            };
        }
    }

    pub fn ping(&mut self) -> io::Result<()> {
        self.call("ping", Vec::new()).map(drop)
    }

    /// Offers `call_id` from a phone at `caller`; returns the port rtpengine
    /// gives the callee (where the callee sends RTP).
    pub fn offer(&mut self, call_id: &str, caller: SocketAddr) -> io::Result<u16> {
        let reply = self.call("offer", media_entries(call_id, caller, None))?;
        sdp_port(&reply)
    }

    /// Answers `call_id` from a phone at `callee`; returns the port rtpengine
    /// gives the caller.
    pub fn answer(&mut self, call_id: &str, callee: SocketAddr) -> io::Result<u16> {
        let reply = self.call("answer", media_entries(call_id, callee, Some("b")))?;
        sdp_port(&reply)
    }

    pub fn delete(&mut self, call_id: &str) -> io::Result<()> {
        let entries = vec![
            ("call-id", Value::text(call_id)),
            ("from-tag", Value::text("a")),
        ];
        self.call("delete", entries).map(drop)
    }
}

/// The entries of an offer (no `to_tag`) or an answer: a G.711 audio stream at `phone`.
fn media_entries(
    call_id: &str,
    phone: SocketAddr,
    to_tag: Option<&str>,
) -> Vec<(&'static str, Value)> {
    let sdp = format!(
        "v=0\r\no=- 1 1 IN IP4 {ip}\r\ns=-\r\nc=IN IP4 {ip}\r\nt=0 0\r\nm=audio {port} RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\na=sendrecv\r\n",
        ip = phone.ip(),
        port = phone.port()
    );
    let mut entries = vec![
        ("call-id", Value::text(call_id)),
        ("from-tag", Value::text("a")),
        ("sdp", Value::text(&sdp)),
        (
            "replace",
            Value::List(vec![
                Value::text("origin"),
                Value::text("session-connection"),
            ]),
        ),
        ("ICE", Value::text("remove")),
    ];
    if let Some(tag) = to_tag {
        entries.push(("to-tag", Value::text(tag)));
    }
    entries
}

/// The port of the first `m=audio` line of the reply's SDP.
fn sdp_port(reply: &Value) -> io::Result<u16> {
    reply
        .get_text("sdp")
        .and_then(|sdp| {
            sdp.lines()
                .find_map(|line| line.strip_prefix("m=audio "))
                .and_then(|rest| rest.split_whitespace().next()?.parse().ok())
        })
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, "no m=audio port in the reply"))
}

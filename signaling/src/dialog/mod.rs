//! Dialogs (RFC 3261 §12): the state two user agents share once an INVITE has
//! been answered with a tag, and the rules for the requests sent inside it.
//!
//! A [`Dialog`] is created on the UAS side from the INVITE it receives
//! ([`Dialog::uas`]) and on the UAC side from the INVITE it sent and a 1xx/2xx
//! with a To tag ([`Dialog::uac`]). It keeps the route set, the remote target
//! (updated by target-refresh requests), both CSeq counters, and builds
//! in-dialog requests ([`Dialog::request`], [`Dialog::ack`]) with the headers
//! §12.2.1.1 names. [`Dialog::check_remote_cseq`] applies §12.2.2's ordering
//! rule to what arrives.
//!
//! Where in-dialog requests go: kefu treats every peer as possibly behind a NAT,
//! so requests are sent to the address (and, for TCP/TLS/WebSocket, the
//! connection) the dialog's messages came from, never to a Contact host it may
//! not reach — the same choice as Kamailio's `fix_nated_contact` or an RFC 5626
//! flow. Party headers are kept as received text with tags appended, so
//! display names and parameters travel unchanged.

#[cfg(test)]
mod tests;

use std::fmt;

use rsip::headers::ToTypedHeader;
use rsip::headers::{
    CSeq, CallId, Contact, ContentLength, ContentType, From, MaxForwards, Route, To, UntypedHeader,
    Via,
};
use rsip::{Header, Headers, Method, Request, Response, Uri, Version};

use crate::transaction::{MAGIC_COOKIE, Peer};

/// Identifies a dialog: Call-ID and both tags (§12).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DialogId {
    /// The Call-ID.
    pub call_id: String,
    /// Our tag.
    pub local_tag: String,
    /// The peer's tag.
    pub remote_tag: String,
}

impl fmt::Display for DialogId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{};{};{}", self.call_id, self.local_tag, self.remote_tag)
    }
}

/// Why a message cannot start or join a dialog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DialogError {
    /// A header the dialog needs is missing or unreadable.
    #[error("{0} is missing or invalid")]
    Header(&'static str),
    /// The peer gave no tag where the dialog needs one.
    #[error("the {0} header has no tag")]
    NoTag(&'static str),
    /// A request arrived with a CSeq not above the last one (§12.2.2: 500).
    #[error("CSeq {received} is not above {last}")]
    CSeqOutOfOrder {
        /// The number received.
        received: u32,
        /// The last number seen in this dialog.
        last: u32,
    },
}

/// A body for an in-dialog request: its media type and bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Body {
    /// The `Content-Type`, e.g. `application/sdp`.
    pub content_type: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl Body {
    /// An `application/sdp` body.
    pub fn sdp(text: impl Into<String>) -> Self {
        Self {
            content_type: "application/sdp".to_owned(),
            bytes: text.into().into_bytes(),
        }
    }
}

/// One dialog. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Dialog {
    id: DialogId,
    /// Our party header value, with our tag (`From` in our requests).
    local_party: String,
    /// The peer's party header value, with its tag (`To` in our requests).
    remote_party: String,
    remote_target: Uri,
    /// `Route` values for our requests, in order.
    route_set: Vec<String>,
    local_cseq: u32,
    remote_cseq: Option<u32>,
    peer: Peer,
    /// Our `Contact` value and `Via` sent-by.
    local_contact: Uri,
}

impl Dialog {
    /// The dialog a UAS creates by answering `invite` (received from `peer`)
    /// with a response carrying `local_tag` (§12.1.1). The route set is the
    /// Record-Route list in order; the remote target is the INVITE's Contact.
    pub fn uas(
        invite: &Request,
        local_tag: &str,
        local_contact: Uri,
        peer: Peer,
    ) -> Result<Self, DialogError> {
        let headers = &invite.headers;
        let remote_party = header_value(headers, |h| match h {
            Header::From(from) => Some(from.value()),
            _ => None,
        })
        .ok_or(DialogError::Header("From"))?;
        let remote_tag = tag_of(&remote_party).ok_or(DialogError::NoTag("From"))?;
        let to = header_value(headers, |h| match h {
            Header::To(to) => Some(to.value()),
            _ => None,
        })
        .ok_or(DialogError::Header("To"))?;
        let route_set = record_routes(headers);
        Ok(Self {
            id: DialogId {
                call_id: call_id(headers)?,
                local_tag: local_tag.to_owned(),
                remote_tag,
            },
            local_party: format!("{to};tag={local_tag}"),
            remote_party,
            remote_target: contact_uri(headers)?,
            route_set,
            local_cseq: 0,
            remote_cseq: Some(cseq_number(headers)?),
            peer,
            local_contact,
        })
    }

    /// The dialog a UAC creates from the `invite` it sent to `peer` and a 1xx/2xx
    /// `response` with a To tag (§12.1.2). The route set is the Record-Route list
    /// reversed.
    pub fn uac(
        invite: &Request,
        response: &Response,
        local_contact: Uri,
        peer: Peer,
    ) -> Result<Self, DialogError> {
        let local_party = header_value(&invite.headers, |h| match h {
            Header::From(from) => Some(from.value()),
            _ => None,
        })
        .ok_or(DialogError::Header("From"))?;
        let local_tag = tag_of(&local_party).ok_or(DialogError::NoTag("From"))?;
        let remote_party = header_value(&response.headers, |h| match h {
            Header::To(to) => Some(to.value()),
            _ => None,
        })
        .ok_or(DialogError::Header("To"))?;
        let remote_tag = tag_of(&remote_party).ok_or(DialogError::NoTag("To"))?;
        let mut route_set = record_routes(&response.headers);
        route_set.reverse();
        Ok(Self {
            id: DialogId {
                call_id: call_id(&invite.headers)?,
                local_tag,
                remote_tag,
            },
            local_party,
            remote_party,
            remote_target: contact_uri(&response.headers).unwrap_or_else(|_| invite.uri.clone()),
            route_set,
            local_cseq: cseq_number(&invite.headers)?,
            remote_cseq: None,
            peer,
            local_contact,
        })
    }

    /// The dialog's id.
    pub fn id(&self) -> &DialogId {
        &self.id
    }

    /// Where requests in this dialog go.
    pub fn peer(&self) -> Peer {
        self.peer
    }

    /// The peer's current target URI (its Contact).
    pub fn remote_target(&self) -> &Uri {
        &self.remote_target
    }

    /// The CSeq number of our last request.
    pub fn local_cseq(&self) -> u32 {
        self.local_cseq
    }

    /// Checks a request received in this dialog against §12.2.2: its CSeq must
    /// be above the last one (an ACK or CANCEL repeats its INVITE's number). On
    /// success the number is remembered, and a target-refresh request (re-INVITE,
    /// UPDATE) with a Contact replaces the remote target.
    pub fn check_remote_cseq(&mut self, request: &Request) -> Result<(), DialogError> {
        let received = cseq_number(&request.headers)?;
        let repeats = matches!(request.method, Method::Ack | Method::Cancel);
        match self.remote_cseq {
            Some(last) if received < last || (received == last && !repeats) => {
                return Err(DialogError::CSeqOutOfOrder { received, last });
            }
            _ => self.remote_cseq = Some(received),
        }
        if matches!(request.method, Method::Invite | Method::Update) {
            if let Ok(target) = contact_uri(&request.headers) {
                self.remote_target = target;
            }
        }
        Ok(())
    }

    /// A new request in this dialog (§12.2.1.1), not ACK: the next CSeq, the
    /// route set as `Route`, our Contact, and a Via for the transaction layer to
    /// give a branch. Send it to [`Dialog::peer`].
    pub fn request(&mut self, method: Method, body: Option<Body>) -> Request {
        self.local_cseq += 1;
        self.build(method, self.local_cseq, body)
    }

    /// The ACK for a 2xx to our INVITE with CSeq `invite_cseq` (§13.2.2.4): a new
    /// request with its own branch, sent outside any transaction.
    pub fn ack(&self, invite_cseq: u32, body: Option<Body>, branch: &str) -> Request {
        let mut ack = self.build(Method::Ack, invite_cseq, body);
        for header in ack.headers.iter_mut() {
            if let Header::Via(via) = header {
                *via = Via::new(format!("{};branch={MAGIC_COOKIE}{branch}", via.value()));
            }
        }
        ack
    }

    fn build(&self, method: Method, cseq: u32, body: Option<Body>) -> Request {
        let mut headers = Headers::default();
        headers.push(Header::Via(Via::new(format!(
            "SIP/2.0/{} {};rport",
            transport_token(self.peer),
            self.local_contact.host_with_port
        ))));
        headers.push(Header::MaxForwards(MaxForwards::new("70")));
        for route in &self.route_set {
            headers.push(Header::Route(Route::new(route.clone())));
        }
        headers.push(Header::From(From::new(self.local_party.clone())));
        headers.push(Header::To(To::new(self.remote_party.clone())));
        headers.push(Header::CallId(CallId::new(self.id.call_id.clone())));
        headers.push(Header::CSeq(CSeq::new(format!("{cseq} {method}"))));
        headers.push(Header::Contact(Contact::new(format!(
            "<{}>",
            self.local_contact
        ))));
        let bytes = match body {
            Some(body) => {
                headers.push(Header::ContentType(ContentType::new(body.content_type)));
                body.bytes
            }
            None => Vec::new(),
        };
        headers.push(Header::ContentLength(ContentLength::new(
            bytes.len().to_string(),
        )));
        Request {
            method,
            uri: self.request_uri(),
            version: Version::V2,
            headers,
            body: bytes,
        }
    }

    /// The Request-URI: the remote target, unless the first route is a strict
    /// router (no `lr`), which RFC 3261 §12.2.1.1 handles by swapping; kefu only
    /// supports loose routing and keeps the remote target.
    fn request_uri(&self) -> Uri {
        self.remote_target.clone()
    }
}

/// The SIP transport token for a Via (§18.2.1 / RFC 7118).
pub fn transport_token(peer: Peer) -> &'static str {
    use crate::transaction::Transport;
    match peer.transport {
        Transport::Udp => "UDP",
        Transport::Tcp => "TCP",
        Transport::Tls => "TLS",
        Transport::Ws => "WS",
        Transport::Wss => "WSS",
    }
}

/// The `tag` parameter of a From/To header value.
pub fn tag_of(party: &str) -> Option<String> {
    let after_uri = party.rsplit_once('>').map_or(party, |(_, params)| params);
    after_uri.split(';').skip(1).find_map(|param| {
        let (name, value) = param.split_once('=')?;
        (name.trim().eq_ignore_ascii_case("tag") && !value.trim().is_empty())
            .then(|| value.trim().to_owned())
    })
}

fn header_value(headers: &Headers, pick: impl Fn(&Header) -> Option<&str>) -> Option<String> {
    headers.iter().find_map(|h| pick(h).map(str::to_owned))
}

fn call_id(headers: &Headers) -> Result<String, DialogError> {
    header_value(headers, |h| match h {
        Header::CallId(id) => Some(id.value()),
        _ => None,
    })
    .filter(|id| !id.trim().is_empty())
    .ok_or(DialogError::Header("Call-ID"))
}

fn cseq_number(headers: &Headers) -> Result<u32, DialogError> {
    header_value(headers, |h| match h {
        Header::CSeq(cseq) => Some(cseq.value()),
        _ => None,
    })
    .and_then(|value| value.split_whitespace().next()?.parse().ok())
    .ok_or(DialogError::Header("CSeq"))
}

fn contact_uri(headers: &Headers) -> Result<Uri, DialogError> {
    headers
        .iter()
        .find_map(|h| match h {
            Header::Contact(contact) => contact.typed().ok(),
            _ => None,
        })
        .map(|contact| contact.uri)
        .ok_or(DialogError::Header("Contact"))
}

/// The Record-Route entries in order, one per URI even when a header lists several.
fn record_routes(headers: &Headers) -> Vec<String> {
    headers
        .iter()
        .filter_map(|h| match h {
            Header::RecordRoute(rr) => Some(rr.value()),
            _ => None,
        })
        .flat_map(split_route_list)
        .collect()
}

/// Splits a comma-separated name-addr list, ignoring commas inside `<...>` or quotes.
fn split_route_list(list: &str) -> Vec<String> {
    let mut entries = Vec::new();
    let mut current = String::new();
    let (mut in_angle, mut in_quote) = (false, false);
    for c in list.chars() {
        match c {
            '"' if !in_angle => in_quote = !in_quote,
            '<' if !in_quote => in_angle = true,
            '>' if !in_quote => in_angle = false,
            ',' if !in_angle && !in_quote => {
                entries.push(std::mem::take(&mut current));
                continue;
            }
            _ => {}
        }
        current.push(c);
    }
    entries.push(current);
    entries
        .into_iter()
        .map(|entry| entry.trim().to_owned())
        .filter(|entry| !entry.is_empty())
        .collect()
}

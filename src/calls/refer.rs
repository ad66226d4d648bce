//! Transfers asked by the callee's phone in a bridged call (RFC 3515):
//! where the REFER's `Refer-To` points — a number or extension to ring
//! (blind), or, with a `Replaces` header parameter (RFC 3891), another call
//! of that phone's through kefu whose far side the caller is joined to
//! (attended) — and the NOTIFYs (`message/sipfrag`, RFC 3420) that tell the
//! transferring phone how it goes. The bridged call carries out the rest
//! ([`super::bridged`]).

use kefu_signaling::dialog::{Body, DialogId};
use rsip::headers::{Event, SubscriptionState, UntypedHeader};
use rsip::{Header, Method, Request};

use super::CallContext;

/// Why a REFER is refused: its status and reason.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Refused {
    pub status: u16,
    pub reason: &'static str,
}

/// Where a REFER sends the caller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum ReferTo {
    /// Ring this number or extension (the user part of the SIP URI).
    Blind(String),
    /// Join the far side of the dialog that `Replaces` names.
    Attended(Replaces),
}

/// The dialog a `Replaces` names (RFC 3891 §6.1), from the side of its
/// recipient — kefu: `to_tag` is kefu's tag, `from_tag` the phone's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Replaces {
    pub call_id: String,
    pub to_tag: String,
    pub from_tag: String,
}

impl Replaces {
    /// Reads `callid;to-tag=…;from-tag=…` (already unescaped); both tags
    /// are required, `early-only` and unknown parameters are ignored.
    fn parse(value: &str) -> Option<Self> {
        let mut parts = value.split(';');
        let call_id = parts.next()?.trim();
        let (mut to_tag, mut from_tag) = (None, None);
        for part in parts {
            let (name, value) = part.split_once('=').unwrap_or((part, ""));
            let slot = match name.trim().to_ascii_lowercase().as_str() {
                "to-tag" => &mut to_tag,
                "from-tag" => &mut from_tag,
                _ => continue,
            };
            *slot = Some(value.trim().to_owned());
        }
        let (to_tag, from_tag) = (to_tag?, from_tag?);
        if call_id.is_empty() || to_tag.is_empty() || from_tag.is_empty() {
            return None;
        }
        Some(Self {
            call_id: call_id.to_owned(),
            to_tag,
            from_tag,
        })
    }

    /// Whether `dialog` (kefu's view: local tag, remote tag) is the one named.
    pub fn names(&self, dialog: &DialogId) -> bool {
        dialog.call_id == self.call_id
            && dialog.local_tag == self.to_tag
            && dialog.remote_tag == self.from_tag
    }
}

/// Where the REFER's `Refer-To` sends the caller.
pub(super) fn refer_to(request: &Request) -> Result<ReferTo, Refused> {
    let bad = Refused {
        status: 400,
        reason: "Bad Request",
    };
    let value = request
        .headers
        .iter()
        .find_map(|header| match header {
            Header::Other(name, value)
                if name.eq_ignore_ascii_case("Refer-To") || name.eq_ignore_ascii_case("r") =>
            {
                Some(value.as_str())
            }
            _ => None,
        })
        .ok_or(bad)?;
    let uri = match value.split_once('<') {
        Some((_, rest)) => rest.split_once('>').map_or(rest, |(uri, _)| uri),
        None => value.split(';').next().unwrap_or(value),
    }
    .trim();
    let (uri, headers) = uri.split_once('?').unwrap_or((uri, ""));
    let (scheme, rest) = uri.split_once(':').ok_or(bad)?;
    if !(scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")) {
        return Err(Refused {
            status: 416,
            reason: "Unsupported URI Scheme",
        });
    }
    let replaces = headers.split('&').find_map(|header| {
        let (name, value) = header.split_once('=')?;
        name.eq_ignore_ascii_case("Replaces").then_some(value)
    });
    if let Some(replaces) = replaces {
        let unescaped = percent_encoding::percent_decode_str(replaces).decode_utf8_lossy();
        return Replaces::parse(&unescaped)
            .map(ReferTo::Attended)
            .ok_or(bad);
    }
    let user = rest.split_once('@').map_or("", |(user, _)| user);
    let user = user.split(';').next().unwrap_or_default();
    if user.is_empty() {
        return Err(bad);
    }
    Ok(ReferTo::Blind(user.to_owned()))
}

/// Tells the transferring phone, in `dialog`, that the new call reached
/// `status` (`SIP/2.0 180 Ringing`, `SIP/2.0 200 OK`…); `done` ends the
/// implicit subscription.
pub(super) async fn notify(
    context: &CallContext,
    dialog: &DialogId,
    status: u16,
    reason: &str,
    done: bool,
) {
    let state = if done {
        "terminated;reason=noresource"
    } else {
        "active;expires=60"
    };
    let headers = vec![
        Header::Event(Event::new("refer")),
        Header::SubscriptionState(SubscriptionState::new(state)),
    ];
    let body = Body {
        content_type: "message/sipfrag;version=2.0".to_owned(),
        bytes: format!("SIP/2.0 {status} {reason}\r\n").into_bytes(),
    };
    let sent = context
        .sip
        .send_request_with(dialog, Method::Notify, Some(body), headers)
        .await;
    if let Err(error) = sent {
        tracing::debug!(%error, "NOTIFY not sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refer(refer_to: &str) -> Request {
        let text = format!(
            "REFER sip:kefu@192.0.2.1 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.7;branch=z9hG4bK1\r\nTo: <sip:kefu@192.0.2.1>;tag=a\r\nFrom: <sip:1001@kefu>;tag=b\r\nCall-ID: c\r\nCSeq: 2 REFER\r\n{refer_to}Contact: <sip:1001@192.0.2.7>\r\nContent-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_bytes()).unwrap()
    }

    #[test]
    fn the_target_is_the_user_of_the_refer_to_uri() {
        let request = refer("Refer-To: <sip:1002@kefu.example;transport=udp>\r\n");
        assert_eq!(refer_to(&request), Ok(ReferTo::Blind("1002".to_owned())));
        let compact = refer("r: sip:4930123@trunk\r\n");
        assert_eq!(refer_to(&compact), Ok(ReferTo::Blind("4930123".to_owned())));
    }

    #[test]
    fn a_replaces_parameter_makes_an_attended_transfer_of_that_dialog() {
        let request = refer(
            "Refer-To: <sip:1002@kefu?Replaces=abc%40host%3Bto-tag%3D1%3Bfrom-tag%3D2%3Bearly-only>\r\n",
        );
        let Ok(ReferTo::Attended(replaces)) = refer_to(&request) else {
            panic!("not attended: {:?}", refer_to(&request));
        };
        let dialog = |local: &str, remote: &str| DialogId {
            call_id: "abc@host".to_owned(),
            local_tag: local.to_owned(),
            remote_tag: remote.to_owned(),
        };
        assert!(replaces.names(&dialog("1", "2")));
        assert!(!replaces.names(&dialog("2", "1")), "tags have sides");
    }

    #[test]
    fn missing_odd_and_half_attended_targets_are_refused() {
        assert_eq!(refer_to(&refer("")).unwrap_err().status, 400);
        let tel = refer("Refer-To: <tel:+4930123>\r\n");
        assert_eq!(refer_to(&tel).unwrap_err().status, 416);
        let no_tags = refer("Refer-To: <sip:1002@kefu?Replaces=abc%3Bto-tag%3D1>\r\n");
        assert_eq!(refer_to(&no_tags).unwrap_err().status, 400);
        let garbage = refer("Refer-To: <sip:1002@kefu?Replaces=%FF%3B%3B>\r\n");
        assert_eq!(refer_to(&garbage).unwrap_err().status, 400);
        let no_user = refer("Refer-To: <sip:kefu.example>\r\n");
        assert_eq!(refer_to(&no_user).unwrap_err().status, 400);
    }
}

//! Blind transfer asked by the callee's phone in a bridged call (RFC 3515):
//! where the REFER's `Refer-To` points, and the NOTIFYs (`message/sipfrag`,
//! RFC 3420) that tell the transferring phone how the new call goes. An
//! attended transfer (`Refer-To` with `Replaces`, RFC 3891) is refused for
//! now with 501; the bridged call carries out the rest
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

/// The number or extension the REFER's `Refer-To` names (the user part of
/// its SIP URI).
pub(super) fn refer_target(request: &Request) -> Result<String, Refused> {
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
    if uri.to_ascii_lowercase().contains("replaces=") {
        return Err(Refused {
            status: 501,
            reason: "Not Implemented",
        });
    }
    let (scheme, rest) = uri.split_once(':').ok_or(bad)?;
    if !(scheme.eq_ignore_ascii_case("sip") || scheme.eq_ignore_ascii_case("sips")) {
        return Err(Refused {
            status: 416,
            reason: "Unsupported URI Scheme",
        });
    }
    let user = rest.split_once('@').map_or("", |(user, _)| user);
    let user = user.split(';').next().unwrap_or_default();
    if user.is_empty() {
        return Err(bad);
    }
    Ok(user.to_owned())
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
        assert_eq!(refer_target(&request).as_deref(), Ok("1002"));
        let compact = refer("r: sip:4930123@trunk\r\n");
        assert_eq!(refer_target(&compact).as_deref(), Ok("4930123"));
    }

    #[test]
    fn missing_odd_and_attended_targets_are_refused() {
        assert_eq!(refer_target(&refer("")).unwrap_err().status, 400);
        let tel = refer("Refer-To: <tel:+4930123>\r\n");
        assert_eq!(refer_target(&tel).unwrap_err().status, 416);
        let attended =
            refer("Refer-To: <sip:1002@kefu?Replaces=abc%3Bto-tag%3D1%3Bfrom-tag%3D2>\r\n");
        assert_eq!(refer_target(&attended).unwrap_err().status, 501);
        let no_user = refer("Refer-To: <sip:kefu.example>\r\n");
        assert_eq!(refer_target(&no_user).unwrap_err().status, 400);
    }
}

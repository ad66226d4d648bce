use std::net::SocketAddr;

use super::*;
use crate::message::corpus::{self, request};
use crate::message::{encode_request, parse_message, response_to};
use crate::transaction::Transport;

fn peer() -> Peer {
    Peer {
        transport: Transport::Udp,
        addr: "192.0.2.10:5060".parse::<SocketAddr>().unwrap(),
    }
}

fn contact() -> Uri {
    Uri::try_from("sip:kefu@198.51.100.1:5060").unwrap()
}

fn text(request: &Request) -> String {
    String::from_utf8(encode_request(request).to_vec()).unwrap()
}

fn uas() -> Dialog {
    Dialog::uas(&request(corpus::INVITE), "ours", contact(), peer()).unwrap()
}

#[test]
fn a_uas_dialog_takes_its_id_and_parties_from_the_invite() {
    let dialog = uas();
    assert_eq!(
        dialog.id(),
        &DialogId {
            call_id: "a84b4c76e66710@192.0.2.10".to_owned(),
            local_tag: "ours".to_owned(),
            remote_tag: "1928301774".to_owned(),
        }
    );
    assert_eq!(
        dialog.remote_target().to_string(),
        "sip:alice@192.0.2.10:5060"
    );
    assert_eq!(dialog.peer(), peer());
}

#[test]
fn a_bye_from_the_uas_swaps_the_parties_and_follows_the_remote_target() {
    let mut dialog = uas();
    let bye = text(&dialog.request(Method::Bye, None));
    assert!(
        bye.starts_with("BYE sip:alice@192.0.2.10:5060 SIP/2.0\r\n"),
        "{bye}"
    );
    assert!(
        bye.contains("From: <sip:4000@kefu.example.com>;tag=ours\r\n"),
        "{bye}"
    );
    assert!(
        bye.contains("To: \"Alice\" <sip:alice@trunk.example.net>;tag=1928301774\r\n"),
        "{bye}"
    );
    assert!(bye.contains("CSeq: 1 BYE\r\n"), "{bye}");
    assert!(
        bye.contains("Via: SIP/2.0/UDP 198.51.100.1:5060;rport\r\n"),
        "{bye}"
    );
    assert!(
        bye.contains("Contact: <sip:kefu@198.51.100.1:5060>\r\n"),
        "{bye}"
    );
    assert!(parse_message(bye.as_bytes()).is_ok(), "{bye}");
}

#[test]
fn local_cseq_grows_by_one_per_request() {
    let mut dialog = uas();
    dialog.request(Method::Invite, Some(Body::sdp("v=0\r\n")));
    let bye = text(&dialog.request(Method::Bye, None));
    assert!(bye.contains("CSeq: 2 BYE\r\n"), "{bye}");
    assert_eq!(dialog.local_cseq(), 2);
}

#[test]
fn a_body_carries_its_type_and_length() {
    let mut dialog = uas();
    let invite = text(&dialog.request(Method::Invite, Some(Body::sdp("v=0\r\n"))));
    assert!(
        invite.contains("Content-Type: application/sdp\r\n"),
        "{invite}"
    );
    assert!(invite.contains("Content-Length: 5\r\n"), "{invite}");
    assert!(invite.ends_with("\r\n\r\nv=0\r\n"), "{invite}");
}

#[test]
fn record_routes_become_the_route_set_in_order_for_a_uas() {
    let invite = String::from_utf8(corpus::INVITE.to_vec()).unwrap().replace(
        "Max-Forwards: 70\r\n",
        "Max-Forwards: 70\r\nRecord-Route: <sip:p1.example.com;lr>, <sip:p2.example.com;lr>\r\nRecord-Route: <sip:p3.example.com;lr>\r\n",
    );
    let mut dialog = Dialog::uas(&request(invite.as_bytes()), "ours", contact(), peer()).unwrap();
    let bye = text(&dialog.request(Method::Bye, None));
    let routes: Vec<&str> = bye.lines().filter(|l| l.starts_with("Route:")).collect();
    assert_eq!(
        routes,
        [
            "Route: <sip:p1.example.com;lr>",
            "Route: <sip:p2.example.com;lr>",
            "Route: <sip:p3.example.com;lr>"
        ]
    );
}

#[test]
fn an_invite_without_contact_or_from_tag_cannot_make_a_dialog() {
    let without_contact = String::from_utf8(corpus::INVITE.to_vec())
        .unwrap()
        .replace("Contact: <sip:alice@192.0.2.10:5060>\r\n", "");
    assert_eq!(
        Dialog::uas(&request(without_contact.as_bytes()), "t", contact(), peer()).unwrap_err(),
        DialogError::Header("Contact")
    );
    let without_tag = String::from_utf8(corpus::INVITE.to_vec())
        .unwrap()
        .replace(";tag=1928301774", "");
    assert_eq!(
        Dialog::uas(&request(without_tag.as_bytes()), "t", contact(), peer()).unwrap_err(),
        DialogError::NoTag("From")
    );
}

fn in_dialog(method: &str, cseq: u32) -> Request {
    let text = format!(
        "{method} sip:kefu@198.51.100.1:5060 SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKin{cseq}\r\nMax-Forwards: 70\r\nFrom: \"Alice\" <sip:alice@trunk.example.net>;tag=1928301774\r\nTo: <sip:4000@kefu.example.com>;tag=ours\r\nCall-ID: a84b4c76e66710@192.0.2.10\r\nCSeq: {cseq} {method}\r\nContact: <sip:alice@192.0.2.99:5070>\r\nContent-Length: 0\r\n\r\n"
    );
    request(text.as_bytes())
}

#[test]
fn remote_cseq_must_grow_except_for_ack_and_cancel() {
    let mut dialog = uas();
    assert!(dialog.check_remote_cseq(&in_dialog("ACK", 314159)).is_ok());
    assert_eq!(
        dialog.check_remote_cseq(&in_dialog("INFO", 314159)),
        Err(DialogError::CSeqOutOfOrder {
            received: 314159,
            last: 314159
        })
    );
    assert!(dialog.check_remote_cseq(&in_dialog("INFO", 314160)).is_ok());
    assert!(dialog.check_remote_cseq(&in_dialog("BYE", 314100)).is_err());
}

#[test]
fn a_re_invite_refreshes_the_remote_target() {
    let mut dialog = uas();
    dialog
        .check_remote_cseq(&in_dialog("INVITE", 314160))
        .unwrap();
    assert_eq!(
        dialog.remote_target().to_string(),
        "sip:alice@192.0.2.99:5070"
    );
    dialog
        .check_remote_cseq(&in_dialog("INFO", 314161))
        .unwrap();
    assert_eq!(
        dialog.remote_target().to_string(),
        "sip:alice@192.0.2.99:5070"
    );
}

#[test]
fn a_uac_dialog_comes_from_our_invite_and_a_tagged_response() {
    let invite = request(corpus::INVITE);
    let mut ringing = response_to(&invite, 180, "Ringing");
    crate::message::add_to_tag(&mut ringing, "theirs");
    ringing
        .headers
        .push(Header::Contact(Contact::new("<sip:4000@192.0.2.77>")));
    ringing
        .headers
        .push(Header::RecordRoute(rsip::headers::RecordRoute::new(
            "<sip:p1.example.com;lr>, <sip:p2.example.com;lr>",
        )));
    let mut dialog = Dialog::uac(&invite, &ringing, contact(), peer()).unwrap();
    assert_eq!(dialog.id().local_tag, "1928301774");
    assert_eq!(dialog.id().remote_tag, "theirs");
    let bye = text(&dialog.request(Method::Bye, None));
    assert!(
        bye.starts_with("BYE sip:4000@192.0.2.77 SIP/2.0\r\n"),
        "{bye}"
    );
    assert!(bye.contains("CSeq: 314160 BYE\r\n"), "{bye}");
    let routes: Vec<&str> = bye.lines().filter(|l| l.starts_with("Route:")).collect();
    assert_eq!(
        routes,
        [
            "Route: <sip:p2.example.com;lr>",
            "Route: <sip:p1.example.com;lr>"
        ]
    );
}

#[test]
fn the_ack_for_a_2xx_repeats_the_invite_cseq_with_its_own_branch() {
    let invite = request(corpus::INVITE);
    let mut ok = response_to(&invite, 200, "OK");
    crate::message::add_to_tag(&mut ok, "theirs");
    let dialog = Dialog::uac(&invite, &ok, contact(), peer()).unwrap();
    let ack = text(&dialog.ack(314159, None, "ack1"));
    assert!(
        ack.starts_with("ACK sip:4000@kefu.example.com SIP/2.0\r\n"),
        "{ack}"
    );
    assert!(ack.contains("CSeq: 314159 ACK\r\n"), "{ack}");
    assert!(ack.contains(";rport;branch=z9hG4bKack1\r\n"), "{ack}");
}

#[test]
fn tags_are_read_after_the_uri_only() {
    assert_eq!(tag_of("<sip:a@b;tag=no>;tag=yes").as_deref(), Some("yes"));
    assert_eq!(tag_of("sip:a@b;tag=x").as_deref(), Some("x"));
    assert_eq!(tag_of("<sip:a@b;tag=no>"), None);
    assert_eq!(tag_of("<sip:a@b>;tag="), None);
}

//! The marks a server transport puts on a received request's top Via (RFC 3261
//! §18.2.1, RFC 3581 §4): `received` with the source IP address when it differs
//! from the sent-by host, or always when the client asked for `rport`; and
//! `rport` filled in with the source port. Responses copy the Via, so they say
//! where the request really came from, and a response sent by another node can
//! still reach a client behind NAT.
//!
//! It works on the header text, so that the rest of the Via stays as received;
//! only the first entry of a comma-joined Via line is touched.

use std::net::{IpAddr, SocketAddr};

use rsip::headers::{UntypedHeader, Via};
use rsip::{Header, Headers};

/// Stamps `received` and `rport` on the top Via of a request that came from
/// `source`. A request without Via is left alone.
pub fn stamp_received(headers: &mut Headers, source: SocketAddr) {
    let Some(via) = headers.iter_mut().find_map(|header| match header {
        Header::Via(via) => Some(via),
        _ => None,
    }) else {
        return;
    };
    let value = via.value().to_owned();
    let (top, others) = match value.split_once(',') {
        Some((top, others)) => (top, Some(others)),
        None => (value.as_str(), None),
    };
    let mut parts = top.split(';');
    let sent = parts.next().unwrap_or_default().trim();
    let params: Vec<&str> = parts
        .map(str::trim)
        .filter(|param| !param.is_empty())
        .collect();
    let wants_rport = params.iter().any(|param| param_name(param) == "rport");
    let mut stamped = sent.to_owned();
    for param in params {
        match param_name(param).as_str() {
            "received" => {}
            "rport" => stamped.push_str(&format!(";rport={}", source.port())),
            _ => {
                stamped.push(';');
                stamped.push_str(param);
            }
        }
    }
    if wants_rport || sent_by_ip(sent) != Some(source.ip()) {
        stamped.push_str(&format!(";received={}", source.ip()));
    }
    if let Some(others) = others {
        stamped.push(',');
        stamped.push_str(others);
    }
    *via = Via::new(stamped);
}

/// A Via parameter's name, lower-cased.
fn param_name(param: &str) -> String {
    param
        .split('=')
        .next()
        .unwrap_or(param)
        .trim()
        .to_ascii_lowercase()
}

/// The IP address of the sent-by in `SIP/2.0/UDP host[:port]`, if it is one.
fn sent_by_ip(sent: &str) -> Option<IpAddr> {
    let sent_by = sent.split_whitespace().last()?;
    if let Ok(addr) = sent_by.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    let host = sent_by
        .trim_start_matches('[')
        .trim_end_matches(']')
        .rsplit_once(':')
        .filter(|(host, _)| !host.contains(':'))
        .map_or(sent_by, |(host, _)| host);
    host.trim_start_matches('[')
        .trim_end_matches(']')
        .parse()
        .ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamped(via: &str, source: &str) -> String {
        let mut headers = Headers::default();
        headers.push(Header::Via(Via::new(via)));
        stamp_received(&mut headers, source.parse().unwrap());
        match headers.iter().next() {
            Some(Header::Via(via)) => via.value().to_owned(),
            other => panic!("expected a Via, got {other:?}"),
        }
    }

    #[test]
    fn a_sent_by_matching_the_source_is_left_as_it_is() {
        assert_eq!(
            stamped(
                "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1",
                "192.0.2.1:5060"
            ),
            "SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bK1"
        );
    }

    #[test]
    fn a_sent_by_differing_from_the_source_gets_received() {
        assert_eq!(
            stamped(
                "SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1",
                "192.0.2.1:5060"
            ),
            "SIP/2.0/UDP pc33.example.com;branch=z9hG4bK1;received=192.0.2.1"
        );
        assert_eq!(
            stamped(
                "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1",
                "192.0.2.1:5060"
            ),
            "SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bK1;received=192.0.2.1"
        );
    }

    #[test]
    fn rport_is_filled_with_the_source_port_and_received_always_added() {
        assert_eq!(
            stamped(
                "SIP/2.0/UDP 192.0.2.1:5060;rport;branch=z9hG4bK1",
                "192.0.2.1:40123"
            ),
            "SIP/2.0/UDP 192.0.2.1:5060;rport=40123;branch=z9hG4bK1;received=192.0.2.1"
        );
    }

    #[test]
    fn a_forged_received_is_replaced() {
        assert_eq!(
            stamped(
                "SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1;received=203.0.113.9",
                "192.0.2.1:5060"
            ),
            "SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1;received=192.0.2.1"
        );
    }

    #[test]
    fn only_the_top_entry_of_a_joined_via_line_is_stamped() {
        assert_eq!(
            stamped(
                "SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1, SIP/2.0/UDP 10.0.0.6;branch=z9hG4bK2",
                "192.0.2.1:5060"
            ),
            "SIP/2.0/UDP 10.0.0.5;branch=z9hG4bK1;received=192.0.2.1, SIP/2.0/UDP 10.0.0.6;branch=z9hG4bK2"
        );
    }

    #[test]
    fn an_ipv6_sent_by_equal_to_the_source_is_recognised() {
        assert_eq!(
            stamped(
                "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1",
                "[2001:db8::1]:5060"
            ),
            "SIP/2.0/UDP [2001:db8::1]:5060;branch=z9hG4bK1"
        );
    }
}

//! Where an inbound INVITE goes: the tenant of the trunk trusted for its
//! source address, and the number route of the dialled number (the DID: the
//! Request-URI's user part, else the To's), or else the tenant's user with
//! that name (an agent's extension, as on a PBX). Untrusted sources are refused
//! (403) so kefu is never an open relay for toll fraud; unknown numbers get
//! 404. Calls from registered agents (digest-authenticated INVITEs) come with
//! the agent-call work.

use std::net::IpAddr;

use rsip::Request;
use rsip::headers::UntypedHeader;
use rsip::message::HeadersExt;

use crate::store::{RouteTarget, Store, StoreError};

/// A call kefu takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Routed {
    pub tenant_id: String,
    pub did: String,
    pub target: RouteTarget,
}

/// A call kefu refuses, with the status and reason to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refused {
    pub status: u16,
    pub reason: &'static str,
    /// Whether it is worth a CDR: a trusted trunk dialled a wrong number.
    pub tenant_id: Option<String>,
    pub did: Option<String>,
}

/// Routes `invite`, received from `source`.
pub(super) async fn route(
    store: &Store,
    invite: &Request,
    source: IpAddr,
) -> Result<Result<Routed, Refused>, StoreError> {
    let Some(trunk) = store.trunk_trusting(source).await? else {
        return Ok(Err(Refused {
            status: 403,
            reason: "Forbidden",
            tenant_id: None,
            did: None,
        }));
    };
    let Some(did) = dialled_number(invite) else {
        return Ok(Err(Refused {
            status: 404,
            reason: "Not Found",
            tenant_id: Some(trunk.tenant_id),
            did: None,
        }));
    };
    if let Some(route) = store.number_route(&trunk.tenant_id, &did).await? {
        return Ok(Ok(Routed {
            tenant_id: trunk.tenant_id,
            did,
            target: route.route,
        }));
    }
    let user = store.user_by_username(&trunk.tenant_id, &did).await?;
    Ok(match user.filter(|user| user.disabled_at.is_none()) {
        Some(user) => Ok(Routed {
            tenant_id: trunk.tenant_id,
            did,
            target: RouteTarget::Agent(user.username),
        }),
        None => Err(Refused {
            status: 404,
            reason: "Not Found",
            tenant_id: Some(trunk.tenant_id),
            did: Some(did),
        }),
    })
}

/// The DID: the Request-URI's user, else the To URI's user; a leading `+` and
/// visual separators are dropped (`+49 30-1234` → `49301234`).
pub(super) fn dialled_number(invite: &Request) -> Option<String> {
    let from_to = || user_of(invite.to_header().ok()?.value());
    let user = invite.uri.user().map(str::to_owned).or_else(from_to)?;
    let digits: String = user
        .chars()
        .filter(|c| !matches!(c, '+' | '-' | '.' | ' ' | '(' | ')'))
        .collect();
    (!digits.is_empty()).then_some(digits)
}

/// The user part of a name-addr or addr-spec (`"X" <sip:user@host>;tag=1`),
/// read as text: `rsip` refuses some users that phones send (`+49-30.1234`).
fn user_of(party: &str) -> Option<String> {
    let uri = match party.split_once('<') {
        Some((_, rest)) => rest.split_once('>').map_or(rest, |(uri, _)| uri),
        None => party.split(';').next().unwrap_or(party),
    };
    let (_, rest) = uri.trim().split_once(':')?;
    let (user, _) = rest.split_once('@')?;
    let user = user.split(';').next().unwrap_or(user);
    (!user.is_empty()).then(|| user.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(uri: &str, to: &str) -> Request {
        let text = format!(
            "INVITE {uri} SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nTo: <{to}>\r\nFrom: <sip:a@b>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContact: <sip:a@192.0.2.1>\r\nContent-Length: 0\r\n\r\n"
        );
        Request::try_from(text.as_bytes()).unwrap()
    }

    #[test]
    fn the_did_is_the_request_uri_user() {
        let request = invite("sip:4001@kefu", "sip:9999@kefu");
        assert_eq!(dialled_number(&request).as_deref(), Some("4001"));
    }

    #[test]
    fn the_did_falls_back_to_the_to_user_and_loses_separators() {
        let request = invite("sip:kefu.example.com", "sip:+49-30.1234@kefu");
        assert_eq!(dialled_number(&request).as_deref(), Some("49301234"));
    }

    #[test]
    fn no_user_anywhere_means_no_did() {
        let request = invite("sip:kefu.example.com", "sip:kefu.example.com");
        assert_eq!(dialled_number(&request), None);
    }
}

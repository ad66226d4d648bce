//! Where an inbound INVITE goes: the tenant of the trunk trusted for its
//! source address, and the number route of the dialled number (the DID: the
//! Request-URI's user part, else the To's), or else the tenant's user with
//! that name (an agent's extension, as on a PBX). Calls come from a trunk's
//! trusted networks or from a user of the realm whose INVITE carried good
//! digest credentials (a phone dialling out); everyone else is challenged,
//! so kefu is never an open relay for toll fraud. Unknown numbers get 404.

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
    /// `inbound` from a trunk, `internal` from a user's phone.
    pub direction: &'static str,
}

/// A call kefu refuses, with the status and reason to answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Refused {
    pub status: u16,
    pub reason: &'static str,
    /// Whether it is worth a CDR: a trusted trunk dialled a wrong number.
    pub tenant_id: Option<String>,
    pub did: Option<String>,
    /// Ask for credentials (401) instead: the source is not trusted and the
    /// INVITE carried none.
    pub challenge: bool,
}

impl Refused {
    fn new(status: u16, reason: &'static str) -> Self {
        Self {
            status,
            reason,
            tenant_id: None,
            did: None,
            challenge: false,
        }
    }
}

/// Who sent an INVITE, as far as routing cares.
pub(super) struct Sender<'a> {
    /// Where it came from.
    pub source: IpAddr,
    /// The user whose digest credentials it carried, verified by the core.
    pub user: Option<&'a str>,
    /// The realm those users belong to (`sip.realm`).
    pub realm: &'a str,
}

/// Routes `invite` from `sender`: a trusted trunk's calls belong to its
/// tenant, an authenticated user's to the tenant of the realm; anyone else
/// is asked for credentials.
pub(super) async fn route(
    store: &Store,
    invite: &Request,
    sender: &Sender<'_>,
) -> Result<Result<Routed, Refused>, StoreError> {
    let (tenant_id, direction) = match store.trunk_trusting(sender.source).await? {
        Some(trunk) => (trunk.tenant_id, "inbound"),
        None if sender.user.is_some() => match store.tenant_by_realm(sender.realm).await? {
            Some(tenant) => (tenant.id, "internal"),
            None => return Ok(Err(Refused::new(403, "Forbidden"))),
        },
        None => {
            return Ok(Err(Refused {
                challenge: true,
                ..Refused::new(401, "Unauthorized")
            }));
        }
    };
    let not_found = |did: Option<String>| Refused {
        tenant_id: Some(tenant_id.clone()),
        did,
        ..Refused::new(404, "Not Found")
    };
    let Some(did) = dialled_number(invite) else {
        return Ok(Err(not_found(None)));
    };
    if let Some(route) = store.number_route(&tenant_id, &did).await? {
        return Ok(Ok(Routed {
            tenant_id,
            did,
            target: route.route,
            direction,
        }));
    }
    let user = store.user_by_username(&tenant_id, &did).await?;
    Ok(match user.filter(|user| user.disabled_at.is_none()) {
        Some(user) => Ok(Routed {
            tenant_id,
            did,
            target: RouteTarget::Agent(user.username),
            direction,
        }),
        None => Err(not_found(Some(did))),
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

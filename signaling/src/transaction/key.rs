//! Which transaction a message belongs to (RFC 3261 §17.1.3 and §17.2.3).
//!
//! A response matches a client transaction by the branch of its top Via and its
//! CSeq method. A request matches a server transaction by the branch and sent-by
//! of its top Via and its method, an ACK counting as INVITE; a CANCEL therefore
//! shares the branch of the INVITE it cancels but is a transaction of its own.
//! Requests from RFC 2543 peers (no `z9hG4bK` cookie) are keyed by Call-ID, From
//! tag, CSeq number and top Via instead.

use rsip::headers::{ToTypedHeader, UntypedHeader};
use rsip::message::HasHeaders;
use rsip::{Header, Method, Request, typed};

/// The RFC 3261 branch prefix that marks a branch as globally unique.
pub const MAGIC_COOKIE: &str = "z9hG4bK";

/// Why a message cannot be tied to a transaction.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// No Via header.
    #[error("no Via header")]
    MissingVia,
    /// The top Via does not parse.
    #[error("malformed top Via: {0}")]
    MalformedVia(String),
    /// The top Via has no branch parameter, and the message is a response.
    #[error("top Via has no branch")]
    MissingBranch,
    /// No CSeq header, or one that does not parse.
    #[error("missing or malformed CSeq")]
    MalformedCSeq,
}

/// Identifies a client transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) struct ClientKey {
    branch: String,
    method: String,
}

/// Identifies a server transaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum ServerKey {
    /// RFC 3261 peers: branch, sent-by, method (ACK as INVITE).
    Branch {
        branch: String,
        sent_by: String,
        method: String,
    },
    /// RFC 2543 peers.
    Legacy {
        call_id: String,
        from_tag: String,
        cseq: u32,
        top_via: String,
        method: String,
    },
}

impl ClientKey {
    /// The key of the request we send (the branch is already in its top Via).
    pub(super) fn of(message: &impl HasHeaders) -> Result<Self, KeyError> {
        let via = top_via(message)?;
        let branch = via.branch().ok_or(KeyError::MissingBranch)?;
        Ok(Self {
            branch: branch.to_string(),
            method: cseq(message)?.1.to_string(),
        })
    }
}

impl ServerKey {
    /// The key of a received request, or of a response the TU sends in one.
    pub(super) fn of(message: &impl HasHeaders) -> Result<Self, KeyError> {
        let via = top_via(message)?;
        let (seq, method) = cseq(message)?;
        let method = match method {
            Method::Ack => Method::Invite,
            other => other,
        }
        .to_string();
        match via.branch().map(ToString::to_string) {
            Some(branch) if branch.starts_with(MAGIC_COOKIE) => Ok(Self::Branch {
                branch,
                sent_by: via.uri.host_with_port.to_string().to_ascii_lowercase(),
                method,
            }),
            _ => Ok(Self::Legacy {
                call_id: call_id(message),
                from_tag: from_tag(message),
                cseq: seq,
                top_via: via.to_string(),
                method,
            }),
        }
    }

    /// The key of the INVITE server transaction a CANCEL with this key targets.
    pub(super) fn cancelled_invite(&self) -> Self {
        let mut invite = self.clone();
        match &mut invite {
            Self::Branch { method, .. } | Self::Legacy { method, .. } => {
                *method = Method::Invite.to_string();
            }
        }
        invite
    }
}

/// The top Via, parsed; only the first entry of a comma-joined Via line.
pub(super) fn top_via(message: &impl HasHeaders) -> Result<typed::Via, KeyError> {
    let via = message
        .headers()
        .iter()
        .find_map(|header| match header {
            Header::Via(via) => Some(via),
            _ => None,
        })
        .ok_or(KeyError::MissingVia)?;
    let first = first_via_entry(via.value()).to_owned();
    rsip::headers::Via::from(first)
        .typed()
        .map_err(|error| KeyError::MalformedVia(error.to_string()))
}

/// The first entry of a Via value `a, b`.
fn first_via_entry(value: &str) -> &str {
    value.split(',').next().unwrap_or(value).trim()
}

fn cseq(message: &impl HasHeaders) -> Result<(u32, Method), KeyError> {
    message
        .headers()
        .iter()
        .find_map(|header| match header {
            Header::CSeq(cseq) => Some(cseq.typed().ok().map(|typed| (typed.seq, typed.method))),
            _ => None,
        })
        .flatten()
        .ok_or(KeyError::MalformedCSeq)
}

fn call_id(message: &impl HasHeaders) -> String {
    message
        .headers()
        .iter()
        .find_map(|header| match header {
            Header::CallId(call_id) => Some(call_id.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

fn from_tag(message: &impl HasHeaders) -> String {
    message
        .headers()
        .iter()
        .find_map(|header| match header {
            Header::From(from) => from.tag().ok().flatten().map(|tag| tag.to_string()),
            _ => None,
        })
        .unwrap_or_default()
}

/// Puts `branch` into the top Via of `request`, replacing any branch there.
pub(super) fn set_branch(request: &mut Request, branch: &str) -> Result<(), KeyError> {
    let mut via = top_via(request)?;
    via.params
        .retain(|param| !matches!(param, rsip::Param::Branch(_)));
    via.params
        .push(rsip::Param::Branch(rsip::param::Branch::new(branch)));
    let slot = request
        .headers
        .iter_mut()
        .find(|header| matches!(header, Header::Via(_)))
        .ok_or(KeyError::MissingVia)?;
    *slot = Header::Via(via.into());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::corpus;

    use crate::message::corpus::request;

    #[test]
    fn an_ack_for_a_non_2xx_matches_its_invite() {
        let invite = ServerKey::of(&request(corpus::INVITE)).unwrap();
        let ack = ServerKey::of(&request(corpus::ACK)).unwrap();
        assert_eq!(invite, ack);
    }

    #[test]
    fn a_cancel_shares_the_branch_but_is_another_transaction() {
        let invite = request(corpus::INVITE);
        let cancel = crate::message::cancel_for(&invite);
        let invite_key = ServerKey::of(&invite).unwrap();
        let cancel_key = ServerKey::of(&cancel).unwrap();
        assert_ne!(invite_key, cancel_key);
        assert_eq!(cancel_key.cancelled_invite(), invite_key);
    }

    #[test]
    fn the_same_branch_from_another_sent_by_is_another_transaction() {
        let text = String::from_utf8(corpus::INVITE.to_vec()).unwrap();
        let other = text.replace("SIP/2.0/UDP 192.0.2.10:5060", "SIP/2.0/UDP 192.0.2.99:5060");
        assert_ne!(
            ServerKey::of(&request(corpus::INVITE)).unwrap(),
            ServerKey::of(&request(other.as_bytes())).unwrap()
        );
    }

    #[test]
    fn an_rfc_2543_request_gets_a_legacy_key() {
        let key = ServerKey::of(&request(corpus::RFC4475_INV2543)).unwrap();
        assert!(matches!(key, ServerKey::Legacy { cseq: 56, .. }));
    }

    #[test]
    fn only_the_first_entry_of_a_joined_via_line_counts() {
        let text = String::from_utf8(corpus::BYE.to_vec()).unwrap();
        let joined = text.replace(
            "branch=z9hG4bKnashds10",
            "branch=z9hG4bKnashds10, SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKother",
        );
        let via = top_via(&request(joined.as_bytes())).unwrap();
        assert_eq!(via.branch().unwrap().to_string(), "z9hG4bKnashds10");
    }

    #[test]
    fn set_branch_replaces_the_top_via_branch() {
        let mut invite = request(corpus::INVITE);
        set_branch(&mut invite, "z9hG4bKnew").unwrap();
        assert_eq!(
            top_via(&invite).unwrap().branch().unwrap().to_string(),
            "z9hG4bKnew"
        );
        let key = ClientKey::of(&invite).unwrap();
        assert_eq!(key.branch, "z9hG4bKnew");
        assert_eq!(key.method, "INVITE");
    }

    #[test]
    fn a_request_without_via_has_no_key() {
        let mut bye = request(corpus::BYE);
        bye.headers.retain(|h| !matches!(h, Header::Via(_)));
        assert_eq!(ServerKey::of(&bye), Err(KeyError::MissingVia));
    }
}

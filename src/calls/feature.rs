//! Agents' feature codes, dialled from their own phone: `*50` logs the
//! agent in when needed and makes them ready, `*51` makes them not ready
//! (reason `phone`) — the same change as `PUT /api/v1/agents/{ext}/state`.
//! Feature codes need the phone's SIP credentials (call control challenges
//! a call without them, even from a trusted trunk's network): the user is
//! the agent.
//! kefu answers, says the new state, and hangs up; the call has a record
//! like any other.

use kefu_signaling::message::response_to;
use kefu_signaling::uas::CallEvent;
use tokio::sync::{mpsc, watch};

use super::CallContext;
use super::call::{Start, open_record};
use super::ivr::{Source, say_then_hang_up};
use super::route::dialled_number;
use super::session::Session;
use crate::routing::{AgentStatus, Presence, RoutingError};

/// A feature code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum FeatureCode {
    /// `*50`.
    Ready,
    /// `*51`.
    NotReady,
}

impl FeatureCode {
    /// The feature code the INVITE dials, if any.
    pub fn dialled(invite: &rsip::Request) -> Option<Self> {
        match dialled_number(invite)?.as_str() {
            "*50" => Some(Self::Ready),
            "*51" => Some(Self::NotReady),
            _ => None,
        }
    }

    fn number(self) -> &'static str {
        match self {
            Self::Ready => "*50",
            Self::NotReady => "*51",
        }
    }
}

/// Carries out `code` for the calling agent. See the [module docs](self).
pub(super) async fn run(
    context: &CallContext,
    start: &Start,
    code: FeatureCode,
    events: mpsc::UnboundedReceiver<CallEvent>,
    stopping: watch::Receiver<bool>,
) {
    let Some(extension) = start.user.as_deref() else {
        return;
    };
    let tenant = match context.store.tenant_by_realm(&context.sip_realm).await {
        Ok(Some(tenant)) => tenant,
        Ok(None) | Err(_) => {
            let refused = response_to(&start.invite, 403, "Forbidden");
            let _ = context.sip.respond(start.tx, refused).await;
            return;
        }
    };
    let cdr = open_record(
        context,
        start,
        "internal",
        Some(&tenant.id),
        Some(code.number()),
    )
    .await;
    let ended = match Session::answer(context, start, &cdr, events, stopping).await {
        Ok(session) => {
            let said = match apply(context, &tenant.id, extension, code).await {
                Ok(status) => {
                    tracing::info!(%extension, state = %status.state, "agent state set from the phone");
                    confirmation(extension, &status)
                }
                Err(error) => {
                    tracing::info!(%extension, %error, "feature code refused");
                    "Sorry, your state could not be changed.".to_owned()
                }
            };
            let speech = Source::Speech {
                voice: "en".to_owned(),
                text: said,
            };
            say_then_hang_up(context, &cdr, session, speech, "feature_code").await
        }
        Err(ended) => ended,
    };
    cdr.end(&ended.reason()).await;
}

async fn apply(
    context: &CallContext,
    tenant_id: &str,
    extension: &str,
    code: FeatureCode,
) -> Result<AgentStatus, RoutingError> {
    context.acd.login(tenant_id, extension).await?;
    let presence = match code {
        FeatureCode::Ready => Presence::Ready,
        FeatureCode::NotReady => Presence::NotReady {
            reason: "phone".to_owned(),
        },
    };
    context.acd.set_state(tenant_id, extension, presence).await
}

/// What the agent hears: the state they are in now.
fn confirmation(extension: &str, status: &AgentStatus) -> String {
    let spaced: String = extension
        .chars()
        .flat_map(|c| [c, ' '])
        .collect::<String>()
        .trim_end()
        .to_owned();
    let state = match status.state.as_str() {
        "ready" | "busy" => "ready",
        "wrap_up" => "wrapping up",
        "logged_out" => "logged out",
        _ => "not ready",
    };
    format!("Agent {spaced} is {state}.")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn invite(number: &str) -> rsip::Request {
        let text = format!(
            "INVITE sip:{number}@kefu SIP/2.0\r\nVia: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1\r\nTo: <sip:{number}@kefu>\r\nFrom: <sip:1001@kefu>;tag=1\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContact: <sip:1001@192.0.2.1>\r\nContent-Length: 0\r\n\r\n"
        );
        rsip::Request::try_from(text.as_bytes()).unwrap()
    }

    #[test]
    fn star_50_and_51_are_feature_codes_and_other_numbers_are_not() {
        assert_eq!(
            FeatureCode::dialled(&invite("*50")),
            Some(FeatureCode::Ready)
        );
        assert_eq!(
            FeatureCode::dialled(&invite("*51")),
            Some(FeatureCode::NotReady)
        );
        assert_eq!(FeatureCode::dialled(&invite("4000")), None);
        assert_eq!(FeatureCode::dialled(&invite("*5")), None);
    }
}

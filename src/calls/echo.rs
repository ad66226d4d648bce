//! The echo test (DID `4001` in the demo): kefu answers and the media
//! endpoint sends each RTP packet back to the caller, so a phone user hears
//! themself with the network's round trip — a quick check of audio paths
//! and NAT, as Asterisk's `Echo()` or FreeSWITCH's `echo` application.

use kefu_signaling::uas::CallEvent;
use tokio::sync::{mpsc, watch};

use super::CallContext;
use super::call::Start;
use super::cdr::Cdr;
use super::session::{Ended, Happening, Session};

/// Answers and echoes until the call ends.
pub(super) async fn run(
    context: &CallContext,
    start: &Start,
    cdr: &Cdr,
    events: mpsc::UnboundedReceiver<CallEvent>,
    stopping: watch::Receiver<bool>,
) -> Ended {
    let mut session = match Session::answer(context, start, cdr, events, stopping).await {
        Ok(session) => session,
        Err(ended) => return ended,
    };
    let mut echoing = false;
    let ended = loop {
        if !echoing {
            if let Some(endpoint) = session.endpoint() {
                echoing = endpoint.set_echo(true).await.is_ok();
            }
        }
        match session.next().await {
            Happening::Media(_) | Happening::MediaStarted | Happening::Other(_) => {}
            Happening::Ended(ended) => break ended,
        }
    };
    session.finish(cdr).await;
    ended
}

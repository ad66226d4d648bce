//! Any bytes → the visitor frame parser and the agent chat command parser:
//! each either parses or returns an error naming the field, never panics; a
//! parsed message's text and client id respect the protocol's limits.

#![no_main]

use kefu_chat::{AgentCommand, Frame, MAX_TEXT_CHARS, parse_agent_command, parse_visitor_frame};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match parse_visitor_frame(data) {
        Ok(Frame::Message { id, text, .. }) => {
            assert!(!id.as_str().is_empty() && id.as_str().len() <= 64);
            assert!(text.as_str().chars().count() <= MAX_TEXT_CHARS);
        }
        Ok(_) => {}
        Err(error) => assert!(!error.detail.is_empty()),
    }
    if let Ok(Some(AgentCommand::Send { text, .. } | AgentCommand::Note { text, .. })) =
        parse_agent_command(data)
    {
        assert!(text.as_str().chars().count() <= MAX_TEXT_CHARS);
    }
});

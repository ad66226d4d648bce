//! `kefu-chat`: the web chat protocol, version 1 (`docs/chat-protocol.md`),
//! without I/O. It owns the frames a visitor's widget and an agent exchange
//! with kefu — parsing untrusted JSON into typed frames whose every value is
//! already checked (client ids, text length, sequence numbers), with an error
//! that names the field — and the token-bucket [`limit::RateLimit`] that
//! paces senders, driven by a time the caller passes in.
//!
//! It deliberately knows nothing of sockets, storage or routing: kefu's
//! `chat` module persists, sequences and routes what these frames carry.

pub mod limit;
pub mod protocol;

pub use protocol::{
    AgentCommand, ClientId, ErrorCode, Frame, MAX_FRAME_BYTES, MAX_TEXT_CHARS, ParseError, PreChat,
    Short, Text, UploadId, VERSION, parse_agent_command, parse_visitor_frame,
};

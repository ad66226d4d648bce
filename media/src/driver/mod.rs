//! The thin tokio driver of the media engine, and the only place in
//! `kefu-media` that uses tokio: it allocates RTP/RTCP port pairs from the
//! configured range ([`ports`]) and runs one task per call leg that moves
//! datagrams between sockets and a sans-IO core — a relayed call's two legs
//! and their [`crate::relay::Relay`] ([`relay_task`]), a leg that ends in
//! kefu and its [`crate::endpoint::Endpoint`] ([`endpoint_task`]: echo test,
//! IVR prompts and key presses), or the legs of a supervised call and their
//! [`crate::conference::Conference`] ([`conference_task`]: monitor, whisper,
//! barge), or a browser's WebRTC session and its
//! [`crate::webrtc::gateway::Gateway`] ([`webrtc_task`]: ICE, DTLS-SRTP on
//! one port pair, plain RTP to the engine on another). All protocol
//! decisions are the cores';
//! the tasks share their socket handling and command plumbing.

use std::time::Duration;

pub mod conference_task;
pub mod endpoint_task;
mod leg_sockets;
pub mod ports;
pub mod relay_task;
pub mod webrtc_task;

/// How often the statistics a task's handle reads are refreshed.
pub const STATS_INTERVAL: Duration = Duration::from_secs(1);

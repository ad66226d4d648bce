//! The thin tokio driver of the media engine, and the only place in
//! `kefu-media` that uses tokio: it allocates RTP/RTCP port pairs from the
//! configured range ([`ports`]) and runs one task per relayed call that moves
//! datagrams between sockets and the sans-IO [`crate::relay::Relay`]
//! ([`relay_task`]). All protocol decisions are the relay's.

use std::time::Duration;

mod leg_sockets;
pub mod ports;
pub mod relay_task;

/// How often the statistics a task's handle reads are refreshed.
pub const STATS_INTERVAL: Duration = Duration::from_secs(1);

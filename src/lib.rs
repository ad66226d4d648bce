//! The `kefu` server: configuration, storage, HTTP API, and (as they arrive)
//! call control joining `kefu-signaling`, `kefu-media` and `kefu-acd`, the
//! channel adapters, tickets, knowledge base and reports.
//!
//! `main.rs` is the command line; everything it runs lives here so that
//! integration tests can reach the same code.

pub mod admin_token;
pub mod calendar;
pub mod calls;
pub mod chat;
pub mod cli;
pub mod config;
pub mod demo;
pub mod flows;
pub mod http;
pub mod ivr;
pub mod listen;
pub mod registration;
pub mod reports;
pub mod retention;
pub mod routing;
pub mod serve;
pub mod store;
pub mod suggest;
pub mod telemetry;
pub mod wallboard;

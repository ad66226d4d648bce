//! Shared harness for the integration tests: start the real `kefu` binary on
//! ephemeral ports and a throwaway PostgreSQL, read SIP responses, run sipp and baresip.

#![allow(dead_code)]

pub mod baresip;
pub mod browser;
pub mod crm;
pub mod demo;
pub mod kefu;
pub mod phone;
pub mod postgres;
pub mod rtp;
pub mod sip;
pub mod sipp;
pub mod store;
pub mod uac;

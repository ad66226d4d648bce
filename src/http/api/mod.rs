//! The JSON API under `/api/v1/`, one file per resource.

pub mod calls;
pub mod me;
pub mod tenants;

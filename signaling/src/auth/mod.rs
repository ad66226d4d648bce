//! Authentication of SIP requests and the defences around it.
//!
//! [`digest`] does HTTP Digest as SIP uses it: challenges with stateless,
//! server-bound nonces and verification against stored HA1 hashes (never
//! passwords). [`parse_authorization`] reads untrusted `Authorization` values.
//! [`guard`] keeps brute-force and flooding sources out: a per-address failure
//! counter that bans, and a per-address request rate limit. Everything is sans-IO:
//! time and randomness are parameters, and the caller owns the sockets.

mod bounded;
mod credentials;
pub mod digest;
pub mod guard;
mod nonce;
mod rate;

pub use credentials::{CredentialsError, DigestCredentials, QopAuth, parse_authorization};
pub use digest::{Algorithm, DigestAuth, DigestConfig, Ha1Pair, Rejection, Verdict};
pub use guard::{Admission, Guard, GuardConfig};
pub use nonce::ServerSecret;
pub use rate::RateLimit;

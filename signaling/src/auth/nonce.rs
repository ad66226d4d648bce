//! Stateless server nonces (RFC 7616 §3.3 leaves their form to the server).
//!
//! A nonce is `base64(timestamp || salt || HMAC-SHA256(secret, timestamp || salt ||
//! realm))`: the issue time in seconds since the Unix epoch (8 bytes, big-endian),
//! 8 random bytes, and a MAC that binds both to this server's secret and to the
//! realm. Checking one needs no stored state, so it survives restarts and works on
//! every node that shares the secret. The salt makes every challenge's nonce
//! unique, which lets the replay check track nonce counts per nonce even when
//! many challenges go out in the same second.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

const TIMESTAMP_LEN: usize = 8;
const SALT_LEN: usize = 8;
const MAC_LEN: usize = 32;
const NONCE_LEN: usize = TIMESTAMP_LEN + SALT_LEN + MAC_LEN;

/// The server's secret key for nonces and opaque values. Injected by the binary
/// (generated once and kept in storage, shared by all nodes); never logged.
#[derive(Clone)]
pub struct ServerSecret([u8; 32]);

impl ServerSecret {
    /// Wraps 32 secret bytes.
    pub fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// HMAC-SHA256 of the concatenated `parts` under this secret.
    pub(crate) fn mac(&self, parts: &[&[u8]]) -> [u8; MAC_LEN] {
        self.hmac(parts).finalize().into_bytes().into()
    }

    fn hmac(&self, parts: &[&[u8]]) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail for 32 bytes.
        let mut mac = <HmacSha256 as Mac>::new_from_slice(&self.0)
            .unwrap_or_else(|_| unreachable!("HMAC takes a key of any length"));
        for part in parts {
            mac.update(part);
        }
        mac
    }
}

impl fmt::Debug for ServerSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ServerSecret(..)")
    }
}

/// What a nonce presented by a client turned out to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum NonceAge {
    /// Issued by us for this realm, within its lifetime.
    Fresh,
    /// Issued by us for this realm, but older than its lifetime.
    Expired,
    /// Not issued by us, or for another realm, or not a nonce at all.
    Forged,
}

/// A new nonce for `realm`, issued at `now`, with `salt` from the caller's RNG.
pub(crate) fn issue(secret: &ServerSecret, realm: &str, now: SystemTime, salt: [u8; 8]) -> String {
    let timestamp = unix_seconds(now).to_be_bytes();
    let mac = secret.mac(&[&timestamp, &salt, realm.as_bytes()]);
    let mut raw = Vec::with_capacity(NONCE_LEN);
    raw.extend_from_slice(&timestamp);
    raw.extend_from_slice(&salt);
    raw.extend_from_slice(&mac);
    STANDARD.encode(raw)
}

/// Checks `nonce` against the secret and realm, and its age against `lifetime`.
pub(crate) fn check(
    secret: &ServerSecret,
    realm: &str,
    nonce: &str,
    now: SystemTime,
    lifetime: Duration,
) -> NonceAge {
    let Ok(raw) = STANDARD.decode(nonce) else {
        return NonceAge::Forged;
    };
    if raw.len() != NONCE_LEN {
        return NonceAge::Forged;
    }
    let (timestamp, rest) = raw.split_at(TIMESTAMP_LEN);
    let (salt, mac) = rest.split_at(SALT_LEN);
    if secret
        .hmac(&[timestamp, salt, realm.as_bytes()])
        .verify_slice(mac)
        .is_err()
    {
        return NonceAge::Forged;
    }
    let mut seconds = [0u8; TIMESTAMP_LEN];
    seconds.copy_from_slice(timestamp);
    let issued = UNIX_EPOCH + Duration::from_secs(u64::from_be_bytes(seconds));
    let age = now.duration_since(issued).unwrap_or(Duration::ZERO);
    if age > lifetime {
        NonceAge::Expired
    } else {
        NonceAge::Fresh
    }
}

fn unix_seconds(now: SystemTime) -> u64 {
    now.duration_since(UNIX_EPOCH)
        .map(|since| since.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIFETIME: Duration = Duration::from_secs(300);

    fn secret() -> ServerSecret {
        ServerSecret::new([7; 32])
    }

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(seconds)
    }

    #[test]
    fn a_nonce_is_fresh_for_its_lifetime_and_expired_after() {
        let nonce = issue(&secret(), "kefu", at(1_000), [1; 8]);
        assert_eq!(
            check(&secret(), "kefu", &nonce, at(1_000), LIFETIME),
            NonceAge::Fresh
        );
        assert_eq!(
            check(&secret(), "kefu", &nonce, at(1_300), LIFETIME),
            NonceAge::Fresh
        );
        assert_eq!(
            check(&secret(), "kefu", &nonce, at(1_301), LIFETIME),
            NonceAge::Expired
        );
    }

    #[test]
    fn a_nonce_from_another_secret_or_realm_is_forged() {
        let nonce = issue(&secret(), "kefu", at(1_000), [1; 8]);
        let other = ServerSecret::new([8; 32]);
        assert_eq!(
            check(&other, "kefu", &nonce, at(1_000), LIFETIME),
            NonceAge::Forged
        );
        assert_eq!(
            check(&secret(), "other", &nonce, at(1_000), LIFETIME),
            NonceAge::Forged
        );
    }

    #[test]
    fn a_tampered_timestamp_or_garbage_is_forged() {
        let nonce = issue(&secret(), "kefu", at(1_000), [1; 8]);
        let mut raw = STANDARD.decode(&nonce).unwrap();
        raw[7] ^= 1;
        let tampered = STANDARD.encode(raw);
        assert_eq!(
            check(&secret(), "kefu", &tampered, at(1_000), LIFETIME),
            NonceAge::Forged
        );
        for garbage in [
            "",
            "not base64!",
            "AAAA",
            "dcd98b7102dd2f0e8b11d0f600bfb0c093",
        ] {
            assert_eq!(
                check(&secret(), "kefu", garbage, at(1_000), LIFETIME),
                NonceAge::Forged
            );
        }
    }

    #[test]
    fn nonces_issued_in_the_same_second_differ_by_their_salt() {
        let first = issue(&secret(), "kefu", at(1_000), [1; 8]);
        let second = issue(&secret(), "kefu", at(1_000), [2; 8]);
        assert_ne!(first, second);
    }

    #[test]
    fn the_secret_is_not_shown_in_debug_output() {
        assert_eq!(format!("{:?}", secret()), "ServerSecret(..)");
    }
}

//! The registrar's bindings (RFC 3261 §10.3): for each address-of-record, the
//! contacts it is reachable at until they expire.
//!
//! [`Bindings`] is plain in-memory state with expiry by a `now` parameter. Every
//! change the registrar makes is also described as a [`BindingChange`], which the
//! binary writes to storage; at start it reads them back with
//! [`Bindings::restore`], so a restart keeps registrations.

use std::collections::HashMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use crate::transaction::Peer;

/// An address-of-record: a user of a realm (tenant). kefu keys bindings by the
/// authenticated user rather than the To URI's host, because phones name the
/// server by IP address or by domain name interchangeably.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Aor {
    /// The digest realm of the tenant.
    pub realm: String,
    /// The user part (extension), e.g. `1001`.
    pub user: String,
}

impl fmt::Display for Aor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.user, self.realm)
    }
}

/// One contact of an address-of-record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    /// The address-of-record.
    pub aor: Aor,
    /// The contact URI as the phone registered it (`sip:1001@192.0.2.20:5060`).
    pub contact: String,
    /// When the binding lapses unless refreshed.
    pub expires_at: SystemTime,
    /// Call-ID of the REGISTER that made or last refreshed it.
    pub call_id: String,
    /// CSeq number of that REGISTER.
    pub cseq: u32,
    /// Where that REGISTER came from: the address to reach a phone behind NAT.
    pub source: Peer,
}

impl Binding {
    /// Seconds left at `now`, rounded up (0 once expired).
    pub fn remaining_seconds(&self, now: SystemTime) -> u64 {
        let left = self
            .expires_at
            .duration_since(now)
            .unwrap_or(Duration::ZERO);
        left.as_secs() + u64::from(left.subsec_nanos() > 0)
    }

    fn is_live(&self, now: SystemTime) -> bool {
        self.expires_at > now
    }
}

/// A change to the bindings, for the binary to persist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BindingChange {
    /// Insert the binding, or replace the one with the same AOR and contact.
    Upsert(Binding),
    /// Delete the binding of this AOR and contact.
    Remove {
        /// The address-of-record.
        aor: Aor,
        /// The contact URI.
        contact: String,
    },
}

/// Every binding, by address-of-record.
#[derive(Debug, Default)]
pub struct Bindings {
    by_aor: HashMap<Aor, Vec<Binding>>,
}

impl Bindings {
    /// No bindings.
    pub fn new() -> Self {
        Self::default()
    }

    /// Bindings read back from storage. Expired ones are harmless: they are never
    /// listed and the next [`Bindings::expire`] removes them.
    pub fn restore(bindings: impl IntoIterator<Item = Binding>) -> Self {
        let mut restored = Self::new();
        for binding in bindings {
            restored.apply(BindingChange::Upsert(binding));
        }
        restored
    }

    /// The live bindings of `aor` at `now`, in registration order.
    pub fn current(&self, aor: &Aor, now: SystemTime) -> Vec<&Binding> {
        self.by_aor
            .get(aor)
            .map(|bindings| bindings.iter().filter(|b| b.is_live(now)).collect())
            .unwrap_or_default()
    }

    /// Applies one change.
    pub fn apply(&mut self, change: BindingChange) {
        match change {
            BindingChange::Upsert(binding) => {
                let bindings = self.by_aor.entry(binding.aor.clone()).or_default();
                match bindings.iter_mut().find(|b| b.contact == binding.contact) {
                    Some(existing) => *existing = binding,
                    None => bindings.push(binding),
                }
            }
            BindingChange::Remove { aor, contact } => {
                if let Some(bindings) = self.by_aor.get_mut(&aor) {
                    bindings.retain(|b| b.contact != contact);
                    if bindings.is_empty() {
                        self.by_aor.remove(&aor);
                    }
                }
            }
        }
    }

    /// Removes the bindings expired at `now` and returns their removals, for
    /// storage.
    pub fn expire(&mut self, now: SystemTime) -> Vec<BindingChange> {
        let expired: Vec<BindingChange> = self
            .by_aor
            .values()
            .flatten()
            .filter(|binding| !binding.is_live(now))
            .map(|binding| BindingChange::Remove {
                aor: binding.aor.clone(),
                contact: binding.contact.clone(),
            })
            .collect();
        for change in &expired {
            self.apply(change.clone());
        }
        expired
    }

    /// When the next binding expires: when to call [`Bindings::expire`] again.
    pub fn next_expiry(&self) -> Option<SystemTime> {
        self.by_aor
            .values()
            .flatten()
            .map(|binding| binding.expires_at)
            .min()
    }

    /// How many bindings are held (live or not yet expired away).
    pub fn len(&self) -> usize {
        self.by_aor.values().map(Vec::len).sum()
    }

    /// Whether no binding is held.
    pub fn is_empty(&self) -> bool {
        self.by_aor.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transaction::Transport;
    use std::time::UNIX_EPOCH;

    fn at(seconds: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(1_700_000_000 + seconds)
    }

    fn aor(user: &str) -> Aor {
        Aor {
            realm: "kefu".into(),
            user: user.into(),
        }
    }

    fn binding(user: &str, contact: &str, expires_at: SystemTime) -> Binding {
        Binding {
            aor: aor(user),
            contact: contact.into(),
            expires_at,
            call_id: "call".into(),
            cseq: 1,
            source: Peer {
                transport: Transport::Udp,
                addr: "192.0.2.20:5060".parse().unwrap(),
            },
        }
    }

    #[test]
    fn restored_bindings_are_listed_until_they_expire() {
        let bindings = Bindings::restore([
            binding("1001", "sip:1001@192.0.2.20", at(100)),
            binding("1001", "sip:1001@192.0.2.21", at(200)),
            binding("1002", "sip:1002@192.0.2.22", at(100)),
        ]);
        assert_eq!(bindings.current(&aor("1001"), at(0)).len(), 2);
        let later: Vec<&str> = bindings
            .current(&aor("1001"), at(150))
            .iter()
            .map(|b| b.contact.as_str())
            .collect();
        assert_eq!(later, ["sip:1001@192.0.2.21"]);
    }

    #[test]
    fn expire_removes_lapsed_bindings_and_reports_them_for_storage() {
        let mut bindings = Bindings::restore([
            binding("1001", "sip:1001@192.0.2.20", at(100)),
            binding("1001", "sip:1001@192.0.2.21", at(200)),
        ]);
        assert_eq!(bindings.next_expiry(), Some(at(100)));
        assert_eq!(bindings.expire(at(99)), []);
        assert_eq!(
            bindings.expire(at(100)),
            [BindingChange::Remove {
                aor: aor("1001"),
                contact: "sip:1001@192.0.2.20".into()
            }]
        );
        assert_eq!(bindings.len(), 1);
        assert_eq!(bindings.next_expiry(), Some(at(200)));
        bindings.expire(at(200));
        assert!(bindings.is_empty());
        assert_eq!(bindings.next_expiry(), None);
    }

    #[test]
    fn an_upsert_of_a_known_contact_replaces_it() {
        let mut bindings = Bindings::restore([binding("1001", "sip:1001@192.0.2.20", at(100))]);
        bindings.apply(BindingChange::Upsert(binding(
            "1001",
            "sip:1001@192.0.2.20",
            at(500),
        )));
        let current = bindings.current(&aor("1001"), at(0));
        assert_eq!(current.len(), 1);
        assert_eq!(current[0].expires_at, at(500));
    }

    #[test]
    fn remaining_seconds_round_up_and_stop_at_zero() {
        let binding = binding("1001", "sip:1001@192.0.2.20", at(100));
        assert_eq!(binding.remaining_seconds(at(40)), 60);
        assert_eq!(
            binding.remaining_seconds(at(40) + Duration::from_millis(1)),
            60
        );
        assert_eq!(binding.remaining_seconds(at(101)), 0);
    }
}

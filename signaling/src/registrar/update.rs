//! Working out how a REGISTER changes an address-of-record's bindings (RFC 3261
//! §10.3 steps 6 to 8), all or nothing.
//!
//! For each contact: a binding with the same URI and the same Call-ID is only
//! touched by a REGISTER with a higher CSeq; otherwise the whole request fails
//! (the caller answers 500) and nothing changes. Expires 0 removes the binding;
//! any other value adds or refreshes it. `Contact: *` removes every binding under
//! the same Call-ID/CSeq rule.

use std::time::{Duration, SystemTime};

use super::bindings::{Aor, Binding, BindingChange};
use crate::transaction::Peer;

/// A contact with its final expiry in seconds (after defaults, minimum and
/// maximum have been applied).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ContactUpdate {
    pub(crate) uri: String,
    pub(crate) expires: u32,
}

/// The REGISTER a change comes from.
#[derive(Debug, Clone)]
pub(crate) struct RegisterOrigin<'a> {
    pub(crate) aor: &'a Aor,
    pub(crate) call_id: &'a str,
    pub(crate) cseq: u32,
    pub(crate) source: Peer,
    pub(crate) now: SystemTime,
}

/// The REGISTER is older than (or a repeat of) one already applied to a binding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct OutOfOrder;

/// The changes adding, refreshing or removing `contacts`, given the AOR's live
/// bindings `existing`.
pub(crate) fn contact_changes(
    existing: &[&Binding],
    origin: &RegisterOrigin<'_>,
    contacts: &[ContactUpdate],
) -> Result<Vec<BindingChange>, OutOfOrder> {
    let mut changes = Vec::with_capacity(contacts.len());
    for contact in contacts {
        let current = existing.iter().find(|b| b.contact == contact.uri);
        if let Some(binding) = current {
            check_order(binding, origin)?;
        }
        if contact.expires == 0 {
            if current.is_some() {
                changes.push(BindingChange::Remove {
                    aor: origin.aor.clone(),
                    contact: contact.uri.clone(),
                });
            }
        } else {
            changes.push(BindingChange::Upsert(Binding {
                aor: origin.aor.clone(),
                contact: contact.uri.clone(),
                expires_at: origin.now + Duration::from_secs(u64::from(contact.expires)),
                call_id: origin.call_id.to_owned(),
                cseq: origin.cseq,
                source: origin.source,
            }));
        }
    }
    Ok(changes)
}

/// The changes removing every binding in `existing` (`Contact: *`).
pub(crate) fn remove_all(
    existing: &[&Binding],
    origin: &RegisterOrigin<'_>,
) -> Result<Vec<BindingChange>, OutOfOrder> {
    existing
        .iter()
        .map(|binding| {
            check_order(binding, origin)?;
            Ok(BindingChange::Remove {
                aor: binding.aor.clone(),
                contact: binding.contact.clone(),
            })
        })
        .collect()
}

fn check_order(binding: &Binding, origin: &RegisterOrigin<'_>) -> Result<(), OutOfOrder> {
    if binding.call_id == origin.call_id && origin.cseq <= binding.cseq {
        Err(OutOfOrder)
    } else {
        Ok(())
    }
}

//! A contact in the engine: what arrived (`ContactSpec`), where it stands
//! (waiting, being offered, assigned) and its place in line. Contacts wait in
//! priority order, higher first, first-come first-served within a priority.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use crate::config::SkillRequirement;
use crate::ids::{AgentId, Channel, ContactId, CustomerId, Priority, QueueId};

/// A contact as it arrives: a call, a chat, a WeChat conversation, an SMS thread or an email.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContactSpec {
    /// Its id, chosen by the caller and unique while the contact is in the engine.
    pub id: ContactId,
    /// Its medium.
    pub channel: Channel,
    /// The queue it waits in (after an overflow, the queue it moved to).
    pub queue: QueueId,
    /// Its priority.
    pub priority: Priority,
    /// Skills an agent needs to be offered it.
    pub skills: Vec<SkillRequirement>,
    /// The customer, for sticky routing.
    pub customer: Option<CustomerId>,
    /// An agent it is for (a transfer to them) and how long it waits for
    /// them (while they are a member able to take it and have not let it
    /// go) before any agent of the queue may take it.
    pub preferred_agent: Option<(AgentId, Duration)>,
    /// Free-form data (IVR input, CRM fields) kept for whoever wires the engine.
    pub attributes: BTreeMap<String, String>,
}

impl ContactSpec {
    /// A contact of lowest priority needing no skill, from no known customer.
    pub fn new(id: ContactId, channel: Channel, queue: QueueId) -> Self {
        Self {
            id,
            channel,
            queue,
            priority: Priority::LOWEST,
            skills: Vec::new(),
            customer: None,
            preferred_agent: None,
            attributes: BTreeMap::new(),
        }
    }

    /// The same contact with a priority.
    pub fn with_priority(mut self, priority: Priority) -> Self {
        self.priority = priority;
        self
    }

    /// The same contact also requiring a skill.
    pub fn with_skill(mut self, requirement: SkillRequirement) -> Self {
        self.skills.push(requirement);
        self
    }

    /// The same contact from a known customer.
    pub fn with_customer(mut self, customer: CustomerId) -> Self {
        self.customer = Some(customer);
        self
    }

    /// The same contact, waiting up to `wait` for this agent first.
    pub fn for_agent(mut self, agent: AgentId, wait: Duration) -> Self {
        self.preferred_agent = Some((agent, wait));
        self
    }

    /// The same contact with an attribute.
    pub fn with_attribute(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.attributes.insert(key.into(), value.into());
        self
    }
}

/// One ringing offer of a contact.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PendingOffer {
    pub(crate) agent: AgentId,
    pub(crate) deadline: Instant,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Stage {
    /// In line, offered to nobody.
    Waiting,
    /// Ringing one agent (several for ring-all); never empty.
    Offered(Vec<PendingOffer>),
    /// Accepted by an agent.
    Assigned { agent: AgentId },
}

/// How the customer waits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Holding {
    /// On the line (or in the chat), hearing announcements, subject to max wait.
    OnLine { next_announce: Option<Instant> },
    /// Gone, keeping their place to be called back: no announcements, no max wait.
    ForCallback,
}

/// A contact's place in line: higher priority first, then arrival order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct LineKey {
    priority: Reverse<Priority>,
    seq: u64,
    pub(crate) contact: ContactId,
}

#[derive(Debug, Clone)]
pub(crate) struct Contact {
    pub(crate) spec: ContactSpec,
    pub(crate) arrived: Instant,
    /// When it entered its current queue.
    pub(crate) entered: Instant,
    seq: u64,
    pub(crate) stage: Stage,
    /// Agents who let this contact go (declined or did not answer).
    pub(crate) tried: BTreeSet<AgentId>,
    pub(crate) holding: Holding,
    /// The agent who last served this customer, if sticky routing applies.
    pub(crate) sticky_agent: Option<AgentId>,
    /// The agent it is for, until when (from its spec's `preferred_agent`).
    pub(crate) preferred: Option<(AgentId, Instant)>,
    /// When the schedule next looks at this contact.
    pub(crate) wake: Option<Instant>,
}

impl Contact {
    pub(crate) fn new(spec: ContactSpec, now: Instant, seq: u64) -> Self {
        Self {
            spec,
            arrived: now,
            entered: now,
            seq,
            stage: Stage::Waiting,
            tried: BTreeSet::new(),
            holding: Holding::OnLine {
                next_announce: None,
            },
            sticky_agent: None,
            preferred: None,
            wake: None,
        }
    }

    pub(crate) fn line_key(&self) -> LineKey {
        LineKey {
            priority: Reverse(self.spec.priority),
            seq: self.seq,
            contact: self.spec.id,
        }
    }

    pub(crate) fn offers(&self) -> &[PendingOffer] {
        match &self.stage {
            Stage::Offered(offers) => offers,
            Stage::Waiting | Stage::Assigned { .. } => &[],
        }
    }

    /// Removes and returns the offer to `agent`; the contact is waiting again
    /// when none is left.
    pub(crate) fn withdraw_offer(&mut self, agent: AgentId) -> Option<PendingOffer> {
        let Stage::Offered(offers) = &mut self.stage else {
            return None;
        };
        let index = offers.iter().position(|o| o.agent == agent)?;
        let offer = offers.remove(index);
        if offers.is_empty() {
            self.stage = Stage::Waiting;
        }
        Some(offer)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn contact(id: u64, priority: u8, seq: u64) -> Contact {
        let spec = ContactSpec::new(ContactId(id), Channel::Voice, QueueId(1))
            .with_priority(Priority::new(priority).expect("valid priority"));
        Contact::new(spec, Instant::now(), seq)
    }

    #[test]
    fn line_order_is_priority_then_arrival() {
        let mut keys = [
            contact(1, 0, 1).line_key(),
            contact(2, 5, 2).line_key(),
            contact(3, 5, 3).line_key(),
            contact(4, 9, 4).line_key(),
        ];
        keys.sort();
        let order: Vec<u64> = keys.iter().map(|k| k.contact.0).collect();
        assert_eq!(order, vec![4, 2, 3, 1]);
    }

    #[test]
    fn withdrawing_the_last_offer_puts_the_contact_back_in_waiting() {
        let mut c = contact(1, 0, 1);
        let deadline = c.arrived;
        c.stage = Stage::Offered(vec![
            PendingOffer {
                agent: AgentId(1),
                deadline,
            },
            PendingOffer {
                agent: AgentId(2),
                deadline,
            },
        ]);
        assert_eq!(
            c.withdraw_offer(AgentId(1)).map(|o| o.agent),
            Some(AgentId(1))
        );
        assert_eq!(c.offers().len(), 1);
        assert_eq!(c.withdraw_offer(AgentId(1)), None);
        assert!(c.withdraw_offer(AgentId(2)).is_some());
        assert_eq!(c.stage, Stage::Waiting);
    }
}

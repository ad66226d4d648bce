//! [`Hub`]: the live side of conversations on this node — who is connected,
//! which contact and agent a conversation has now, and the fan-out of what
//! happens in it: a broadcast per conversation for the visitor's
//! connections, and one feed for every agent WebSocket, which keeps the
//! events of the agent's own conversations. Nothing here is durable: the
//! store is the truth, and a reconnecting client catches up from it.

use std::collections::HashMap;
use std::sync::Mutex;

use tokio::sync::broadcast;

use crate::store::ChatMessage;

/// Events kept for a slow reader of one conversation.
const CONVERSATION_BUFFER: usize = 256;
/// Events kept for slow agent WebSockets.
const AGENT_BUFFER: usize = 4096;

/// One side of a conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Visitor,
    Agent,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Visitor => "visitor",
            Side::Agent => "agent",
        }
    }
}

/// Something that happened in a conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A stored message (internal notes go to the agent only).
    Message(ChatMessage),
    Typing {
        from: Side,
        active: bool,
    },
    Read {
        by: Side,
        seq: i64,
    },
    /// Still waiting: place in line (1 = next).
    Waiting {
        position: usize,
        expected_wait_secs: u64,
    },
    /// An agent took the conversation.
    AgentJoined {
        name: String,
    },
    /// The conversation is over.
    Ended {
        reason: &'static str,
    },
}

/// An event of a conversation an agent has.
#[derive(Debug, Clone)]
pub struct AgentChatEvent {
    pub user_id: String,
    pub contact: String,
    pub conversation: String,
    pub event: Event,
}

/// Where a conversation stands on this node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Standing {
    /// The contact routing it now.
    pub contact: Option<String>,
    /// The agent's user id and name, once one took it.
    pub agent: Option<(String, String)>,
    /// The last place in line told.
    pub waiting: Option<(usize, u64)>,
    /// Visitor connections open now.
    pub visitors: usize,
}

struct Live {
    events: broadcast::Sender<Event>,
    standing: Standing,
}

/// See the [module docs](self).
pub struct Hub {
    live: Mutex<HashMap<String, Live>>,
    agents: broadcast::Sender<AgentChatEvent>,
}

impl Default for Hub {
    fn default() -> Self {
        Hub {
            live: Mutex::new(HashMap::new()),
            agents: broadcast::channel(AGENT_BUFFER).0,
        }
    }
}

impl Hub {
    fn with<T>(&self, conversation: &str, f: impl FnOnce(&mut Live) -> T) -> T {
        let mut live = self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let entry = live.entry(conversation.to_owned()).or_insert_with(|| Live {
            events: broadcast::channel(CONVERSATION_BUFFER).0,
            standing: Standing::default(),
        });
        f(entry)
    }

    /// The conversation's events from now on.
    pub fn subscribe(&self, conversation: &str) -> broadcast::Receiver<Event> {
        self.with(conversation, |live| live.events.subscribe())
    }

    /// Every agent's chat events from now on (each WebSocket keeps its own).
    pub fn agent_feed(&self) -> broadcast::Receiver<AgentChatEvent> {
        self.agents.subscribe()
    }

    /// Tells both sides.
    pub fn publish(&self, conversation: &str, event: Event) {
        let agent = self.with(conversation, |live| {
            if let Event::Waiting {
                position,
                expected_wait_secs,
            } = event
            {
                live.standing.waiting = Some((position, expected_wait_secs));
            }
            let _ = live.events.send(event.clone());
            live.standing
                .agent
                .clone()
                .zip(live.standing.contact.clone())
        });
        if let Some(((user_id, _), contact)) = agent {
            let _ = self.agents.send(AgentChatEvent {
                user_id,
                contact,
                conversation: conversation.to_owned(),
                event,
            });
        }
    }

    pub fn standing(&self, conversation: &str) -> Standing {
        let live = self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        live.get(conversation)
            .map(|l| l.standing.clone())
            .unwrap_or_default()
    }

    /// A new contact routes the conversation (no agent yet).
    pub fn set_contact(&self, conversation: &str, contact: &str) {
        self.with(conversation, |live| {
            live.standing.contact = Some(contact.to_owned());
            live.standing.agent = None;
            live.standing.waiting = None;
        });
    }

    /// No contact routes the conversation for now (it is being transferred).
    pub fn release_contact(&self, conversation: &str) {
        self.with(conversation, |live| {
            live.standing.contact = None;
            live.standing.agent = None;
            live.standing.waiting = None;
        });
    }

    /// The agent who took it.
    pub fn set_agent(&self, conversation: &str, user_id: &str, name: &str) {
        self.with(conversation, |live| {
            live.standing.agent = Some((user_id.to_owned(), name.to_owned()));
            live.standing.waiting = None;
        });
    }

    /// A visitor connection opened; returns how many are open.
    pub fn visitor_joined(&self, conversation: &str) -> usize {
        self.with(conversation, |live| {
            live.standing.visitors += 1;
            live.standing.visitors
        })
    }

    /// A visitor connection closed; returns how many are still open.
    pub fn visitor_left(&self, conversation: &str) -> usize {
        self.with(conversation, |live| {
            live.standing.visitors = live.standing.visitors.saturating_sub(1);
            live.standing.visitors
        })
    }

    /// Drops what the hub keeps of an ended conversation once nobody listens.
    pub fn forget(&self, conversation: &str) {
        let mut live = self
            .live
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if live
            .get(conversation)
            .is_some_and(|l| l.standing.visitors == 0)
        {
            live.remove(conversation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(seq: i64) -> Event {
        Event::Message(ChatMessage {
            id: format!("m{seq}"),
            conversation_id: "c".to_owned(),
            seq,
            sender: "visitor".to_owned(),
            user_id: None,
            client_id: None,
            internal: false,
            body: "hi".to_owned(),
            upload: None,
            created_at: 0,
        })
    }

    #[test]
    fn the_agent_feed_carries_only_conversations_with_an_agent_and_the_current_one() {
        let hub = Hub::default();
        let mut visitor = hub.subscribe("c");
        let mut agents = hub.agent_feed();
        hub.set_contact("c", "k1");
        hub.publish("c", message(1));
        assert_eq!(visitor.try_recv(), Ok(message(1)));
        assert!(agents.try_recv().is_err(), "no agent yet");
        hub.set_agent("c", "u1", "Alice");
        hub.publish("c", message(2));
        let event = agents.try_recv().expect("the agent's");
        assert_eq!(
            (event.user_id.as_str(), event.contact.as_str()),
            ("u1", "k1")
        );
        hub.release_contact("c");
        hub.publish("c", message(3));
        assert!(agents.try_recv().is_err(), "transferred away");
        assert_eq!(visitor.try_recv(), Ok(message(2)));
        assert_eq!(visitor.try_recv(), Ok(message(3)));
    }

    #[test]
    fn an_ended_conversation_is_forgotten_once_no_visitor_is_connected() {
        let hub = Hub::default();
        assert_eq!(hub.visitor_joined("c"), 1);
        hub.publish(
            "c",
            Event::Waiting {
                position: 2,
                expected_wait_secs: 30,
            },
        );
        hub.forget("c");
        assert_eq!(hub.standing("c").waiting, Some((2, 30)), "still connected");
        assert_eq!(hub.visitor_left("c"), 0);
        hub.forget("c");
        assert_eq!(hub.standing("c"), Standing::default());
    }
}

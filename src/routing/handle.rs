//! [`AcdHandle`]: the async front of the routing task, cheap to clone, used
//! by call control, the HTTP API and the agent WebSocket; [`start`] loads the
//! configuration and spawns the task and its contact-record writer.

use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot};
use tokio::task::JoinHandle;

use super::record::Record;
use super::service::{Command, Service};
use super::{
    AgentEvent, AgentStatus, Answer, ContactId, ContactRequest, ContactUpdates, Enqueued,
    LiveContact, Offer, Presence, QueueStatus, RoutingError,
};
use crate::store::{Millis, NewContact, Store, StoreError};

/// Commands waiting for the task before senders wait.
const COMMAND_QUEUE: usize = 1024;
/// Agent events kept for slow WebSocket readers.
const EVENT_BUFFER: usize = 1024;

/// Talks to the routing task. See the [module docs](super).
#[derive(Clone)]
pub struct AcdHandle {
    commands: mpsc::Sender<Command>,
    events: broadcast::Sender<AgentEvent>,
    changes: broadcast::Sender<String>,
    store: Store,
}

/// The running routing task, to stop at shutdown.
pub struct AcdService {
    commands: mpsc::Sender<Command>,
    task: JoinHandle<()>,
    writer: JoinHandle<()>,
}

/// Loads every tenant's routing configuration and starts the routing task.
pub async fn start(store: &Store) -> Result<(AcdHandle, AcdService), RoutingError> {
    let config = store.routing_config().await?;
    let (commands, receiver) = mpsc::channel(COMMAND_QUEUE);
    let (events, _) = broadcast::channel(EVENT_BUFFER);
    let (changes, _) = broadcast::channel(EVENT_BUFFER);
    let (records, pending) = mpsc::unbounded_channel();
    let writer = tokio::spawn(write_records(store.clone(), pending));
    let service = Service::new(config, events.clone(), changes.clone(), records);
    let task = tokio::spawn(service.run(receiver));
    Ok((
        AcdHandle {
            commands: commands.clone(),
            events,
            changes,
            store: store.clone(),
        },
        AcdService {
            commands,
            task,
            writer,
        },
    ))
}

impl AcdService {
    /// Stops routing and waits (at most `limit`) for pending records to be written.
    pub async fn stop(self, limit: Duration) {
        let _ = self.commands.send(Command::Stop).await;
        let finished = async {
            let _ = self.task.await;
            let _ = self.writer.await;
        };
        if tokio::time::timeout(limit, finished).await.is_err() {
            tracing::warn!("the ACD did not finish writing contact records in time");
        }
    }
}

impl AcdHandle {
    /// Routes a new contact: its row is stored (`created`) before this
    /// returns, then the engine queues it and offers it when an agent is able.
    /// A queue that refuses it at once (closed, full, or without agents while
    /// it does not `join_when_empty`) still returns it: its only update,
    /// [`ContactUpdate::TimedOut`](super::ContactUpdate::TimedOut) with the
    /// reason, is then already in the stream
    /// ([`ContactUpdates::try_next`]).
    pub async fn enqueue(&self, request: ContactRequest) -> Result<Enqueued, RoutingError> {
        self.route(None, request).await
    }

    /// Routes again the stored contact `contact` when its row is still open
    /// (kefu stopped without closing it: killed), so that it continues as
    /// the same contact and reports count it once; else, like
    /// [`enqueue`](Self::enqueue), as a new contact.
    pub async fn resume(
        &self,
        contact: &str,
        request: ContactRequest,
    ) -> Result<Enqueued, RoutingError> {
        let open = match self.store.contact(contact).await {
            Ok(row) => row.ended_at.is_none() && row.tenant_id == request.tenant,
            Err(StoreError::NotFound { .. }) => false,
            Err(error) => return Err(error.into()),
        };
        self.route(open.then_some(contact), request).await
    }

    /// Checks the request, stores a new contact's row (unless it continues
    /// `existing`) and hands it to the engine.
    async fn route(
        &self,
        existing: Option<&str>,
        request: ContactRequest,
    ) -> Result<Enqueued, RoutingError> {
        if request.priority > 9 {
            return Err(RoutingError::Priority(request.priority));
        }
        if let Some(need) = request
            .skills
            .iter()
            .find(|s| !(1..=10).contains(&s.min_level))
        {
            return Err(RoutingError::SkillLevel {
                skill: need.name.clone(),
                level: need.min_level,
            });
        }
        let queue_id = self
            .ask(|reply| Command::Check {
                request: request.clone(),
                reply,
            })
            .await??;
        let id = match existing {
            Some(contact) => ContactId(contact.to_owned()),
            None => {
                let row = self
                    .store
                    .create_contact(&NewContact {
                        tenant_id: &request.tenant,
                        channel: super::channel_name(request.channel),
                        queue_id: Some(&queue_id),
                        priority: i64::from(request.priority),
                        customer_id: request.customer.as_deref(),
                        call_id: request.call_id.as_deref(),
                        created_at: Millis::now(),
                    })
                    .await?;
                ContactId(row.id)
            }
        };
        let (updates, receiver) = mpsc::unbounded_channel();
        let arrived = self
            .ask(|reply| Command::Enqueue {
                contact: id.clone(),
                request,
                updates,
                reply,
            })
            .await?;
        if let Err(error) = arrived {
            self.store
                .end_contact(&id.0, Millis::now(), Some("rejected"))
                .await?;
            return Err(error);
        }
        Ok(Enqueued {
            id,
            updates: ContactUpdates(receiver),
        })
    }

    /// The agent takes the offered contact.
    pub async fn accept(&self, offer: &Offer) -> Result<(), RoutingError> {
        self.answer(&offer.contact, &offer.agent.user_id, Answer::Accept)
            .await
    }

    /// The agent turns the offer down; the next agent is tried.
    pub async fn decline(&self, offer: &Offer) -> Result<(), RoutingError> {
        self.answer(&offer.contact, &offer.agent.user_id, Answer::Decline)
            .await
    }

    /// The offer rang out (counted as a no-answer); the next agent is tried.
    pub async fn timeout(&self, offer: &Offer) -> Result<(), RoutingError> {
        self.answer(&offer.contact, &offer.agent.user_id, Answer::NoAnswer)
            .await
    }

    /// Answers the offer of `contact` to the agent who is user `user_id`.
    pub async fn answer(
        &self,
        contact: &ContactId,
        user_id: &str,
        answer: Answer,
    ) -> Result<(), RoutingError> {
        self.ask(|reply| Command::Answer {
            contact: contact.clone(),
            user_id: user_id.to_owned(),
            answer,
            reply,
        })
        .await?
    }

    /// The assigned contact is over; its agent wraps up.
    pub async fn end(&self, contact: &ContactId) -> Result<(), RoutingError> {
        self.ask(|reply| Command::End {
            contact: contact.clone(),
            reply,
        })
        .await?
    }

    /// The customer left before an agent took the contact.
    pub async fn abandon(&self, contact: &ContactId) -> Result<(), RoutingError> {
        self.ask(|reply| Command::Abandon {
            contact: contact.clone(),
            reply,
        })
        .await?
    }

    /// The customer hangs up to be called back, keeping their place in
    /// line: the contact is offered as before, and whoever holds its
    /// updates calls the customer back once an agent accepts.
    pub async fn request_callback(&self, contact: &ContactId) -> Result<(), RoutingError> {
        self.ask(|reply| Command::Callback {
            contact: contact.clone(),
            reply,
        })
        .await?
    }

    /// Logs the agent in (not ready, reason `logged-in`); logging in twice is harmless.
    pub async fn login(&self, tenant: &str, extension: &str) -> Result<AgentStatus, RoutingError> {
        self.ask(|reply| Command::Login {
            tenant: tenant.to_owned(),
            extension: extension.to_owned(),
            reply,
        })
        .await?
    }

    /// Logs the agent out; refused while they handle contacts.
    pub async fn logout(&self, tenant: &str, extension: &str) -> Result<AgentStatus, RoutingError> {
        self.ask(|reply| Command::Logout {
            tenant: tenant.to_owned(),
            extension: extension.to_owned(),
            reply,
        })
        .await?
    }

    /// Makes a logged-in agent ready, not ready (with a reason), or ends wrap-up.
    pub async fn set_state(
        &self,
        tenant: &str,
        extension: &str,
        presence: Presence,
    ) -> Result<AgentStatus, RoutingError> {
        self.ask(|reply| Command::SetState {
            tenant: tenant.to_owned(),
            extension: extension.to_owned(),
            presence,
            reply,
        })
        .await?
    }

    /// The tenant's agents with their live state and contacts, by extension.
    pub async fn agents(&self, tenant: &str) -> Result<Vec<AgentStatus>, RoutingError> {
        self.ask(|reply| Command::Agents {
            tenant: tenant.to_owned(),
            reply,
        })
        .await
    }

    /// The tenant's queues with their live figures, by name.
    pub async fn queues(&self, tenant: &str) -> Result<Vec<QueueStatus>, RoutingError> {
        self.ask(|reply| Command::Queues {
            tenant: tenant.to_owned(),
            reply,
        })
        .await
    }

    /// Where a contact stands, while it is waiting or in progress.
    pub async fn contact(&self, contact: &ContactId) -> Result<Option<LiveContact>, RoutingError> {
        self.ask(|reply| Command::Contact {
            contact: contact.clone(),
            reply,
        })
        .await
    }

    /// Re-reads the routing configuration from the store (after a change).
    pub async fn reload(&self) -> Result<(), RoutingError> {
        let config = self.store.routing_config().await?;
        self.ask(|reply| Command::Reload { config, reply }).await
    }

    /// Every agent event from now on (the agent WebSocket filters its own).
    pub fn subscribe(&self) -> broadcast::Receiver<AgentEvent> {
        self.events.subscribe()
    }

    /// From now on, the id of each tenant whose agents, queues or contacts
    /// changed (once per batch of changes, for wallboards that then read
    /// [`agents`](Self::agents) and [`queues`](Self::queues) again).
    pub fn changes(&self) -> broadcast::Receiver<String> {
        self.changes.subscribe()
    }

    async fn ask<T>(
        &self,
        command: impl FnOnce(oneshot::Sender<T>) -> Command,
    ) -> Result<T, RoutingError> {
        let (reply, answer) = oneshot::channel();
        self.commands
            .send(command(reply))
            .await
            .map_err(|_| RoutingError::Stopped)?;
        answer.await.map_err(|_| RoutingError::Stopped)
    }
}

/// Stores records in order; a failed write is logged and skipped.
async fn write_records(store: Store, mut pending: mpsc::UnboundedReceiver<Record>) {
    while let Some(record) = pending.recv().await {
        match record {
            Record::Contact(record) => {
                if let Err(error) = store.apply_contact_record(&record).await {
                    tracing::warn!(contact = %record.contact_id, kind = record.kind, %error,
                        "cannot record a contact event");
                }
            }
            Record::Agent(record) => {
                if let Err(error) = store.record_agent_state(&record).await {
                    tracing::warn!(user = %record.user_id, state = record.state, %error,
                        "cannot record an agent state change");
                }
            }
        }
    }
}

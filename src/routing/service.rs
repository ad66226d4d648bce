//! The routing task: owns the [`Acd`] engine and the [`Directory`], applies
//! commands from [`AcdHandle`](super::AcdHandle)s in order, wakes at the
//! engine's `poll_timeout`, and carries out each [`Action`]: updates on the
//! contact's stream, [`AgentEvent`]s on the broadcast, records for the writer.
//! After each batch of actions it names the tenants whose agents, queues or
//! contacts changed on a second broadcast, for wallboards.
//! Every [`HOURS_CHECK`] (and on every reload) it asks the business-hours
//! calendars whether their queues are open and tells the engine when one
//! opens or closes.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use kefu_acd::{
    self as acd, Acd, AcdError, Action, AgentState, ContactSpec, CustomerId, Event, MetricEvent,
    Priority, QueueExit, SkillLevel, SkillRequirement, StopReason,
};
use serde::Serialize;
use tokio::sync::{broadcast, mpsc, oneshot};
use utoipa::ToSchema;

use super::directory::{Directory, IdMap, channel_name, timeout_target_name};
use super::record::{self, Record, Step, Who};
use super::{
    AgentRef, Answer, Channel, ContactId, ContactRequest, ContactUpdate, Offer, OfferEnd, Presence,
    RoutingError,
};
use crate::store::{AgentRecord, Millis, RoutingConfig, RoutingQueue};

type Reply<T> = oneshot::Sender<Result<T, RoutingError>>;

/// How often queues bound to a calendar are opened or closed by it.
pub(super) const HOURS_CHECK: Duration = Duration::from_secs(30);

/// What handles ask of the task.
pub(super) enum Command {
    /// Resolve the queue and skills of a request; answers the queue's UUID.
    Check {
        request: ContactRequest,
        reply: Reply<String>,
    },
    Enqueue {
        contact: ContactId,
        request: ContactRequest,
        updates: mpsc::UnboundedSender<ContactUpdate>,
        reply: Reply<()>,
    },
    Answer {
        contact: ContactId,
        user_id: String,
        answer: Answer,
        reply: Reply<()>,
    },
    End {
        contact: ContactId,
        reply: Reply<()>,
    },
    Abandon {
        contact: ContactId,
        reply: Reply<()>,
    },
    /// The customer hung up to be called back, keeping their place.
    Callback {
        contact: ContactId,
        reply: Reply<()>,
    },
    Login {
        tenant: String,
        extension: String,
        reply: Reply<AgentStatus>,
    },
    Logout {
        tenant: String,
        extension: String,
        reply: Reply<AgentStatus>,
    },
    SetState {
        tenant: String,
        extension: String,
        presence: Presence,
        reply: Reply<AgentStatus>,
    },
    Agents {
        tenant: String,
        reply: oneshot::Sender<Vec<AgentStatus>>,
    },
    Queues {
        tenant: String,
        reply: oneshot::Sender<Vec<QueueStatus>>,
    },
    Contact {
        contact: ContactId,
        reply: oneshot::Sender<Option<LiveContact>>,
    },
    Reload {
        config: RoutingConfig,
        reply: oneshot::Sender<()>,
    },
    Stop,
}

/// An agent's live state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AgentStatus {
    pub extension: String,
    pub user_id: String,
    pub display_name: String,
    /// `logged_out`, `not_ready`, `ready`, `busy` (ready, with contacts) or `wrap_up`.
    pub state: String,
    /// Why not ready (`logged-in`, `no-answer`, or the agent's own reason).
    pub reason: Option<String>,
    /// When the agent entered this state (Unix ms); none before their
    /// first change since this node started.
    pub since: Option<i64>,
    /// When wrap-up ends by itself (Unix ms).
    pub wrap_up_until: Option<i64>,
    /// Contacts offered to or handled by the agent.
    pub contacts: Vec<AgentContact>,
    /// Contacts per channel the agent takes at once (offers included).
    pub capacity: BTreeMap<String, u8>,
}

/// A contact on an agent's desk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AgentContact {
    pub id: String,
    pub channel: String,
    pub queue: String,
    /// `offered` or `assigned`.
    pub stage: String,
}

/// A queue's routing settings and live figures (counted since this kefu
/// node started).
#[derive(Debug, Clone, PartialEq, Serialize, ToSchema)]
pub struct QueueStatus {
    pub name: String,
    pub strategy: String,
    /// Whether the queue takes new contacts now (it follows its `calendar`).
    pub open: bool,
    /// Contacts waiting or being offered.
    pub waiting: usize,
    /// Wait so far of the longest-waiting of them.
    pub longest_wait_ms: u64,
    /// Expected wait of the last contact in line (0 when none waits).
    pub expected_wait_ms: u64,
    /// Contacts that entered the queue.
    pub offered: u64,
    pub answered: u64,
    pub abandoned: u64,
    pub timed_out: u64,
    pub overflowed: u64,
    pub answered_within_service_level: u64,
    /// Answered within the threshold over answered (none before the first answer).
    pub service_level: Option<f64>,
    pub service_level_secs: i64,
    pub average_speed_of_answer_ms: u64,
    /// Talk plus wrap-up of completed contacts.
    pub average_handle_time_ms: u64,
    pub average_abandon_wait_ms: u64,
    /// Members logged in, and of them those ready or busy.
    pub agents_logged_in: usize,
    pub agents_available: usize,
    /// Logged-in members by state (`not_ready`, `ready`, `busy`, `wrap_up`).
    pub agents_by_state: BTreeMap<String, usize>,
    /// The other settings, as `PUT /api/v1/queues/{name}` sets them.
    #[serde(flatten)]
    pub settings: QueueSettingsView,
}

/// A queue's routing settings besides its strategy and service level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct QueueSettingsView {
    pub offer_timeout_secs: i64,
    pub wrap_up_secs: i64,
    pub max_wait_secs: Option<i64>,
    pub sticky_secs: Option<i64>,
    pub tier_after_secs: Option<i64>,
    pub max_size: Option<i64>,
    pub timeout_target: String,
    pub overflow_queue: Option<String>,
    pub overflow_after_secs: Option<i64>,
    pub join_when_empty: bool,
    pub leave_when_empty: bool,
    pub announce_every_secs: Option<i64>,
    pub expected_handle_secs: i64,
    pub calendar: Option<String>,
}

impl QueueSettingsView {
    fn of(queue: &RoutingQueue) -> Self {
        QueueSettingsView {
            offer_timeout_secs: queue.offer_timeout_secs,
            wrap_up_secs: queue.wrap_up_secs,
            max_wait_secs: queue.max_wait_secs,
            sticky_secs: queue.sticky_secs,
            tier_after_secs: queue.tier_after_secs,
            max_size: queue.max_size,
            timeout_target: queue.timeout_target.clone(),
            overflow_queue: queue.overflow_queue.clone(),
            overflow_after_secs: queue.overflow_after_secs,
            join_when_empty: queue.join_when_empty != 0,
            leave_when_empty: queue.leave_when_empty != 0,
            announce_every_secs: queue.announce_every_secs,
            expected_handle_secs: queue.expected_handle_secs,
            calendar: queue.calendar.clone(),
        }
    }
}

/// Where a waiting or in-progress contact stands.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct LiveContact {
    pub queue: String,
    /// `waiting`, `offered` or `assigned`.
    pub stage: String,
    /// Place in line while not assigned (1 = next).
    pub position: Option<usize>,
    pub expected_wait_ms: Option<u64>,
    /// Extensions it is being offered to.
    pub offered_to: Vec<String>,
    /// The extension of the agent handling it.
    pub agent: Option<String>,
    #[serde(skip)]
    pub agent_user: Option<String>,
}

/// Something that happened to an agent, for their WebSocket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AgentEvent {
    #[serde(skip)]
    pub user_id: String,
    pub extension: String,
    #[serde(flatten)]
    pub kind: AgentEventKind,
}

/// The kinds of [`AgentEvent`], as JSON `{"type": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AgentEventKind {
    /// The agent's state changed.
    State {
        state: String,
        reason: Option<String>,
        wrap_up_until: Option<i64>,
    },
    /// A contact is offered to the agent until `deadline` (Unix ms).
    Offer {
        contact: String,
        channel: String,
        queue: String,
        customer: Option<String>,
        deadline: i64,
    },
    /// The offer stopped without the agent taking the contact.
    OfferEnded { contact: String, reason: String },
    /// The contact is the agent's.
    Assigned {
        contact: String,
        channel: String,
        queue: String,
        wait_ms: u64,
    },
    /// The agent's contact ended.
    ContactEnded { contact: String, talk_ms: u64 },
}

/// A contact in the engine, as the service tracks it.
struct Live {
    id: ContactId,
    channel: Channel,
    queue: acd::QueueId,
    customer: Option<String>,
    offers: BTreeSet<acd::AgentId>,
    agent: Option<acd::AgentId>,
    updates: mpsc::UnboundedSender<ContactUpdate>,
}

pub(super) struct Service {
    acd: Acd,
    directory: Directory,
    contact_ids: IdMap,
    live: BTreeMap<acd::ContactId, Live>,
    events: broadcast::Sender<AgentEvent>,
    /// Tenant ids whose routing picture changed.
    changes: broadcast::Sender<String>,
    records: mpsc::UnboundedSender<Record>,
    /// When each agent entered their current state.
    since: BTreeMap<acd::AgentId, Millis>,
}

/// The engine's instant and the wall clock, read together.
#[derive(Clone, Copy)]
struct Now {
    at: Instant,
    wall: Millis,
}

impl Now {
    fn read() -> Self {
        Now {
            at: Instant::now(),
            wall: Millis::now(),
        }
    }

    /// The wall-clock time, as calendars read it.
    fn timestamp(self) -> jiff::Timestamp {
        jiff::Timestamp::from_millisecond(self.wall.0).unwrap_or_else(|_| jiff::Timestamp::now())
    }

    fn wall_of(self, instant: Instant) -> Millis {
        let ahead = instant.saturating_duration_since(self.at).as_millis();
        Millis(
            self.wall
                .0
                .saturating_add(i64::try_from(ahead).unwrap_or(i64::MAX)),
        )
    }
}

fn ms(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Service {
    pub(super) fn new(
        config: RoutingConfig,
        events: broadcast::Sender<AgentEvent>,
        changes: broadcast::Sender<String>,
        records: mpsc::UnboundedSender<Record>,
    ) -> Self {
        metrics::describe_counter!(
            "kefu_acd_contacts_total",
            "Contacts by what happened to them: queued, answered, abandoned, completed, timed_out, overflowed"
        );
        metrics::describe_gauge!(
            "kefu_acd_contacts_active",
            "Contacts waiting, being offered or assigned in this node's ACD"
        );
        let mut service = Service {
            acd: Acd::new(rand::random()),
            directory: Directory::default(),
            contact_ids: IdMap::default(),
            live: BTreeMap::new(),
            events,
            changes,
            records,
            since: BTreeMap::new(),
        };
        service.reload(config, Now::read());
        service
    }

    pub(super) async fn run(mut self, mut commands: mpsc::Receiver<Command>) {
        let mut hours =
            tokio::time::interval_at(tokio::time::Instant::now() + HOURS_CHECK, HOURS_CHECK);
        hours.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            let wake = self.acd.poll_timeout();
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                command = commands.recv() => match command {
                    None | Some(Command::Stop) => {
                        self.close_all(Now::read());
                        break;
                    }
                    Some(command) => self.command(command),
                },
                () = sleep => {
                    let now = Now::read();
                    let _ = self.acd.handle(now.at, Event::Timeout);
                    self.drain(now);
                }
                _ = hours.tick() => self.follow_hours(Now::read()),
            }
        }
    }

    fn command(&mut self, command: Command) {
        let now = Now::read();
        match command {
            Command::Check { request, reply } => {
                let _ = reply.send(self.check(&request).map(|(queue, _)| queue));
            }
            Command::Enqueue {
                contact,
                request,
                updates,
                reply,
            } => {
                let _ = reply.send(self.enqueue(contact, request, updates, now));
            }
            Command::Answer {
                contact,
                user_id,
                answer,
                reply,
            } => {
                let _ = reply.send(self.answer(&contact, &user_id, answer, now));
            }
            Command::End { contact, reply } => {
                let result = self
                    .engine_id(&contact)
                    .and_then(|id| self.apply(now, Event::ContactEnded { contact: id }));
                let _ = reply.send(result);
            }
            Command::Abandon { contact, reply } => {
                let result = self
                    .engine_id(&contact)
                    .and_then(|id| self.apply(now, Event::ContactAbandoned { contact: id }));
                let _ = reply.send(result);
            }
            Command::Callback { contact, reply } => {
                let result = self
                    .engine_id(&contact)
                    .and_then(|id| self.apply(now, Event::CallbackRequested { contact: id }));
                let _ = reply.send(result);
            }
            Command::Login {
                tenant,
                extension,
                reply,
            } => {
                let _ = reply.send(self.login(&tenant, &extension, now));
            }
            Command::Logout {
                tenant,
                extension,
                reply,
            } => {
                let result = self.agent_id(&tenant, &extension).and_then(|agent| {
                    match self.apply(now, Event::AgentLogout { agent }) {
                        Err(RoutingError::Refused(_))
                            if self.acd.agent_state(agent) == AgentState::LoggedOut =>
                        {
                            Ok(())
                        }
                        other => other,
                    }?;
                    Ok(self.agent_status(agent, now))
                });
                let _ = reply.send(result);
            }
            Command::SetState {
                tenant,
                extension,
                presence,
                reply,
            } => {
                let result = self.agent_id(&tenant, &extension).and_then(|agent| {
                    let event = match presence {
                        Presence::Ready => Event::AgentReady { agent },
                        Presence::NotReady { reason } => Event::AgentNotReady {
                            agent,
                            reason: acd::ReasonCode::new(reason),
                        },
                        Presence::WrapUpDone => Event::WrapUpDone { agent },
                    };
                    self.apply(now, event)?;
                    Ok(self.agent_status(agent, now))
                });
                let _ = reply.send(result);
            }
            Command::Agents { tenant, reply } => {
                let agents = self
                    .directory
                    .agents_of(&tenant)
                    .into_iter()
                    .map(|(id, _)| id)
                    .collect::<Vec<_>>();
                let _ = reply.send(
                    agents
                        .into_iter()
                        .map(|id| self.agent_status(id, now))
                        .collect(),
                );
            }
            Command::Queues { tenant, reply } => {
                let _ = reply.send(self.queue_statuses(&tenant, now));
            }
            Command::Contact { contact, reply } => {
                let _ = reply.send(self.live_contact(&contact));
            }
            Command::Reload { config, reply } => {
                self.reload(config, now);
                let _ = reply.send(());
            }
            Command::Stop => {}
        }
    }

    /// Applies an event and carries out what follows; a refusal is explained
    /// with the names the caller used.
    fn apply(&mut self, now: Now, event: Event) -> Result<(), RoutingError> {
        let outcome = self.acd.handle(now.at, event);
        self.drain(now);
        outcome.map_err(|error| RoutingError::Refused(self.explain(&error)))
    }

    fn check(&self, request: &ContactRequest) -> Result<(String, acd::QueueId), RoutingError> {
        let queue = self
            .directory
            .queue_by_name(&request.tenant, &request.queue)
            .ok_or_else(|| RoutingError::UnknownQueue(request.queue.clone()))?;
        for need in &request.skills {
            self.directory
                .skill_by_name(&request.tenant, &need.name)
                .ok_or_else(|| RoutingError::UnknownSkill(need.name.clone()))?;
        }
        let uuid = self
            .directory
            .queue(queue)
            .map(|q| q.id.clone())
            .ok_or_else(|| RoutingError::UnknownQueue(request.queue.clone()))?;
        Ok((uuid, queue))
    }

    fn enqueue(
        &mut self,
        contact: ContactId,
        request: ContactRequest,
        updates: mpsc::UnboundedSender<ContactUpdate>,
        now: Now,
    ) -> Result<(), RoutingError> {
        let (_, queue) = self.check(&request)?;
        let priority = Priority::new(request.priority)
            .map_err(|_| RoutingError::Priority(request.priority))?;
        let preferred = match &request.preferred_agent {
            Some((extension, wait)) => {
                let agent = self.agent_id(&request.tenant, extension)?;
                let serves = self
                    .directory
                    .profile(agent)
                    .is_some_and(|profile| profile.queues.contains_key(&queue));
                if !serves {
                    return Err(RoutingError::Refused(format!(
                        "agent {extension} does not serve queue {}",
                        request.queue
                    )));
                }
                Some((agent, *wait))
            }
            None => None,
        };
        let id = acd::ContactId(self.contact_ids.number(&contact.0));
        let mut spec = ContactSpec::new(id, request.channel, queue).with_priority(priority);
        if let Some((agent, wait)) = preferred {
            spec = spec.for_agent(agent, wait);
        }
        for need in &request.skills {
            let skill = self
                .directory
                .skill_by_name(&request.tenant, &need.name)
                .ok_or_else(|| RoutingError::UnknownSkill(need.name.clone()))?;
            let min_level =
                SkillLevel::new(need.min_level).map_err(|_| RoutingError::SkillLevel {
                    skill: need.name.clone(),
                    level: need.min_level,
                })?;
            spec = spec.with_skill(SkillRequirement { skill, min_level });
        }
        if let Some(customer) = &request.customer {
            spec = spec.with_customer(CustomerId(format!("{}/{customer}", request.tenant)));
        }
        self.live.insert(
            id,
            Live {
                id: contact,
                channel: request.channel,
                queue,
                customer: request.customer,
                offers: BTreeSet::new(),
                agent: None,
                updates,
            },
        );
        if let Err(error) = self.apply(now, Event::ContactArrived(spec)) {
            self.forget(id);
            return Err(error);
        }
        // A queue with announcements has the engine announce on arrival.
        let announces = self
            .acd
            .queues()
            .any(|(q, config)| q == queue && config.announce_every.is_some());
        if let (Some(live), false) = (self.live.get(&id), announces) {
            if live.offers.is_empty() && live.agent.is_none() {
                if let Some((position, expected_wait)) = self.acd.position(id) {
                    let _ = live.updates.send(ContactUpdate::Waiting {
                        position,
                        expected_wait,
                    });
                }
            }
        }
        Ok(())
    }

    fn answer(
        &mut self,
        contact: &ContactId,
        user_id: &str,
        answer: Answer,
        now: Now,
    ) -> Result<(), RoutingError> {
        let id = self.engine_id(contact)?;
        let agent = self.directory.agent_by_user(user_id).ok_or_else(|| {
            RoutingError::Refused(format!("contact {contact} is not offered to you"))
        })?;
        let offered = self
            .live
            .get(&id)
            .is_some_and(|l| l.offers.contains(&agent));
        if !offered {
            let who = self.who(agent).map(|w| w.extension).unwrap_or_default();
            return Err(RoutingError::Refused(format!(
                "contact {contact} is not being offered to agent {who}"
            )));
        }
        let (event, ended) = match answer {
            Answer::Accept => (Event::OfferAccepted { contact: id, agent }, None),
            Answer::Decline => (
                Event::OfferDeclined { contact: id, agent },
                Some(OfferEnd::Declined),
            ),
            Answer::NoAnswer => (
                Event::OfferTimedOut { contact: id, agent },
                Some(OfferEnd::NoAnswer),
            ),
        };
        // The offer ends before the engine offers the contact to the next agent.
        let outcome = self.acd.handle(now.at, event);
        if let (Ok(()), Some(reason)) = (&outcome, ended) {
            self.offer_ended(id, agent, reason, now);
        }
        self.drain(now);
        outcome.map_err(|error| RoutingError::Refused(self.explain(&error)))
    }

    fn login(
        &mut self,
        tenant: &str,
        extension: &str,
        now: Now,
    ) -> Result<AgentStatus, RoutingError> {
        let agent = self.agent_id(tenant, extension)?;
        if self.acd.agent_state(agent) == AgentState::LoggedOut {
            let profile = self
                .directory
                .profile(agent)
                .cloned()
                .ok_or_else(|| RoutingError::UnknownAgent(extension.to_owned()))?;
            self.apply(now, Event::AgentLogin { agent, profile })?;
        }
        Ok(self.agent_status(agent, now))
    }

    fn reload(&mut self, config: RoutingConfig, now: Now) {
        self.directory.load(config);
        let queues: Vec<_> = self.directory.queue_configs(now.timestamp()).collect();
        for (queue, config) in queues {
            let _ = self
                .acd
                .handle(now.at, Event::QueueConfigChanged { queue, config });
        }
        let logged_in: Vec<acd::AgentId> = self.acd.agents().map(|(id, _)| id).collect();
        for agent in logged_in {
            let event = match self.directory.profile(agent) {
                Some(profile) => Event::AgentConfigChanged {
                    agent,
                    profile: profile.clone(),
                },
                None => Event::AgentLogout { agent },
            };
            if let Err(error) = self.acd.handle(now.at, event) {
                tracing::warn!(%agent, %error, "agent kept as they were after a configuration change");
            }
        }
        self.drain(now);
    }

    /// Opens and closes queues by their calendars: the engine is told of
    /// each queue whose configuration at `now` differs from the one it has.
    fn follow_hours(&mut self, now: Now) {
        let changed: Vec<_> = {
            let current: BTreeMap<acd::QueueId, &acd::QueueConfig> = self.acd.queues().collect();
            self.directory
                .queue_configs(now.timestamp())
                .filter(|(id, config)| current.get(id) != Some(&config))
                .collect()
        };
        for (queue, config) in changed {
            let state = if config.open { "open" } else { "closed" };
            tracing::info!(queue = %self.queue_name(queue), state, "queue follows its calendar");
            let _ = self
                .acd
                .handle(now.at, Event::QueueConfigChanged { queue, config });
        }
        self.drain(now);
    }

    fn engine_id(&self, contact: &ContactId) -> Result<acd::ContactId, RoutingError> {
        self.contact_ids
            .get(&contact.0)
            .map(acd::ContactId)
            .filter(|id| self.live.contains_key(id))
            .ok_or_else(|| RoutingError::UnknownContact(contact.0.clone()))
    }

    fn agent_id(&self, tenant: &str, extension: &str) -> Result<acd::AgentId, RoutingError> {
        self.directory
            .agent_by_extension(tenant, extension)
            .ok_or_else(|| RoutingError::UnknownAgent(extension.to_owned()))
    }

    fn who(&self, agent: acd::AgentId) -> Option<Who> {
        self.directory.agent(agent).map(|a| Who {
            user_id: a.user_id.clone(),
            extension: a.extension.clone(),
        })
    }

    fn agent_ref(&self, agent: acd::AgentId) -> Option<AgentRef> {
        self.directory.agent(agent).map(|a| AgentRef {
            user_id: a.user_id.clone(),
            extension: a.extension.clone(),
            display_name: a.display_name.clone(),
        })
    }

    fn queue_name(&self, queue: acd::QueueId) -> String {
        self.directory
            .queue(queue)
            .map(|q| q.name.clone())
            .unwrap_or_default()
    }

    /// An engine error in the caller's words.
    fn explain(&self, error: &AcdError) -> String {
        let ext = |agent: &acd::AgentId| {
            self.directory
                .agent(*agent)
                .map_or_else(|| agent.to_string(), |a| a.extension.clone())
        };
        let contact = |id: &acd::ContactId| {
            self.contact_ids
                .key(id.0)
                .map_or_else(|| id.to_string(), str::to_owned)
        };
        match error {
            AcdError::AgentNotLoggedIn(a) => format!("agent {} is not logged in", ext(a)),
            AcdError::AgentAlreadyLoggedIn(a) => format!("agent {} is already logged in", ext(a)),
            AcdError::AgentHasContacts(a) => {
                format!(
                    "agent {} still handles contacts: end them before logging out",
                    ext(a)
                )
            }
            AcdError::NotInWrapUp(a) => format!("agent {} is not in wrap-up", ext(a)),
            AcdError::UnknownContact(c) => {
                format!("contact {} is unknown or has already ended", contact(c))
            }
            AcdError::NoSuchOffer { contact: c, agent } => format!(
                "contact {} is not being offered to agent {}",
                contact(c),
                ext(agent)
            ),
            AcdError::ContactAssigned(c) => format!(
                "contact {} is assigned to an agent: end it instead",
                contact(c)
            ),
            AcdError::ContactNotAssigned(c) => format!(
                "contact {} is not assigned yet: it can be abandoned, not ended",
                contact(c)
            ),
            other => other.to_string(),
        }
    }

    fn drain(&mut self, now: Now) {
        let mut changed = BTreeSet::new();
        while let Some(action) = self.acd.poll_action() {
            if let Some(tenant) = self.tenant_of(&action) {
                changed.insert(tenant);
            }
            self.carry_out(action, now);
        }
        for tenant in changed {
            let _ = self.changes.send(tenant);
        }
        metrics::gauge!("kefu_acd_contacts_active").set(self.live.len() as f64);
    }

    /// The tenant an action concerns (looked up before it is carried out,
    /// while its contact is still known).
    fn tenant_of(&self, action: &Action) -> Option<String> {
        let of_agent = |agent: &acd::AgentId| self.directory.agent(*agent).map(|a| &a.tenant_id);
        let of_queue = |queue: &acd::QueueId| self.directory.queue(*queue).map(|q| &q.tenant_id);
        let of_contact = |contact: &acd::ContactId| {
            self.live
                .get(contact)
                .and_then(|live| self.directory.queue(live.queue))
                .map(|q| &q.tenant_id)
        };
        let tenant = match action {
            Action::Offer { agent, .. }
            | Action::StopOffering { agent, .. }
            | Action::Assigned { agent, .. }
            | Action::AgentAutoPaused { agent, .. }
            | Action::AgentStateChanged { agent, .. } => of_agent(agent),
            Action::Announce { contact, .. } => of_contact(contact),
            Action::Overflow { to: queue, .. } | Action::QueueTimeout { queue, .. } => {
                of_queue(queue)
            }
            Action::Metric(metric) => match metric {
                MetricEvent::Offered { queue, .. }
                | MetricEvent::CallbackRequested { queue, .. }
                | MetricEvent::Answered { queue, .. }
                | MetricEvent::Abandoned { queue, .. }
                | MetricEvent::Completed { queue, .. }
                | MetricEvent::Overflowed { to: queue, .. }
                | MetricEvent::TimedOut { queue, .. } => of_queue(queue),
            },
        };
        tenant.cloned()
    }

    fn carry_out(&mut self, action: Action, now: Now) {
        match action {
            Action::Offer {
                contact,
                agent,
                queue,
                channel,
                deadline,
            } => self.offered(contact, agent, queue, channel, deadline, now),
            Action::StopOffering {
                contact,
                agent,
                reason,
            } => {
                let reason = match reason {
                    StopReason::AnsweredElsewhere => OfferEnd::AnsweredElsewhere,
                    StopReason::NoAnswer => OfferEnd::NoAnswer,
                    StopReason::Abandoned => OfferEnd::CustomerLeft,
                    StopReason::AgentLoggedOut => OfferEnd::AgentLoggedOut,
                };
                self.offer_ended(contact, agent, reason, now);
            }
            Action::Assigned {
                contact,
                agent,
                queue,
                waited,
            } => self.assigned(contact, agent, queue, waited, now),
            Action::Announce {
                contact,
                position,
                expected_wait,
            } => self.update(
                contact,
                ContactUpdate::Waiting {
                    position,
                    expected_wait,
                },
            ),
            Action::Overflow { contact, from, to } => {
                let (from, to) = (self.queue_name(from), self.queue_name(to));
                self.update(contact, ContactUpdate::Overflowed { from, to });
            }
            Action::QueueTimeout {
                contact,
                reason,
                target,
                ..
            } => self.update(contact, ContactUpdate::TimedOut { reason, target }),
            Action::AgentAutoPaused { agent, no_answers } => {
                tracing::info!(%agent, no_answers, "agent paused after unanswered offers");
            }
            Action::AgentStateChanged {
                agent, to, cause, ..
            } => {
                self.since.insert(agent, now.wall);
                if let Some(stored) = self.directory.agent(agent) {
                    let (state, reason, _) = state_parts(&to, now);
                    let _ = self.records.send(Record::Agent(AgentRecord {
                        tenant_id: stored.tenant_id.clone(),
                        user_id: stored.user_id.clone(),
                        at: now.wall,
                        state,
                        reason,
                        cause: record::cause_name(cause),
                    }));
                }
                let kind = state_event(&to, now);
                self.tell_agent(agent, kind);
            }
            Action::Metric(metric) => self.metric(metric, now),
        }
    }

    fn offered(
        &mut self,
        contact: acd::ContactId,
        agent: acd::AgentId,
        queue: acd::QueueId,
        channel: Channel,
        deadline: Instant,
        now: Now,
    ) {
        let (Some(agent_ref), Some(who)) = (self.agent_ref(agent), self.who(agent)) else {
            return;
        };
        let queue_name = self.queue_name(queue);
        let Some(live) = self.live.get_mut(&contact) else {
            return;
        };
        live.offers.insert(agent);
        let id = live.id.clone();
        let customer = live.customer.clone();
        let deadline_at = now.wall_of(deadline);
        self.persist(
            &id,
            now,
            Step::Offered {
                agent: who,
                deadline: deadline_at,
            },
        );
        self.update(
            contact,
            ContactUpdate::Offered(Offer {
                contact: id.clone(),
                agent: agent_ref,
                channel,
                queue: queue_name.clone(),
                deadline,
                deadline_at,
            }),
        );
        self.tell_agent(
            agent,
            AgentEventKind::Offer {
                contact: id.0,
                channel: channel_name(channel).to_owned(),
                queue: queue_name,
                customer,
                deadline: deadline_at.0,
            },
        );
    }

    fn offer_ended(
        &mut self,
        contact: acd::ContactId,
        agent: acd::AgentId,
        reason: OfferEnd,
        now: Now,
    ) {
        let Some(live) = self.live.get_mut(&contact) else {
            return;
        };
        live.offers.remove(&agent);
        let id = live.id.clone();
        let (Some(agent_ref), Some(who)) = (self.agent_ref(agent), self.who(agent)) else {
            return;
        };
        let step = match reason {
            OfferEnd::Declined => Some(Step::Declined { agent: who }),
            OfferEnd::NoAnswer => Some(Step::NoAnswer { agent: who }),
            OfferEnd::AnsweredElsewhere | OfferEnd::AgentLoggedOut => Some(Step::Withdrawn {
                agent: who,
                reason: reason.as_str(),
            }),
            // The abandon itself is recorded.
            OfferEnd::CustomerLeft => None,
        };
        if let Some(step) = step {
            self.persist(&id, now, step);
        }
        self.update(
            contact,
            ContactUpdate::OfferEnded {
                agent: agent_ref,
                reason,
            },
        );
        self.tell_agent(
            agent,
            AgentEventKind::OfferEnded {
                contact: id.0,
                reason: reason.as_str().to_owned(),
            },
        );
    }

    fn assigned(
        &mut self,
        contact: acd::ContactId,
        agent: acd::AgentId,
        queue: acd::QueueId,
        waited: Duration,
        now: Now,
    ) {
        let (Some(agent_ref), Some(who)) = (self.agent_ref(agent), self.who(agent)) else {
            return;
        };
        let queue_name = self.queue_name(queue);
        let Some(live) = self.live.get_mut(&contact) else {
            return;
        };
        live.offers.remove(&agent);
        live.agent = Some(agent);
        let id = live.id.clone();
        let channel = live.channel;
        self.persist(
            &id,
            now,
            Step::Accepted {
                agent: who,
                wait: waited,
            },
        );
        self.update(
            contact,
            ContactUpdate::Answered {
                agent: agent_ref,
                waited,
            },
        );
        self.tell_agent(
            agent,
            AgentEventKind::Assigned {
                contact: id.0,
                channel: channel_name(channel).to_owned(),
                queue: queue_name,
                wait_ms: ms(waited),
            },
        );
    }

    fn metric(&mut self, metric: MetricEvent, now: Now) {
        let counted = match &metric {
            MetricEvent::Offered { .. } => "queued",
            MetricEvent::CallbackRequested { .. } => "callback_requested",
            MetricEvent::Answered { .. } => "answered",
            MetricEvent::Abandoned { .. } => "abandoned",
            MetricEvent::Completed { .. } => "completed",
            MetricEvent::Overflowed { .. } => "overflowed",
            MetricEvent::TimedOut { .. } => "timed_out",
        };
        metrics::counter!("kefu_acd_contacts_total", "event" => counted).increment(1);
        match metric {
            MetricEvent::Offered { queue, contact } => {
                let queue = self.queue_name(queue);
                self.persist_for(contact, now, Step::Queued { queue });
            }
            MetricEvent::CallbackRequested { contact, .. } => {
                self.persist_for(contact, now, Step::CallbackRequested);
            }
            // Recorded with the `Assigned` action.
            MetricEvent::Answered { .. } => {}
            MetricEvent::Abandoned { contact, wait, .. } => {
                self.persist_for(contact, now, Step::Abandoned { wait });
                self.update(contact, ContactUpdate::Abandoned { waited: wait });
                self.forget(contact);
            }
            MetricEvent::Completed {
                contact,
                agent,
                talk,
                ..
            } => {
                if let Some(who) = self.who(agent) {
                    self.persist_for(contact, now, Step::Ended { agent: who, talk });
                }
                self.update(contact, ContactUpdate::Ended { talk });
                if let Some(live) = self.live.get(&contact) {
                    let id = live.id.0.clone();
                    self.tell_agent(
                        agent,
                        AgentEventKind::ContactEnded {
                            contact: id,
                            talk_ms: ms(talk),
                        },
                    );
                }
                self.forget(contact);
            }
            MetricEvent::Overflowed {
                from,
                to,
                contact,
                wait,
            } => {
                let (from_name, to_name) = (self.queue_name(from), self.queue_name(to));
                self.persist_for(
                    contact,
                    now,
                    Step::Overflowed {
                        from: from_name,
                        to: to_name,
                        wait,
                    },
                );
                if let Some(live) = self.live.get_mut(&contact) {
                    live.queue = to;
                }
                if self.directory.queue(to).is_none() {
                    self.forget(contact);
                }
            }
            MetricEvent::TimedOut {
                contact,
                reason,
                wait,
                queue,
            } => {
                let target = self
                    .acd
                    .queues()
                    .find(|(id, _)| *id == queue)
                    .map(|(_, config)| timeout_target_name(&config.timeout_target))
                    .unwrap_or_default();
                self.persist_for(
                    contact,
                    now,
                    Step::TimedOut {
                        reason: exit_name(reason),
                        target,
                        wait,
                    },
                );
                self.forget(contact);
            }
        }
    }

    /// Ends every contact still in the engine (the node is stopping): each
    /// gets a final `closed` record, and its update stream ends.
    fn close_all(&mut self, now: Now) {
        for live in std::mem::take(&mut self.live).into_values() {
            let stage = if live.agent.is_some() {
                "assigned"
            } else {
                "waiting"
            };
            self.persist(&live.id, now, Step::Closed { stage });
        }
    }

    fn persist(&self, contact: &ContactId, now: Now, step: Step) {
        let _ = self
            .records
            .send(Record::Contact(record::record(&contact.0, now.wall, step)));
    }

    fn persist_for(&self, contact: acd::ContactId, now: Now, step: Step) {
        if let Some(live) = self.live.get(&contact) {
            self.persist(&live.id, now, step);
        }
    }

    fn update(&self, contact: acd::ContactId, update: ContactUpdate) {
        if let Some(live) = self.live.get(&contact) {
            let _ = live.updates.send(update);
        }
    }

    fn forget(&mut self, contact: acd::ContactId) {
        self.live.remove(&contact);
        self.contact_ids.remove(contact.0);
    }

    fn tell_agent(&self, agent: acd::AgentId, kind: AgentEventKind) {
        if let Some(a) = self.directory.agent(agent) {
            let _ = self.events.send(AgentEvent {
                user_id: a.user_id.clone(),
                extension: a.extension.clone(),
                kind,
            });
        }
    }

    fn agent_status(&self, agent: acd::AgentId, now: Now) -> AgentStatus {
        let stored = self.directory.agent(agent);
        let state = self.acd.agent_state(agent);
        let (name, reason, wrap_up_until) = state_parts(&state, now);
        let contacts = self
            .live
            .values()
            .filter_map(|live| {
                let stage = if live.agent == Some(agent) {
                    "assigned"
                } else if live.offers.contains(&agent) {
                    "offered"
                } else {
                    return None;
                };
                Some(AgentContact {
                    id: live.id.0.clone(),
                    channel: channel_name(live.channel).to_owned(),
                    queue: self.queue_name(live.queue),
                    stage: stage.to_owned(),
                })
            })
            .collect();
        let capacity = self
            .directory
            .profile(agent)
            .map(|p| {
                Channel::ALL
                    .iter()
                    .map(|&c| (channel_name(c).to_owned(), p.capacity.of(c)))
                    .collect()
            })
            .unwrap_or_default();
        AgentStatus {
            extension: stored.map(|a| a.extension.clone()).unwrap_or_default(),
            user_id: stored.map(|a| a.user_id.clone()).unwrap_or_default(),
            display_name: stored.map(|a| a.display_name.clone()).unwrap_or_default(),
            state: name.to_owned(),
            reason,
            since: self.since.get(&agent).map(|at| at.0),
            wrap_up_until,
            contacts,
            capacity,
        }
    }

    fn queue_statuses(&self, tenant: &str, now: Now) -> Vec<QueueStatus> {
        self.directory
            .queues_of(tenant)
            .into_iter()
            .filter_map(|(id, stored)| {
                let metrics = self.acd.queue_metrics(id, now.at)?;
                let expected_wait = self
                    .acd
                    .line(id)
                    .last()
                    .and_then(|last| self.acd.position(last))
                    .map_or(Duration::ZERO, |(_, wait)| wait);
                let members: Vec<AgentState> = self
                    .acd
                    .agents()
                    .filter(|(agent, _)| {
                        self.directory
                            .profile(*agent)
                            .is_some_and(|p| p.queues.contains_key(&id))
                    })
                    .map(|(_, state)| state)
                    .collect();
                let service_level = (metrics.answered > 0).then(|| {
                    metrics.answered_within_service_level as f64 / metrics.answered as f64
                });
                let open = self
                    .acd
                    .queues()
                    .find(|(queue, _)| *queue == id)
                    .is_some_and(|(_, config)| config.open);
                Some(QueueStatus {
                    name: stored.name.clone(),
                    strategy: stored.strategy.clone(),
                    open,
                    waiting: metrics.waiting,
                    longest_wait_ms: ms(metrics.longest_wait),
                    expected_wait_ms: ms(expected_wait),
                    offered: metrics.offered,
                    answered: metrics.answered,
                    abandoned: metrics.abandoned,
                    timed_out: metrics.timed_out,
                    overflowed: metrics.overflowed,
                    answered_within_service_level: metrics.answered_within_service_level,
                    service_level,
                    service_level_secs: stored.service_level_secs,
                    average_speed_of_answer_ms: ms(metrics.average_speed_of_answer),
                    average_handle_time_ms: ms(metrics.average_handle_time),
                    average_abandon_wait_ms: ms(metrics.average_abandon_wait),
                    agents_logged_in: members.len(),
                    agents_available: members
                        .iter()
                        .filter(|s| matches!(s, AgentState::Ready | AgentState::Busy))
                        .count(),
                    agents_by_state: members.iter().fold(BTreeMap::new(), |mut by, state| {
                        *by.entry(state_parts(state, now).0.to_owned()).or_insert(0) += 1;
                        by
                    }),
                    settings: QueueSettingsView::of(stored),
                })
            })
            .collect()
    }

    fn live_contact(&self, contact: &ContactId) -> Option<LiveContact> {
        let id = self.engine_id(contact).ok()?;
        let live = self.live.get(&id)?;
        let position = self.acd.position(id);
        let stage = if live.agent.is_some() {
            "assigned"
        } else if live.offers.is_empty() {
            "waiting"
        } else {
            "offered"
        };
        let agent = live.agent.and_then(|a| self.who(a));
        Some(LiveContact {
            queue: self.queue_name(live.queue),
            stage: stage.to_owned(),
            position: position.map(|(p, _)| p),
            expected_wait_ms: position.map(|(_, wait)| ms(wait)),
            offered_to: live
                .offers
                .iter()
                .filter_map(|&a| self.who(a))
                .map(|w| w.extension)
                .collect(),
            agent: agent.as_ref().map(|w| w.extension.clone()),
            agent_user: agent.map(|w| w.user_id),
        })
    }
}

/// The API name, reason and wrap-up end of an engine state.
fn state_parts(state: &AgentState, now: Now) -> (&'static str, Option<String>, Option<i64>) {
    match state {
        AgentState::LoggedOut => ("logged_out", None, None),
        AgentState::NotReady(reason) => ("not_ready", Some(reason.as_str().to_owned()), None),
        AgentState::Ready => ("ready", None, None),
        AgentState::Busy => ("busy", None, None),
        AgentState::WrapUp { until } => ("wrap_up", None, Some(now.wall_of(*until).0)),
    }
}

fn state_event(state: &AgentState, now: Now) -> AgentEventKind {
    let (state, reason, wrap_up_until) = state_parts(state, now);
    AgentEventKind::State {
        state: state.to_owned(),
        reason,
        wrap_up_until,
    }
}

/// The API name of why a contact left a queue unserved.
pub fn exit_name(exit: QueueExit) -> &'static str {
    match exit {
        QueueExit::MaxWait => "max_wait",
        QueueExit::Full => "full",
        QueueExit::NoAgents => "no_agents",
        QueueExit::Closed => "closed",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{CalendarSpec, Weekly};
    use crate::store::{StoredCalendar, TenantCalendar};

    /// Tenant `t` with queue `sales` bound to calendar `office`, open
    /// weekdays 09:00-18:00 UTC.
    fn office_hours() -> RoutingConfig {
        let hours = vec!["09:00-18:00".to_owned()];
        RoutingConfig {
            queues: vec![RoutingQueue {
                id: "q".into(),
                tenant_id: "t".into(),
                name: "sales".into(),
                strategy: "longest-idle".into(),
                service_level_secs: 20,
                wrap_up_secs: 0,
                max_wait_secs: None,
                offer_timeout_secs: 20,
                sticky_secs: None,
                tier_after_secs: None,
                max_size: None,
                timeout_target: "flow:after-hours".into(),
                overflow_queue: None,
                overflow_after_secs: None,
                join_when_empty: 1,
                leave_when_empty: 0,
                announce_every_secs: None,
                expected_handle_secs: 180,
                calendar: Some("office".into()),
            }],
            calendars: vec![TenantCalendar {
                tenant_id: "t".into(),
                calendar: StoredCalendar {
                    name: "office".into(),
                    spec: CalendarSpec {
                        time_zone: "UTC".into(),
                        weekly: Weekly {
                            mon: hours.clone(),
                            tue: hours.clone(),
                            wed: hours.clone(),
                            thu: hours.clone(),
                            fri: hours,
                            ..Weekly::default()
                        },
                        holidays: Vec::new(),
                    },
                    updated_at: 0,
                },
            }],
            ..RoutingConfig::default()
        }
    }

    fn at(time: &str) -> Now {
        let time: jiff::Timestamp = time.parse().expect("time");
        Now {
            at: Instant::now(),
            wall: Millis(time.as_millisecond()),
        }
    }

    fn chat(service: &mut Service, id: &str, now: Now) -> mpsc::UnboundedReceiver<ContactUpdate> {
        let (updates, receiver) = mpsc::unbounded_channel();
        let request = ContactRequest {
            tenant: "t".into(),
            channel: Channel::Chat,
            queue: "sales".into(),
            priority: 0,
            skills: Vec::new(),
            customer: None,
            call_id: None,
            preferred_agent: None,
        };
        service
            .enqueue(ContactId(id.into()), request, updates, now)
            .expect("enqueued");
        receiver
    }

    fn waiting_updates(receiver: &mut mpsc::UnboundedReceiver<ContactUpdate>) -> usize {
        std::iter::from_fn(|| receiver.try_recv().ok())
            .filter(|update| matches!(update, ContactUpdate::Waiting { .. }))
            .count()
    }

    #[test]
    fn a_contact_hears_its_place_in_line_once_on_arrival() {
        for every in [None, Some(0), Some(60)] {
            let mut config = office_hours();
            config.queues[0].calendar = None;
            config.queues[0].announce_every_secs = every;
            let (events, _) = broadcast::channel(16);
            let (changes, _) = broadcast::channel(16);
            let (records, _records) = mpsc::unbounded_channel();
            let mut service = Service::new(config, events, changes, records);
            let now = Now::read();
            let mut updates = chat(&mut service, "c", now);
            let _ = service.acd.handle(now.at, Event::Timeout);
            service.drain(now);
            assert_eq!(waiting_updates(&mut updates), 1, "announce every {every:?}");
        }
    }

    #[test]
    fn each_batch_of_changes_names_its_tenant_once() {
        let mut config = office_hours();
        config.queues[0].calendar = None;
        let (events, _) = broadcast::channel(16);
        let (changes, mut changed) = broadcast::channel(16);
        let (records, _records) = mpsc::unbounded_channel();
        let mut service = Service::new(config, events, changes, records);
        let now = Now::read();
        let _updates = chat(&mut service, "c", now);
        assert_eq!(changed.try_recv().ok().as_deref(), Some("t"));
        assert!(changed.try_recv().is_err(), "one notice per batch");
        let id = service.engine_id(&ContactId("c".into())).expect("waiting");
        service
            .apply(now, Event::ContactAbandoned { contact: id })
            .expect("abandoned");
        assert_eq!(changed.try_recv().ok().as_deref(), Some("t"));
    }

    #[test]
    fn a_calendar_bound_queue_closes_and_opens_with_its_hours() {
        let (events, _) = broadcast::channel(16);
        let (changes, _) = broadcast::channel(16);
        let (records, _records) = mpsc::unbounded_channel();
        let mut service = Service::new(office_hours(), events, changes, records);
        let open = |service: &Service| service.acd.queues().all(|(_, config)| config.open);

        service.follow_hours(at("2026-03-02T12:00:00Z"));
        assert!(open(&service), "Monday noon");
        let mut waiting = chat(&mut service, "before", at("2026-03-02T12:00:00Z"));
        assert!(matches!(
            waiting.try_recv(),
            Ok(ContactUpdate::Waiting { position: 1, .. })
        ));

        service.follow_hours(at("2026-03-02T18:00:30Z"));
        assert!(!open(&service), "Monday after six");
        let mut refused = chat(&mut service, "after", at("2026-03-02T18:00:30Z"));
        assert_eq!(
            refused.try_recv().ok(),
            Some(ContactUpdate::TimedOut {
                reason: QueueExit::Closed,
                target: acd::TimeoutTarget::Flow("after-hours".into()),
            })
        );
        assert!(
            service.live_contact(&ContactId("before".into())).is_some(),
            "whoever waits stays in line"
        );

        service.follow_hours(at("2026-03-03T09:00:00Z"));
        assert!(open(&service), "Tuesday morning");
    }
}

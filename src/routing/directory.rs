//! Names to engine ids and back. The engine knows agents, queues, skills and
//! contacts by small numbers; kefu knows them by stored UUIDs, and people by
//! tenant-scoped names (an agent's extension, a queue's or skill's name).
//! [`IdMap`] hands out a stable number per UUID; [`Directory`] holds the
//! routing configuration loaded from the store and turns it into the
//! engine's `AgentProfile`s and `QueueConfig`s — a queue bound to a
//! business-hours calendar is open only while its calendar is, at the time
//! the caller passes in.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use jiff::Timestamp;
use kefu_acd as acd;
use kefu_acd::{
    AgentProfile, Capacity, Channel, Membership, Overflow, QueueConfig, SkillLevel, Strategy,
    TierPolicy, TimeoutTarget,
};

use crate::calendar::{self, Calendar};
use crate::store::{RoutingAgent, RoutingConfig, RoutingQueue};

/// Stable numbers for string keys: the same key always gets the same number
/// while it is mapped, and numbers are never reused.
#[derive(Debug, Clone, Default)]
pub struct IdMap {
    numbers: HashMap<String, u64>,
    keys: HashMap<u64, String>,
    next: u64,
}

impl IdMap {
    /// The key's number, assigning the next one on first sight.
    pub fn number(&mut self, key: &str) -> u64 {
        if let Some(&n) = self.numbers.get(key) {
            return n;
        }
        self.next += 1;
        self.numbers.insert(key.to_owned(), self.next);
        self.keys.insert(self.next, key.to_owned());
        self.next
    }

    /// The key's number, if it has one.
    pub fn get(&self, key: &str) -> Option<u64> {
        self.numbers.get(key).copied()
    }

    /// The key behind a number.
    pub fn key(&self, number: u64) -> Option<&str> {
        self.keys.get(&number).map(String::as_str)
    }

    /// Forgets a number (its key gets a new one if seen again).
    pub fn remove(&mut self, number: u64) -> Option<String> {
        let key = self.keys.remove(&number)?;
        self.numbers.remove(&key);
        Some(key)
    }
}

/// The routing configuration of every tenant, indexed for the service.
#[derive(Debug, Clone, Default)]
pub struct Directory {
    agent_ids: IdMap,
    queue_ids: IdMap,
    skill_ids: IdMap,
    agents: BTreeMap<acd::AgentId, RoutingAgent>,
    queues: BTreeMap<acd::QueueId, RoutingQueue>,
    /// (tenant id, extension) → agent.
    extensions: HashMap<(String, String), acd::AgentId>,
    /// (tenant id, queue name) → queue.
    queue_names: HashMap<(String, String), acd::QueueId>,
    /// (tenant id, skill name) → skill.
    skill_names: HashMap<(String, String), acd::SkillId>,
    profiles: BTreeMap<acd::AgentId, AgentProfile>,
    /// (tenant id, calendar name) → checked calendar.
    calendars: HashMap<(String, String), Calendar>,
}

impl Directory {
    /// Replaces the configuration, keeping every id already handed out.
    pub fn load(&mut self, config: RoutingConfig) {
        self.agents.clear();
        self.queues.clear();
        self.extensions.clear();
        self.queue_names.clear();
        self.skill_names.clear();
        self.profiles.clear();
        self.calendars.clear();
        for stored in config.calendars {
            match Calendar::from_spec(&stored.calendar.spec) {
                Ok(checked) => {
                    self.calendars
                        .insert((stored.tenant_id, stored.calendar.name), checked);
                }
                Err(error) => tracing::warn!(calendar = %stored.calendar.name, %error,
                    "stored calendar is invalid; queues bound to it stay open"),
            }
        }
        for queue in config.queues {
            let id = acd::QueueId(self.queue_ids.number(&queue.id));
            self.queue_names
                .insert((queue.tenant_id.clone(), queue.name.clone()), id);
            self.queues.insert(id, queue);
        }
        for queue in self.queues.values() {
            if let Some(name) = &queue.calendar {
                if !self
                    .calendars
                    .contains_key(&(queue.tenant_id.clone(), name.clone()))
                {
                    tracing::warn!(queue = %queue.name, calendar = %name,
                        "no such calendar; the queue stays open");
                }
            }
            if let Some(name) = &queue.overflow_queue {
                if self.queue_by_name(&queue.tenant_id, name).is_none() {
                    tracing::warn!(queue = %queue.name, overflow_queue = %name,
                        "no such queue; contacts do not overflow");
                }
            }
        }
        let mut skill_tenant = HashMap::new();
        for skill in config.skills {
            let id = acd::SkillId(self.skill_ids.number(&skill.id));
            skill_tenant.insert(skill.id.clone(), skill.tenant_id.clone());
            self.skill_names.insert((skill.tenant_id, skill.name), id);
        }
        for agent in config.agents {
            let id = acd::AgentId(self.agent_ids.number(&agent.user_id));
            self.extensions
                .insert((agent.tenant_id.clone(), agent.extension.clone()), id);
            self.profiles.insert(id, base_profile(&agent));
            self.agents.insert(id, agent);
        }
        for member in config.members {
            let (Some(agent), Some(queue)) = (
                self.agent_ids.get(&member.user_id).map(acd::AgentId),
                self.queue_ids.get(&member.queue_id).map(acd::QueueId),
            ) else {
                continue;
            };
            let same_tenant = self.agents.get(&agent).map(|a| &a.tenant_id)
                == self.queues.get(&queue).map(|q| &q.tenant_id);
            if let (true, Some(profile)) = (same_tenant, self.profiles.get_mut(&agent)) {
                profile.queues.insert(
                    queue,
                    Membership {
                        tier: clamp_u8(member.tier, 1),
                        penalty: clamp_u8(member.penalty, 0),
                    },
                );
            }
        }
        for skill in config.agent_skills {
            let (Some(agent), Some(id), Ok(level)) = (
                self.agent_ids.get(&skill.user_id).map(acd::AgentId),
                self.skill_ids.get(&skill.skill_id).map(acd::SkillId),
                SkillLevel::new(clamp_u8(skill.level, 1)),
            ) else {
                continue;
            };
            let same_tenant =
                self.agents.get(&agent).map(|a| &a.tenant_id) == skill_tenant.get(&skill.skill_id);
            if let (true, Some(profile)) = (same_tenant, self.profiles.get_mut(&agent)) {
                profile.skills.insert(id, level);
            }
        }
    }

    /// The agent with this extension in the tenant.
    pub fn agent_by_extension(&self, tenant_id: &str, extension: &str) -> Option<acd::AgentId> {
        self.extensions
            .get(&(tenant_id.to_owned(), extension.to_owned()))
            .copied()
    }

    /// The agent who is this user.
    pub fn agent_by_user(&self, user_id: &str) -> Option<acd::AgentId> {
        self.agent_ids
            .get(user_id)
            .map(acd::AgentId)
            .filter(|id| self.agents.contains_key(id))
    }

    /// What is stored about an agent.
    pub fn agent(&self, id: acd::AgentId) -> Option<&RoutingAgent> {
        self.agents.get(&id)
    }

    /// The agents of a tenant, by extension.
    pub fn agents_of(&self, tenant_id: &str) -> Vec<(acd::AgentId, &RoutingAgent)> {
        let mut agents: Vec<_> = self
            .agents
            .iter()
            .filter(|(_, a)| a.tenant_id == tenant_id)
            .map(|(&id, a)| (id, a))
            .collect();
        agents.sort_by(|a, b| a.1.extension.cmp(&b.1.extension));
        agents
    }

    /// The engine profile of an agent: capacity, skills, queues.
    pub fn profile(&self, id: acd::AgentId) -> Option<&AgentProfile> {
        self.profiles.get(&id)
    }

    /// The queue with this name in the tenant.
    pub fn queue_by_name(&self, tenant_id: &str, name: &str) -> Option<acd::QueueId> {
        self.queue_names
            .get(&(tenant_id.to_owned(), name.to_owned()))
            .copied()
    }

    /// What is stored about a queue.
    pub fn queue(&self, id: acd::QueueId) -> Option<&RoutingQueue> {
        self.queues.get(&id)
    }

    /// Every queue with its engine configuration at `now`: overflow to the
    /// named queue of the same tenant, open while its calendar is (a queue
    /// whose calendar or overflow queue is missing stays open, or does not
    /// overflow).
    pub fn queue_configs(
        &self,
        now: Timestamp,
    ) -> impl Iterator<Item = (acd::QueueId, QueueConfig)> + '_ {
        self.queues.iter().map(move |(&id, queue)| {
            let mut config = queue_config(queue);
            config.overflow = queue
                .overflow_queue
                .as_deref()
                .zip(queue.overflow_after_secs)
                .and_then(|(name, after)| {
                    Some(Overflow {
                        after: secs(after),
                        to: self.queue_by_name(&queue.tenant_id, name)?,
                    })
                });
            config.open = queue.calendar.as_ref().is_none_or(|name| {
                self.calendars
                    .get(&(queue.tenant_id.clone(), name.clone()))
                    .is_none_or(|checked| calendar::is_open(checked, now))
            });
            (id, config)
        })
    }

    /// The queues of a tenant, by name.
    pub fn queues_of(&self, tenant_id: &str) -> Vec<(acd::QueueId, &RoutingQueue)> {
        let mut queues: Vec<_> = self
            .queues
            .iter()
            .filter(|(_, q)| q.tenant_id == tenant_id)
            .map(|(&id, q)| (id, q))
            .collect();
        queues.sort_by(|a, b| a.1.name.cmp(&b.1.name));
        queues
    }

    /// The skill with this name in the tenant.
    pub fn skill_by_name(&self, tenant_id: &str, name: &str) -> Option<acd::SkillId> {
        self.skill_names
            .get(&(tenant_id.to_owned(), name.to_owned()))
            .copied()
    }
}

/// An agent's capacity and voice-blocking rule, before queues and skills.
fn base_profile(agent: &RoutingAgent) -> AgentProfile {
    let capacity = Capacity::none()
        .with(Channel::Voice, clamp_u8(agent.capacity_voice, 0))
        .with(Channel::Chat, clamp_u8(agent.capacity_chat, 0))
        .with(Channel::WeChat, clamp_u8(agent.capacity_wechat, 0))
        .with(Channel::Sms, clamp_u8(agent.capacity_sms, 0))
        .with(Channel::Email, clamp_u8(agent.capacity_email, 0));
    let mut profile = AgentProfile::new(capacity);
    profile.voice_blocks_other_channels = agent.voice_blocks_other_channels != 0;
    profile
}

/// The engine configuration of a stored queue, but for what needs the rest
/// of the directory (overflow queue, calendar). An unknown strategy name or
/// timeout target (the API refuses them, so only a hand-edited row has one)
/// routes as `longest-idle`, or disconnects.
fn queue_config(queue: &RoutingQueue) -> QueueConfig {
    let strategy = queue.strategy.parse().unwrap_or_else(|_| {
        tracing::warn!(queue = %queue.name, strategy = %queue.strategy,
            "unknown queue strategy; routing as longest-idle");
        Strategy::LongestIdle
    });
    let mut config = QueueConfig::new(strategy);
    config.service_level = secs(queue.service_level_secs);
    config.wrap_up = secs(queue.wrap_up_secs);
    config.max_wait = queue.max_wait_secs.map(secs);
    config.offer_timeout = secs(queue.offer_timeout_secs).max(Duration::from_secs(1));
    config.sticky_window = queue.sticky_secs.filter(|&s| s > 0).map(secs);
    config.tiers = match queue.tier_after_secs.filter(|&s| s > 0) {
        Some(step) => TierPolicy::Progressive { step: secs(step) },
        None => TierPolicy::AllAtOnce,
    };
    config.max_size = queue
        .max_size
        .filter(|&n| n > 0)
        .and_then(|n| usize::try_from(n).ok());
    config.timeout_target = parse_timeout_target(&queue.timeout_target).unwrap_or_else(|| {
        tracing::warn!(queue = %queue.name, target = %queue.timeout_target,
            "unknown timeout target; disconnecting");
        TimeoutTarget::Disconnect
    });
    config.join_when_empty = queue.join_when_empty != 0;
    config.leave_when_empty = queue.leave_when_empty != 0;
    config.announce_every = queue.announce_every_secs.map(secs);
    config.expected_handle_time = secs(queue.expected_handle_secs).max(Duration::from_secs(1));
    config
}

/// A timeout target from its stored text: `disconnect`, `voicemail:BOX`,
/// `callback` or `flow:NAME` (box and flow names not empty).
pub fn parse_timeout_target(text: &str) -> Option<TimeoutTarget> {
    match text.split_once(':') {
        None if text == "disconnect" => Some(TimeoutTarget::Disconnect),
        None if text == "callback" => Some(TimeoutTarget::Callback),
        Some(("voicemail", name)) if !name.is_empty() => {
            Some(TimeoutTarget::Voicemail(name.to_owned()))
        }
        Some(("flow", name)) if !name.is_empty() => Some(TimeoutTarget::Flow(name.to_owned())),
        _ => None,
    }
}

/// A timeout target as stored and shown.
pub fn timeout_target_name(target: &TimeoutTarget) -> String {
    match target {
        TimeoutTarget::Disconnect => "disconnect".to_owned(),
        TimeoutTarget::Voicemail(box_name) => format!("voicemail:{box_name}"),
        TimeoutTarget::Callback => "callback".to_owned(),
        TimeoutTarget::Flow(flow) => format!("flow:{flow}"),
    }
}

fn secs(value: i64) -> Duration {
    Duration::from_secs(u64::try_from(value).unwrap_or(0))
}

fn clamp_u8(value: i64, min: u8) -> u8 {
    u8::try_from(value.clamp(i64::from(min), i64::from(u8::MAX))).unwrap_or(min)
}

/// The API name of a channel.
pub fn channel_name(channel: Channel) -> &'static str {
    match channel {
        Channel::Voice => "voice",
        Channel::Chat => "chat",
        Channel::WeChat => "wechat",
        Channel::Sms => "sms",
        Channel::Email => "email",
    }
}

/// The channel with this API name.
pub fn parse_channel(name: &str) -> Option<Channel> {
    Channel::ALL
        .into_iter()
        .find(|&channel| channel_name(channel) == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::{RoutingAgentSkill, RoutingMember, RoutingSkill};

    fn queue(id: &str, tenant: &str, name: &str) -> RoutingQueue {
        RoutingQueue {
            id: id.into(),
            tenant_id: tenant.into(),
            name: name.into(),
            strategy: "round-robin".into(),
            service_level_secs: 30,
            wrap_up_secs: 5,
            max_wait_secs: Some(600),
            offer_timeout_secs: 15,
            sticky_secs: Some(0),
            tier_after_secs: None,
            max_size: None,
            timeout_target: "disconnect".into(),
            overflow_queue: None,
            overflow_after_secs: None,
            join_when_empty: 1,
            leave_when_empty: 0,
            announce_every_secs: None,
            expected_handle_secs: 180,
            calendar: None,
        }
    }

    fn agent(user: &str, tenant: &str, extension: &str) -> RoutingAgent {
        RoutingAgent {
            user_id: user.into(),
            tenant_id: tenant.into(),
            extension: extension.into(),
            display_name: extension.into(),
            role: "agent".into(),
            capacity_voice: 1,
            capacity_chat: 3,
            capacity_wechat: 0,
            capacity_sms: 300,
            capacity_email: -2,
            voice_blocks_other_channels: 1,
        }
    }

    fn two_tenants() -> RoutingConfig {
        RoutingConfig {
            queues: vec![queue("q-a", "ta", "sales"), queue("q-b", "tb", "sales")],
            agents: vec![agent("u-a", "ta", "1001"), agent("u-b", "tb", "1001")],
            members: vec![
                RoutingMember {
                    queue_id: "q-a".into(),
                    user_id: "u-a".into(),
                    tier: 2,
                    penalty: 3,
                },
                RoutingMember {
                    queue_id: "q-a".into(),
                    user_id: "u-b".into(),
                    tier: 1,
                    penalty: 0,
                },
            ],
            skills: vec![RoutingSkill {
                id: "s-a".into(),
                tenant_id: "ta".into(),
                name: "english".into(),
            }],
            agent_skills: vec![
                RoutingAgentSkill {
                    user_id: "u-a".into(),
                    skill_id: "s-a".into(),
                    level: 7,
                },
                RoutingAgentSkill {
                    user_id: "u-b".into(),
                    skill_id: "s-a".into(),
                    level: 9,
                },
            ],
            calendars: Vec::new(),
        }
    }

    #[test]
    fn id_map_numbers_are_stable_and_never_reused() {
        let mut ids = IdMap::default();
        let a = ids.number("a");
        assert_eq!(ids.number("a"), a);
        let b = ids.number("b");
        assert_ne!(a, b);
        assert_eq!(ids.key(b), Some("b"));
        assert_eq!(ids.remove(a).as_deref(), Some("a"));
        assert_eq!(ids.get("a"), None);
        let again = ids.number("a");
        assert!(again != a && again != b);
    }

    #[test]
    fn names_are_scoped_by_tenant() {
        let mut directory = Directory::default();
        directory.load(two_tenants());
        let a = directory.agent_by_extension("ta", "1001").expect("agent a");
        let b = directory.agent_by_extension("tb", "1001").expect("agent b");
        assert_ne!(a, b);
        assert_eq!(directory.agent_by_user("u-b"), Some(b));
        assert_ne!(
            directory.queue_by_name("ta", "sales"),
            directory.queue_by_name("tb", "sales")
        );
        assert_eq!(directory.queue_by_name("ta", "support"), None);
        assert!(directory.skill_by_name("ta", "english").is_some());
        assert_eq!(directory.skill_by_name("tb", "english"), None);
        assert_eq!(directory.agents_of("ta").len(), 1);
    }

    #[test]
    fn profiles_take_capacity_memberships_and_skills_of_their_own_tenant_only() {
        let mut directory = Directory::default();
        directory.load(two_tenants());
        let a = directory.agent_by_extension("ta", "1001").expect("agent a");
        let b = directory.agent_by_extension("tb", "1001").expect("agent b");
        let sales = directory.queue_by_name("ta", "sales").expect("queue");
        let english = directory.skill_by_name("ta", "english").expect("skill");
        let profile = directory.profile(a).expect("profile a");
        assert_eq!(profile.capacity.of(Channel::Chat), 3);
        assert_eq!(profile.capacity.of(Channel::Sms), 255);
        assert_eq!(profile.capacity.of(Channel::Email), 0);
        assert!(profile.voice_blocks_other_channels);
        assert_eq!(
            profile.queues.get(&sales),
            Some(&Membership {
                tier: 2,
                penalty: 3
            })
        );
        assert_eq!(profile.skills.get(&english).map(|l| l.get()), Some(7));
        let other = directory.profile(b).expect("profile b");
        assert!(other.queues.is_empty() && other.skills.is_empty());
    }

    #[test]
    fn reloading_keeps_ids() {
        let mut directory = Directory::default();
        directory.load(two_tenants());
        let before = directory.agent_by_extension("tb", "1001");
        let mut config = two_tenants();
        config.agents.remove(0);
        directory.load(config);
        assert_eq!(directory.agent_by_extension("tb", "1001"), before);
        assert_eq!(directory.agent_by_extension("ta", "1001"), None);
        assert_eq!(directory.agent_by_user("u-a"), None);
    }

    #[test]
    fn queue_rows_become_engine_configs() {
        let config = queue_config(&queue("q", "t", "sales"));
        assert_eq!(config.strategy, Strategy::RoundRobin);
        assert_eq!(config.wrap_up, Duration::from_secs(5));
        assert_eq!(config.offer_timeout, Duration::from_secs(15));
        assert_eq!(config.max_wait, Some(Duration::from_secs(600)));
        assert_eq!(config.sticky_window, None);
        let mut odd = queue("q", "t", "sales");
        odd.strategy = "fastest".into();
        odd.offer_timeout_secs = 0;
        odd.sticky_secs = Some(45);
        let config = queue_config(&odd);
        assert_eq!(config.strategy, Strategy::LongestIdle);
        assert_eq!(config.offer_timeout, Duration::from_secs(1));
        assert_eq!(config.sticky_window, Some(Duration::from_secs(45)));
    }

    #[test]
    fn every_stored_setting_reaches_the_engine() {
        let mut row = queue("q", "t", "sales");
        row.tier_after_secs = Some(30);
        row.max_size = Some(12);
        row.timeout_target = "voicemail:sales".into();
        row.join_when_empty = 0;
        row.leave_when_empty = 1;
        row.announce_every_secs = Some(0);
        row.expected_handle_secs = 240;
        let config = queue_config(&row);
        assert_eq!(
            config.tiers,
            TierPolicy::Progressive {
                step: Duration::from_secs(30)
            }
        );
        assert_eq!(config.max_size, Some(12));
        assert_eq!(
            config.timeout_target,
            TimeoutTarget::Voicemail("sales".into())
        );
        assert!(!config.join_when_empty && config.leave_when_empty);
        assert_eq!(config.announce_every, Some(Duration::ZERO));
        assert_eq!(config.expected_handle_time, Duration::from_secs(240));

        row.tier_after_secs = Some(0);
        row.max_size = Some(0);
        row.timeout_target = "voicemail:".into();
        row.announce_every_secs = None;
        let config = queue_config(&row);
        assert_eq!(config.tiers, TierPolicy::AllAtOnce);
        assert_eq!(config.max_size, None);
        assert_eq!(config.timeout_target, TimeoutTarget::Disconnect);
        assert_eq!(config.announce_every, None);
    }

    #[test]
    fn timeout_targets_round_trip_and_bad_ones_are_refused() {
        for text in [
            "disconnect",
            "callback",
            "voicemail:sales",
            "flow:after-hours",
        ] {
            let target = parse_timeout_target(text).expect(text);
            assert_eq!(timeout_target_name(&target), text);
        }
        for text in ["", "hangup", "flow:", "voicemail", "callback:now", "Flow:x"] {
            assert_eq!(parse_timeout_target(text), None, "{text}");
        }
    }

    fn config_of(directory: &Directory, tenant: &str, name: &str, now: Timestamp) -> QueueConfig {
        let id = directory.queue_by_name(tenant, name).expect("queue");
        directory
            .queue_configs(now)
            .find(|(queue, _)| *queue == id)
            .map(|(_, config)| config)
            .expect("config")
    }

    #[test]
    fn overflow_goes_to_the_named_queue_of_the_same_tenant_only() {
        let mut config = two_tenants();
        config.queues.push(queue("q-a2", "ta", "support"));
        config.queues[0].overflow_queue = Some("support".into());
        config.queues[0].overflow_after_secs = Some(45);
        config.queues[1].overflow_queue = Some("support".into());
        config.queues[1].overflow_after_secs = Some(45);
        let mut directory = Directory::default();
        directory.load(config);
        let now = Timestamp::UNIX_EPOCH;
        assert_eq!(
            config_of(&directory, "ta", "sales", now).overflow,
            Some(Overflow {
                after: Duration::from_secs(45),
                to: directory.queue_by_name("ta", "support").expect("support"),
            })
        );
        assert_eq!(
            config_of(&directory, "tb", "sales", now).overflow,
            None,
            "tenant b has no queue `support`"
        );
    }

    #[test]
    fn a_queue_bound_to_a_calendar_is_open_only_while_the_calendar_is() {
        let weekdays = |hours: &str| crate::calendar::Weekly {
            mon: vec![hours.into()],
            tue: vec![hours.into()],
            wed: vec![hours.into()],
            thu: vec![hours.into()],
            fri: vec![hours.into()],
            ..Default::default()
        };
        let calendar = |tenant: &str, name: &str, weekly| crate::store::TenantCalendar {
            tenant_id: tenant.into(),
            calendar: crate::store::StoredCalendar {
                name: name.into(),
                spec: crate::calendar::CalendarSpec {
                    time_zone: "UTC".into(),
                    weekly,
                    holidays: Vec::new(),
                },
                updated_at: 0,
            },
        };
        let mut config = two_tenants();
        config.calendars = vec![
            calendar("ta", "office", weekdays("09:00-18:00")),
            calendar("tb", "office", weekdays("00:00-24:00")),
        ];
        config.queues[0].calendar = Some("office".into());
        config.queues[1].calendar = Some("missing".into());
        let mut directory = Directory::default();
        directory.load(config);
        let monday_noon: Timestamp = "2026-03-02T12:00:00Z".parse().expect("time");
        let monday_night: Timestamp = "2026-03-02T20:00:00Z".parse().expect("time");
        assert!(config_of(&directory, "ta", "sales", monday_noon).open);
        assert!(!config_of(&directory, "ta", "sales", monday_night).open);
        assert!(
            config_of(&directory, "tb", "sales", monday_night).open,
            "a missing calendar leaves the queue open"
        );
    }

    #[test]
    fn channel_names_round_trip() {
        for channel in Channel::ALL {
            assert_eq!(parse_channel(channel_name(channel)), Some(channel));
        }
        assert_eq!(parse_channel("fax"), None);
    }
}

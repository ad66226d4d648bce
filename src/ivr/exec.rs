//! Running a flow for one call, sans-IO: the call-control driver feeds
//! [`IvrEvent`]s with the current time through [`Execution::handle`], drains
//! [`Execution::poll_command`] and wakes the execution at
//! [`Execution::poll_timeout`]. No sockets, no clock, no tasks: the driver
//! plays prompts, collects DTMF, calls webhooks and asks calendars.
//!
//! `menu`/`gather` listen for digits while their prompt plays (barge-in);
//! the no-input timer starts when the prompt has finished and restarts after
//! each digit. A flow has `1 + retries` tries, shared by invalid entries and
//! no input; after the last the `invalid` or `no_input` exit is taken.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::model::{Flow, Node, Prompt};
use super::template;
use super::validate::MENU_KEY_VARIABLE;

/// How many nodes that do not wait (answer, set, branch) may follow each
/// other before the execution gives up and hangs up: a guard against loops.
const MAX_STEPS_WITHOUT_WAITING: usize = 1000;

/// What happened on the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrEvent {
    /// The call reached the flow; execution begins at `start`.
    Started,
    /// The last `Play`/`Say` (or a menu prompt) has finished playing.
    PromptFinished,
    /// The caller pressed these keys (one or more, in order).
    Digits(String),
    /// The time from [`Execution::poll_timeout`] has come.
    Timeout,
    /// The webhook answered 2xx; these reply fields may set variables.
    WebhookSucceeded(BTreeMap<String, String>),
    /// The webhook failed (error status, bad reply, connection error).
    WebhookFailed,
    /// The calendar asked by `CheckHours` is open (or closed) now.
    HoursAnswered { open: bool },
    /// The recording asked by `Record` has stopped.
    RecordingFinished,
    /// The transfer did not connect.
    TransferFailed(TransferFailure),
}

/// Why a transfer did not connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TransferFailure {
    NoAnswer,
    Busy,
    Failed,
}

/// What the driver should do on the call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IvrCommand {
    Answer,
    Play {
        file: String,
    },
    Say {
        text: String,
        language: String,
        voice: Option<String>,
    },
    /// Start listening for DTMF (up to `max_digits` keys).
    CollectDigits {
        max_digits: u32,
    },
    CheckHours {
        calendar: String,
    },
    Enqueue {
        queue: String,
        priority: u8,
        skills: Vec<String>,
        callback_key: Option<char>,
    },
    Transfer {
        to: String,
        timeout: Duration,
    },
    Record {
        beep: bool,
        max: Duration,
        silence: Duration,
    },
    CallWebhook {
        url: String,
        body: String,
        timeout: Duration,
    },
    Hangup,
}

/// What the execution waits for.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Waiting {
    NotStarted,
    /// A `play`/`say` node's prompt to finish.
    Prompt {
        node: String,
    },
    /// Digits for a `menu`/`gather`; `deadline` is set once the prompt ends.
    Input {
        node: String,
        tries: u32,
        entered: String,
        deadline: Option<Instant>,
    },
    Hours {
        node: String,
    },
    Recording {
        node: String,
    },
    Webhook {
        node: String,
        deadline: Instant,
    },
    Transfer {
        node: String,
    },
    /// The flow is over (hung up or handed to a queue or transfer).
    Done,
}

/// What entering a node leads to.
enum Step {
    /// Go on to this node at once.
    Continue(String),
    /// Wait for an event (or stop, with `Waiting::Done`).
    Wait(Waiting),
}

/// One call's run through one version of a flow.
#[derive(Debug)]
pub struct Execution {
    flow: Arc<Flow>,
    vars: BTreeMap<String, String>,
    waiting: Waiting,
    commands: VecDeque<IvrCommand>,
    visited: Vec<String>,
}

impl Execution {
    /// A run of `flow` with the built-in variables (`caller`, `did`, …).
    pub fn new(flow: Arc<Flow>, vars: BTreeMap<String, String>) -> Self {
        Execution {
            flow,
            vars,
            waiting: Waiting::NotStarted,
            commands: VecDeque::new(),
            visited: Vec::new(),
        }
    }

    /// The nodes entered so far, in order (for the call's record).
    pub fn visited(&self) -> &[String] {
        &self.visited
    }

    /// The variables as they are now.
    pub fn vars(&self) -> &BTreeMap<String, String> {
        &self.vars
    }

    /// Whether the flow has ended.
    pub fn is_done(&self) -> bool {
        self.waiting == Waiting::Done
    }

    /// The next thing to do, if any.
    pub fn poll_command(&mut self) -> Option<IvrCommand> {
        self.commands.pop_front()
    }

    /// When to call `handle(now, IvrEvent::Timeout)`, if a timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        match &self.waiting {
            Waiting::Input { deadline, .. } => *deadline,
            Waiting::Webhook { deadline, .. } => Some(*deadline),
            _ => None,
        }
    }

    /// Feed one event at time `now`. Events that do not fit the current
    /// state (a late webhook reply, an early timeout) are ignored.
    pub fn handle(&mut self, now: Instant, event: IvrEvent) {
        match (self.waiting.clone(), event) {
            (Waiting::NotStarted, IvrEvent::Started) => {
                let start = self.flow.start.clone();
                self.enter(now, start);
            }
            (Waiting::Prompt { node }, IvrEvent::PromptFinished) => self.follow(now, &node, "next"),
            (
                Waiting::Input {
                    node,
                    tries,
                    entered,
                    deadline: None,
                },
                IvrEvent::PromptFinished,
            ) => {
                let deadline = Some(now + self.input_timeout(&node));
                self.waiting = Waiting::Input {
                    node,
                    tries,
                    entered,
                    deadline,
                };
            }
            (
                Waiting::Input {
                    node,
                    tries,
                    entered,
                    ..
                },
                IvrEvent::Digits(keys),
            ) => {
                self.on_digits(now, node, tries, entered, &keys);
            }
            (
                Waiting::Input {
                    node,
                    tries,
                    entered,
                    deadline: Some(at),
                },
                IvrEvent::Timeout,
            ) if now >= at => {
                self.on_input_timeout(now, node, tries, entered);
            }
            (Waiting::Hours { node }, IvrEvent::HoursAnswered { open }) => {
                self.follow(now, &node, if open { "open" } else { "closed" });
            }
            (Waiting::Recording { node }, IvrEvent::RecordingFinished) => {
                self.follow(now, &node, "next")
            }
            (Waiting::Webhook { node, .. }, IvrEvent::WebhookSucceeded(reply)) => {
                if let Some(Node::Webhook(webhook)) = self.flow.nodes.get(&node) {
                    for name in &webhook.sets {
                        if let Some(value) = reply.get(name) {
                            self.vars.insert(name.clone(), value.clone());
                        }
                    }
                }
                self.follow(now, &node, "success");
            }
            (Waiting::Webhook { node, .. }, IvrEvent::WebhookFailed) => {
                self.follow(now, &node, "failure")
            }
            (Waiting::Webhook { node, deadline }, IvrEvent::Timeout) if now >= deadline => {
                self.follow(now, &node, "failure");
            }
            (Waiting::Transfer { node }, IvrEvent::TransferFailed(why)) => {
                let exit = match why {
                    TransferFailure::NoAnswer => "no_answer",
                    TransferFailure::Busy => "busy",
                    TransferFailure::Failed => "failed",
                };
                self.follow(now, &node, exit);
            }
            _ => {}
        }
    }

    fn input_timeout(&self, node: &str) -> Duration {
        let secs = match self.flow.nodes.get(node) {
            Some(Node::Menu(menu)) => menu.timeout_secs,
            Some(Node::Gather(gather)) => gather.timeout_secs,
            _ => 0,
        };
        Duration::from_secs(u64::from(secs))
    }

    fn on_digits(
        &mut self,
        now: Instant,
        node: String,
        tries: u32,
        mut entered: String,
        keys: &str,
    ) {
        let flow = Arc::clone(&self.flow);
        match flow.nodes.get(&node) {
            Some(Node::Menu(menu)) => {
                let Some(key) = keys.chars().next() else {
                    return;
                };
                match menu.digits.get(&key.to_string()) {
                    Some(target) => {
                        self.vars
                            .insert(MENU_KEY_VARIABLE.to_owned(), key.to_string());
                        self.enter(now, target.clone());
                    }
                    None => self.retry_or_exit(now, &node, tries, "invalid"),
                }
            }
            Some(Node::Gather(gather)) => {
                for key in keys.chars() {
                    if gather.terminator.starts_with(key) {
                        return self.finish_gather(now, node, tries, entered);
                    }
                    entered.push(key);
                    if entered.chars().count() >= gather.max_digits as usize {
                        return self.finish_gather(now, node, tries, entered);
                    }
                }
                let deadline = Some(now + Duration::from_secs(u64::from(gather.timeout_secs)));
                self.waiting = Waiting::Input {
                    node,
                    tries,
                    entered,
                    deadline,
                };
            }
            _ => {}
        }
    }

    fn finish_gather(&mut self, now: Instant, node: String, tries: u32, entered: String) {
        let min = match self.flow.nodes.get(&node) {
            Some(Node::Gather(gather)) => gather.min_digits as usize,
            _ => 0,
        };
        if entered.is_empty() {
            self.retry_or_exit(now, &node, tries, "no_input");
        } else if entered.chars().count() < min {
            self.retry_or_exit(now, &node, tries, "invalid");
        } else if let Some(Node::Gather(gather)) = self.flow.nodes.get(&node) {
            let variable = gather.variable.clone();
            self.vars.insert(variable, entered);
            self.follow(now, &node, "next");
        }
    }

    fn on_input_timeout(&mut self, now: Instant, node: String, tries: u32, entered: String) {
        match self.flow.nodes.get(&node) {
            Some(Node::Gather(_)) => self.finish_gather(now, node, tries, entered),
            _ => self.retry_or_exit(now, &node, tries, "no_input"),
        }
    }

    /// Play the prompt again if tries remain, else take `exit`.
    fn retry_or_exit(&mut self, now: Instant, node: &str, tries: u32, exit: &str) {
        let retries = match self.flow.nodes.get(node) {
            Some(Node::Menu(menu)) => menu.retries,
            Some(Node::Gather(gather)) => gather.retries,
            _ => 0,
        };
        if tries <= retries {
            self.waiting = self.prompt_for_input(node.to_owned(), tries + 1);
        } else {
            self.follow(now, node, exit);
        }
    }

    fn prompt_for_input(&mut self, node: String, tries: u32) -> Waiting {
        let (prompt, max_digits) = match self.flow.nodes.get(&node) {
            Some(Node::Menu(menu)) => (menu.prompt(), 1),
            Some(Node::Gather(gather)) => (gather.prompt(), gather.max_digits),
            _ => return Waiting::Done,
        };
        if let Some(prompt) = prompt {
            let command = self.prompt_command(prompt);
            self.commands.push_back(command);
        }
        self.commands
            .push_back(IvrCommand::CollectDigits { max_digits });
        Waiting::Input {
            node,
            tries,
            entered: String::new(),
            deadline: None,
        }
    }

    fn prompt_command(&self, prompt: Prompt) -> IvrCommand {
        match prompt {
            Prompt::Say {
                text,
                language,
                voice,
            } => IvrCommand::Say {
                text: self.fill(&text),
                language,
                voice,
            },
            Prompt::Play { file } => IvrCommand::Play { file },
        }
    }

    fn fill(&self, text: &str) -> String {
        template::render(text, &self.vars).unwrap_or_else(|_| text.to_owned())
    }

    fn fill_json(&self, body: &str) -> String {
        template::render_json(body, &self.vars).unwrap_or_else(|_| body.to_owned())
    }

    /// Take the exit called `exit_field` of `node`; a missing optional exit
    /// (of a transfer) hangs up.
    fn follow(&mut self, now: Instant, node: &str, exit_field: &str) {
        let target = self.flow.nodes.get(node).and_then(|n| {
            n.exits()
                .into_iter()
                .find(|exit| exit.field == exit_field)
                .map(|exit| exit.target.to_owned())
        });
        match target {
            Some(target) => self.enter(now, target),
            None => self.hang_up(),
        }
    }

    fn hang_up(&mut self) {
        self.commands.push_back(IvrCommand::Hangup);
        self.waiting = Waiting::Done;
    }

    /// Run nodes from `name` until one waits for an event or the flow ends.
    fn enter(&mut self, now: Instant, mut name: String) {
        let flow = Arc::clone(&self.flow);
        for _ in 0..MAX_STEPS_WITHOUT_WAITING {
            self.visited.push(name.clone());
            let Some(node) = flow.nodes.get(&name) else {
                return self.hang_up();
            };
            match self.run(now, name, node) {
                Step::Continue(next) => name = next,
                Step::Wait(waiting) => {
                    self.waiting = waiting;
                    return;
                }
            }
        }
        self.hang_up();
    }

    /// Do what `node` (called `name`) does on entry.
    fn run(&mut self, now: Instant, name: String, node: &Node) -> Step {
        Step::Continue(match node {
            Node::Answer(answer) => {
                self.commands.push_back(IvrCommand::Answer);
                answer.next.clone()
            }
            Node::Set(set) => {
                for (var, value) in &set.vars {
                    let value = self.fill(value);
                    self.vars.insert(var.clone(), value);
                }
                set.next.clone()
            }
            Node::Branch(branch) => branch
                .rules
                .iter()
                .find(|rule| rule.matches(self.vars.get(&rule.var).map_or("", String::as_str)))
                .map_or_else(|| branch.default.clone(), |rule| rule.next.clone()),
            Node::Play(play) => {
                self.commands.push_back(IvrCommand::Play {
                    file: play.file.clone(),
                });
                return Step::Wait(Waiting::Prompt { node: name });
            }
            Node::Say(say) => {
                let text = self.fill(&say.text);
                self.commands.push_back(IvrCommand::Say {
                    text,
                    language: say.language.clone(),
                    voice: say.voice.clone(),
                });
                return Step::Wait(Waiting::Prompt { node: name });
            }
            Node::Menu(_) | Node::Gather(_) => return Step::Wait(self.prompt_for_input(name, 1)),
            Node::Hours(hours) => {
                self.commands.push_back(IvrCommand::CheckHours {
                    calendar: hours.calendar.clone(),
                });
                return Step::Wait(Waiting::Hours { node: name });
            }
            Node::Queue(queue) => {
                self.commands.push_back(IvrCommand::Enqueue {
                    queue: queue.queue.clone(),
                    priority: queue.priority,
                    skills: queue.skills.clone(),
                    callback_key: queue.callback_key.as_deref().and_then(|k| k.chars().next()),
                });
                return Step::Wait(Waiting::Done);
            }
            Node::Transfer(transfer) => {
                self.commands.push_back(IvrCommand::Transfer {
                    to: self.fill(&transfer.to),
                    timeout: Duration::from_secs(u64::from(transfer.timeout_secs)),
                });
                return Step::Wait(Waiting::Transfer { node: name });
            }
            Node::Record(record) => {
                self.commands.push_back(IvrCommand::Record {
                    beep: record.beep,
                    max: Duration::from_secs(u64::from(record.max_secs)),
                    silence: Duration::from_secs(u64::from(record.silence_secs)),
                });
                return Step::Wait(Waiting::Recording { node: name });
            }
            Node::Webhook(webhook) => {
                let timeout = Duration::from_secs(u64::from(webhook.timeout_secs));
                let body = webhook
                    .body
                    .as_deref()
                    .map_or_else(|| self.default_body(), |b| self.fill_json(b));
                self.commands.push_back(IvrCommand::CallWebhook {
                    url: self.fill(&webhook.url),
                    body,
                    timeout,
                });
                return Step::Wait(Waiting::Webhook {
                    node: name,
                    deadline: now + timeout,
                });
            }
            Node::Hangup(_) => {
                self.commands.push_back(IvrCommand::Hangup);
                return Step::Wait(Waiting::Done);
            }
        })
    }

    /// Without a `body` template, a webhook posts every variable as JSON.
    fn default_body(&self) -> String {
        serde_json::to_string(&self.vars).unwrap_or_else(|_| "{}".to_owned())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ivr::check;

    fn flow(file: &str, text: &str) -> Arc<Flow> {
        let checked = check(file, text);
        Arc::new(
            checked
                .flow
                .unwrap_or_else(|| panic!("{:?}", checked.diagnostics)),
        )
    }

    fn default_flow() -> Arc<Flow> {
        flow(
            "default.toml",
            include_str!("../../ivr-scripts/default.toml"),
        )
    }

    fn builtins() -> BTreeMap<String, String> {
        BTreeMap::from([
            ("caller".to_owned(), "+8613800000000".to_owned()),
            ("did".to_owned(), "4000".to_owned()),
        ])
    }

    fn drain(exec: &mut Execution) -> Vec<IvrCommand> {
        std::iter::from_fn(|| exec.poll_command()).collect()
    }

    fn started(flow: Arc<Flow>, now: Instant) -> (Execution, Vec<IvrCommand>) {
        let mut exec = Execution::new(flow, builtins());
        exec.handle(now, IvrEvent::Started);
        let commands = drain(&mut exec);
        (exec, commands)
    }

    #[test]
    fn ivr_exec_default_flow_press_1_enqueues_in_sales() {
        let t0 = Instant::now();
        let (mut exec, commands) = started(default_flow(), t0);
        assert_eq!(commands[0], IvrCommand::Answer);
        assert!(
            matches!(&commands[1], IvrCommand::Say { text, language, .. } if text.contains("press 1") && language == "en")
        );
        assert_eq!(commands[2], IvrCommand::CollectDigits { max_digits: 1 });
        exec.handle(t0 + Duration::from_secs(3), IvrEvent::PromptFinished);
        assert_eq!(exec.poll_timeout(), Some(t0 + Duration::from_secs(8)));
        exec.handle(t0 + Duration::from_secs(4), IvrEvent::Digits("1".into()));
        assert_eq!(
            drain(&mut exec),
            vec![IvrCommand::Enqueue {
                queue: "sales".into(),
                priority: 5,
                skills: vec![],
                callback_key: Some('*'),
            }]
        );
        assert!(exec.is_done());
        assert_eq!(exec.visited(), ["welcome", "menu", "sales"]);
    }

    #[test]
    fn ivr_exec_default_flow_no_input_twice_says_goodbye_and_hangs_up() {
        let t0 = Instant::now();
        let (mut exec, _) = started(default_flow(), t0);
        exec.handle(t0, IvrEvent::PromptFinished);
        let first = exec.poll_timeout().unwrap();
        exec.handle(first - Duration::from_millis(1), IvrEvent::Timeout);
        assert!(drain(&mut exec).is_empty(), "an early timeout is ignored");
        exec.handle(first, IvrEvent::Timeout);
        let retry = drain(&mut exec);
        assert!(
            matches!(&retry[0], IvrCommand::Say { text, .. } if text.contains("press 1")),
            "{retry:?}"
        );
        exec.handle(first, IvrEvent::PromptFinished);
        let second = exec.poll_timeout().unwrap();
        exec.handle(second, IvrEvent::Timeout);
        let bye = drain(&mut exec);
        assert!(
            matches!(&bye[..], [IvrCommand::Say { text, .. }] if text.contains("Goodbye")),
            "{bye:?}"
        );
        exec.handle(second, IvrEvent::PromptFinished);
        assert_eq!(drain(&mut exec), vec![IvrCommand::Hangup]);
        assert!(exec.is_done());
        assert_eq!(exec.visited(), ["welcome", "menu", "goodbye", "hangup"]);
    }

    #[test]
    fn ivr_exec_invalid_key_reprompts_then_takes_invalid_exit() {
        let t0 = Instant::now();
        let (mut exec, _) = started(default_flow(), t0);
        exec.handle(t0, IvrEvent::Digits("9".into()));
        assert!(matches!(
            drain(&mut exec)[..],
            [IvrCommand::Say { .. }, IvrCommand::CollectDigits { .. }]
        ));
        exec.handle(t0, IvrEvent::Digits("9".into()));
        assert!(
            matches!(&drain(&mut exec)[..], [IvrCommand::Say { text, .. }] if text.contains("Goodbye"))
        );
    }

    const VIP: &str = r#"
start = "lookup"
[nodes.lookup]
type = "webhook"
url = "https://crm.example/lookup"
body = '{"caller": "${caller}"}'
sets = ["vip_level"]
timeout_secs = 2
success = "route"
failure = "normal"
[nodes.route]
type = "branch"
default = "normal"
[[nodes.route.rules]]
var = "vip_level"
equals = "gold"
next = "vip"
[nodes.vip]
type = "queue"
queue = "sales"
priority = 9
skills = ["vip"]
[nodes.normal]
type = "gather"
say = "Enter your account number, ${caller}"
variable = "account"
min_digits = 3
max_digits = 6
next = "thanks"
invalid = "normal_end"
no_input = "normal_end"
[nodes.thanks]
type = "say"
text = "Account ${account}"
next = "normal_end"
[nodes.normal_end]
type = "hangup"
"#;

    #[test]
    fn ivr_exec_webhook_reply_sets_variables_for_a_branch() {
        let t0 = Instant::now();
        let (mut exec, commands) = started(flow("vip.toml", VIP), t0);
        assert_eq!(
            commands,
            vec![IvrCommand::CallWebhook {
                url: "https://crm.example/lookup".into(),
                body: "{\"caller\": \"+8613800000000\"}".into(),
                timeout: Duration::from_secs(2),
            }]
        );
        assert_eq!(exec.poll_timeout(), Some(t0 + Duration::from_secs(2)));
        let reply = BTreeMap::from([
            ("vip_level".to_owned(), "gold".to_owned()),
            ("other".to_owned(), "x".to_owned()),
        ]);
        exec.handle(t0, IvrEvent::WebhookSucceeded(reply));
        assert_eq!(
            drain(&mut exec),
            vec![IvrCommand::Enqueue {
                queue: "sales".into(),
                priority: 9,
                skills: vec!["vip".into()],
                callback_key: None,
            }]
        );
        assert!(
            !exec.vars().contains_key("other"),
            "only `sets` fields become variables"
        );
    }

    #[test]
    fn ivr_exec_webhook_timeout_takes_failure_and_gather_collects_until_terminator() {
        let t0 = Instant::now();
        let (mut exec, _) = started(flow("vip.toml", VIP), t0);
        exec.handle(t0 + Duration::from_secs(2), IvrEvent::Timeout);
        let commands = drain(&mut exec);
        assert!(
            matches!(&commands[0], IvrCommand::Say { text, .. } if text == "Enter your account number, +8613800000000")
        );
        assert_eq!(commands[1], IvrCommand::CollectDigits { max_digits: 6 });
        exec.handle(t0, IvrEvent::Digits("12".into()));
        exec.handle(t0, IvrEvent::Digits("34#".into()));
        assert!(
            matches!(&drain(&mut exec)[..], [IvrCommand::Say { text, .. }] if text == "Account 1234")
        );
    }

    #[test]
    fn ivr_exec_after_hours_closed_takes_a_voicemail_then_hangs_up() {
        let t0 = Instant::now();
        let after_hours = flow(
            "after-hours.toml",
            include_str!("../../ivr-scripts/after-hours.toml"),
        );
        let (mut exec, commands) = started(after_hours, t0);
        assert_eq!(
            commands,
            vec![
                IvrCommand::Answer,
                IvrCommand::CheckHours {
                    calendar: "support".into()
                }
            ]
        );
        exec.handle(t0, IvrEvent::HoursAnswered { open: false });
        assert!(
            matches!(&drain(&mut exec)[..], [IvrCommand::Say { text, .. }] if text.contains("closed"))
        );
        exec.handle(t0, IvrEvent::PromptFinished);
        assert_eq!(
            drain(&mut exec),
            vec![IvrCommand::Record {
                beep: true,
                max: Duration::from_secs(180),
                silence: Duration::from_secs(8),
            }]
        );
        exec.handle(t0, IvrEvent::RecordingFinished);
        assert!(
            matches!(&drain(&mut exec)[..], [IvrCommand::Say { language, .. }] if language == "zh")
        );
        exec.handle(t0, IvrEvent::PromptFinished);
        assert_eq!(drain(&mut exec), vec![IvrCommand::Hangup]);
    }

    #[test]
    fn ivr_exec_transfer_failure_takes_its_exit_or_hangs_up_without_one() {
        let text = "start = \"t\"\n[nodes.t]\ntype = \"dial\"\nto = \"${did}1\"\nbusy = \"u\"\n\
                    [nodes.u]\ntype = \"transfer\"\nto = \"1002\"\n";
        let t0 = Instant::now();
        let (mut exec, commands) = started(flow("t.toml", text), t0);
        assert_eq!(
            commands,
            vec![IvrCommand::Transfer {
                to: "40001".into(),
                timeout: Duration::from_secs(30)
            }]
        );
        exec.handle(t0, IvrEvent::TransferFailed(TransferFailure::Busy));
        assert!(matches!(&drain(&mut exec)[..], [IvrCommand::Transfer { to, .. }] if to == "1002"));
        exec.handle(t0, IvrEvent::TransferFailed(TransferFailure::NoAnswer));
        assert_eq!(drain(&mut exec), vec![IvrCommand::Hangup]);
        assert!(exec.is_done());
    }

    #[test]
    fn ivr_exec_loop_without_waiting_nodes_hangs_up() {
        let text = "start = \"a\"\n[nodes.a]\ntype = \"set\"\nvars = { x = \"1\" }\nnext = \"b\"\n\
                    [nodes.b]\ntype = \"answer\"\nnext = \"a\"\n";
        let (exec, commands) = started(flow("loop.toml", text), Instant::now());
        assert_eq!(commands.last(), Some(&IvrCommand::Hangup));
        assert!(exec.is_done());
    }
}

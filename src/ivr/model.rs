//! The typed IVR flow: a [`Flow`] is a named graph of [`Node`]s, each one of
//! the node types admins write in `ivr-scripts/*.toml`. Parsing the TOML into
//! these types (with precise errors) lives in [`super::parse`]; graph checks in
//! [`super::validate`]. Exits name other nodes by key.

use std::collections::BTreeMap;

use serde::Deserialize;

/// One IVR flow as written in a TOML file.
#[derive(Debug, Clone, PartialEq)]
pub struct Flow {
    pub name: String,
    pub description: Option<String>,
    /// The node execution starts at.
    pub start: String,
    pub nodes: BTreeMap<String, Node>,
}

/// One node of a flow; the TOML `type` selects the variant.
#[derive(Debug, Clone, PartialEq)]
pub enum Node {
    Answer(Answer),
    Play(Play),
    Say(Say),
    Menu(Menu),
    Gather(Gather),
    Set(Set),
    Branch(Branch),
    Hours(Hours),
    Queue(Queue),
    Transfer(Transfer),
    Record(Record),
    Webhook(Webhook),
    Hangup(Hangup),
}

/// An exit of a node: the field it is written in, a short label for
/// drawings, and the node it leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit<'a> {
    pub field: String,
    pub label: String,
    pub target: &'a str,
}

/// Answer the call (200 OK) and continue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Answer {
    pub next: String,
}

/// Play an audio file from the prompts folder.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Play {
    pub file: String,
    pub next: String,
}

/// Speak a text (`${var}` interpolated) with a text-to-speech voice.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Say {
    pub text: String,
    #[serde(default = "default_language")]
    pub language: String,
    pub voice: Option<String>,
    pub next: String,
}

/// What a `menu` or `gather` plays before listening for digits: a `say`
/// text or a `play` file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Prompt {
    Say {
        text: String,
        language: String,
        voice: Option<String>,
    },
    Play {
        file: String,
    },
}

/// Play a prompt and route on one pressed key (`digits` maps key → node).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Menu {
    pub say: Option<String>,
    pub play: Option<String>,
    #[serde(default = "default_language")]
    pub language: String,
    pub voice: Option<String>,
    pub digits: BTreeMap<String, String>,
    #[serde(default = "default_input_timeout")]
    pub timeout_secs: u32,
    #[serde(default = "default_retries")]
    pub retries: u32,
    pub invalid: String,
    pub no_input: String,
}

/// Play a prompt and collect a number of digits into a variable.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gather {
    pub say: Option<String>,
    pub play: Option<String>,
    #[serde(default = "default_language")]
    pub language: String,
    pub voice: Option<String>,
    pub variable: String,
    #[serde(default = "default_min_digits")]
    pub min_digits: u32,
    pub max_digits: u32,
    #[serde(default = "default_terminator")]
    pub terminator: String,
    #[serde(default = "default_input_timeout")]
    pub timeout_secs: u32,
    #[serde(default = "default_retries")]
    pub retries: u32,
    pub next: String,
    pub invalid: String,
    pub no_input: String,
}

/// Set variables (values are `${var}` templates) and continue.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Set {
    pub vars: BTreeMap<String, String>,
    pub next: String,
}

/// Route on the first matching rule, else `default`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Branch {
    #[serde(default)]
    pub rules: Vec<Rule>,
    pub default: String,
}

/// One condition of a `branch`: a variable and exactly one test.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub var: String,
    pub equals: Option<String>,
    pub not_equals: Option<String>,
    pub starts_with: Option<String>,
    pub one_of: Option<Vec<String>>,
    /// Inclusive range `[from, to]`, compared as text (`"09:00"`…`"17:30"`);
    /// when `from` is after `to` it wraps (`["22:00", "06:00"]` is the night).
    pub between: Option<[String; 2]>,
    pub next: String,
}

/// Ask a business-hours calendar whether it is open now.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hours {
    pub calendar: String,
    pub open: String,
    pub closed: String,
}

/// Hand the call to the ACD: queue, priority 0 (lowest) to 9, skills.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Queue {
    pub queue: String,
    #[serde(default = "default_priority")]
    pub priority: u8,
    #[serde(default)]
    pub skills: Vec<String>,
    /// The key a waiting caller presses to hang up and be called back,
    /// keeping their place in line.
    pub callback_key: Option<String>,
}

/// Transfer (`dial`) to an extension or a number; answered ends the flow.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    pub to: String,
    #[serde(default = "default_ring_timeout")]
    pub timeout_secs: u32,
    pub no_answer: Option<String>,
    pub busy: Option<String>,
    pub failed: Option<String>,
}

/// Record a message (`voicemail`): beep, then record until silence or max.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Record {
    #[serde(default = "default_beep")]
    pub beep: bool,
    #[serde(default = "default_max_secs")]
    pub max_secs: u32,
    #[serde(default = "default_silence_secs")]
    pub silence_secs: u32,
    pub next: String,
}

/// POST a JSON body to a URL; reply fields named in `sets` become variables.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Webhook {
    pub url: String,
    #[serde(default = "default_webhook_timeout")]
    pub timeout_secs: u32,
    pub body: Option<String>,
    #[serde(default)]
    pub sets: Vec<String>,
    pub success: String,
    pub failure: String,
}

/// End the call.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hangup {}

fn default_language() -> String {
    "en".to_owned()
}
fn default_input_timeout() -> u32 {
    5
}
fn default_retries() -> u32 {
    2
}
fn default_min_digits() -> u32 {
    1
}
fn default_terminator() -> String {
    "#".to_owned()
}
fn default_priority() -> u8 {
    5
}
fn default_ring_timeout() -> u32 {
    30
}
fn default_beep() -> bool {
    true
}
fn default_max_secs() -> u32 {
    120
}
fn default_silence_secs() -> u32 {
    5
}
fn default_webhook_timeout() -> u32 {
    5
}

impl Node {
    /// The TOML `type` name of this node.
    pub fn type_name(&self) -> &'static str {
        match self {
            Node::Answer(_) => "answer",
            Node::Play(_) => "play",
            Node::Say(_) => "say",
            Node::Menu(_) => "menu",
            Node::Gather(_) => "gather",
            Node::Set(_) => "set",
            Node::Branch(_) => "branch",
            Node::Hours(_) => "hours",
            Node::Queue(_) => "queue",
            Node::Transfer(_) => "transfer",
            Node::Record(_) => "record",
            Node::Webhook(_) => "webhook",
            Node::Hangup(_) => "hangup",
        }
    }

    /// Whether reaching this node ends the flow's part of the call (the
    /// call is hung up or handed to an agent, queue or number).
    pub fn is_terminal(&self) -> bool {
        matches!(self, Node::Hangup(_) | Node::Queue(_) | Node::Transfer(_))
    }

    /// Every exit, in the order they are written.
    pub fn exits(&self) -> Vec<Exit<'_>> {
        fn exit<'a>(field: &str, label: &str, target: &'a str) -> Exit<'a> {
            Exit {
                field: field.to_owned(),
                label: label.to_owned(),
                target,
            }
        }
        match self {
            Node::Answer(Answer { next })
            | Node::Play(Play { next, .. })
            | Node::Say(Say { next, .. })
            | Node::Set(Set { next, .. })
            | Node::Record(Record { next, .. }) => vec![exit("next", "next", next)],
            Node::Menu(menu) => {
                let mut exits: Vec<Exit<'_>> = menu
                    .digits
                    .iter()
                    .map(|(key, target)| exit(&format!("digits.{key}"), key, target))
                    .collect();
                exits.push(exit("invalid", "invalid", &menu.invalid));
                exits.push(exit("no_input", "no_input", &menu.no_input));
                exits
            }
            Node::Gather(gather) => vec![
                exit("next", "next", &gather.next),
                exit("invalid", "invalid", &gather.invalid),
                exit("no_input", "no_input", &gather.no_input),
            ],
            Node::Branch(branch) => {
                let mut exits: Vec<Exit<'_>> = branch
                    .rules
                    .iter()
                    .enumerate()
                    .map(|(i, rule)| {
                        exit(
                            &format!("rules[{}].next", i + 1),
                            &rule.describe(),
                            &rule.next,
                        )
                    })
                    .collect();
                exits.push(exit("default", "default", &branch.default));
                exits
            }
            Node::Hours(hours) => vec![
                exit("open", "open", &hours.open),
                exit("closed", "closed", &hours.closed),
            ],
            Node::Transfer(transfer) => [
                ("no_answer", &transfer.no_answer),
                ("busy", &transfer.busy),
                ("failed", &transfer.failed),
            ]
            .into_iter()
            .filter_map(|(name, target)| target.as_deref().map(|t| exit(name, name, t)))
            .collect(),
            Node::Webhook(webhook) => vec![
                exit("success", "success", &webhook.success),
                exit("failure", "failure", &webhook.failure),
            ],
            Node::Queue(_) | Node::Hangup(_) => Vec::new(),
        }
    }
}

impl Menu {
    /// The prompt to play, if exactly one of `say`/`play` is given.
    pub fn prompt(&self) -> Option<Prompt> {
        prompt(&self.say, &self.play, &self.language, &self.voice)
    }
}

impl Gather {
    /// The prompt to play, if exactly one of `say`/`play` is given.
    pub fn prompt(&self) -> Option<Prompt> {
        prompt(&self.say, &self.play, &self.language, &self.voice)
    }
}

fn prompt(
    say: &Option<String>,
    play: &Option<String>,
    language: &str,
    voice: &Option<String>,
) -> Option<Prompt> {
    match (say, play) {
        (Some(text), None) => Some(Prompt::Say {
            text: text.clone(),
            language: language.to_owned(),
            voice: voice.clone(),
        }),
        (None, Some(file)) => Some(Prompt::Play { file: file.clone() }),
        _ => None,
    }
}

/// The test of a branch rule, once checked to be exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Test<'a> {
    Equals(&'a str),
    NotEquals(&'a str),
    StartsWith(&'a str),
    OneOf(&'a [String]),
    Between(&'a str, &'a str),
}

impl Rule {
    /// The tests this rule names; valid rules name exactly one.
    pub fn tests(&self) -> Vec<Test<'_>> {
        let mut tests = Vec::new();
        if let Some(v) = &self.equals {
            tests.push(Test::Equals(v));
        }
        if let Some(v) = &self.not_equals {
            tests.push(Test::NotEquals(v));
        }
        if let Some(v) = &self.starts_with {
            tests.push(Test::StartsWith(v));
        }
        if let Some(v) = &self.one_of {
            tests.push(Test::OneOf(v));
        }
        if let Some([from, to]) = &self.between {
            tests.push(Test::Between(from, to));
        }
        tests
    }

    /// Whether the rule holds for this value of its variable.
    pub fn matches(&self, value: &str) -> bool {
        self.tests().iter().all(|test| match test {
            Test::Equals(v) => value == *v,
            Test::NotEquals(v) => value != *v,
            Test::StartsWith(v) => value.starts_with(v),
            Test::OneOf(vs) => vs.iter().any(|v| v == value),
            Test::Between(from, to) if from <= to => *from <= value && value <= *to,
            Test::Between(from, to) => *from <= value || value <= *to,
        })
    }

    /// A short human form, e.g. `vip_level = gold`.
    pub fn describe(&self) -> String {
        let var = &self.var;
        self.tests()
            .iter()
            .map(|test| match test {
                Test::Equals(v) => format!("{var} = {v}"),
                Test::NotEquals(v) => format!("{var} != {v}"),
                Test::StartsWith(v) => format!("{var} starts with {v}"),
                Test::OneOf(vs) => format!("{var} in [{}]", vs.join(", ")),
                Test::Between(from, to) => format!("{var} in {from}..{to}"),
            })
            .collect::<Vec<_>>()
            .join(" and ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(between: [&str; 2]) -> Rule {
        Rule {
            var: "time".into(),
            equals: None,
            not_equals: None,
            starts_with: None,
            one_of: None,
            between: Some(between.map(str::to_owned)),
            next: "x".into(),
        }
    }

    #[test]
    fn ivr_rule_between_is_inclusive_and_wraps_past_midnight() {
        let day = rule(["09:00", "17:30"]);
        assert!(day.matches("09:00") && day.matches("17:30") && !day.matches("17:31"));
        let night = rule(["22:00", "06:00"]);
        assert!(night.matches("23:15") && night.matches("05:59") && !night.matches("12:00"));
        assert_eq!(night.describe(), "time in 22:00..06:00");
    }
}

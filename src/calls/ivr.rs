//! Runs an IVR flow on a call: the sans-IO [`Execution`] decides, this
//! driver acts — answers, plays `say` texts (rendered by espeak-ng, cached)
//! and `play` files from the prompts folder through the call's media
//! endpoint, feeds key presses and finished prompts back, and wakes the
//! execution on its timers. The path the call takes (nodes and keys) goes to
//! the call's record as it grows.
//!
//! `webhook` nodes POST to the business system ([`super::webhook`]) while
//! the call goes on: the request runs on a task whose result is raced in
//! the call's select loop, so a caller hanging up meanwhile ends the call
//! at once (a webhook before the answer answers the call first). `hours`
//! nodes ask the tenant's calendar in the store ([`crate::calendar`]); an
//! unknown calendar counts as closed.
//!
//! `queue` nodes hand the call to the ACD ([`super::queue`]); a call the
//! queue lets go unserved hears that nobody can take it, and kefu hangs up.
//! `transfer` nodes put the caller through ([`super::transfer`]) and
//! `record` nodes record a voicemail ([`super::voicemail`]).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use jiff::Timestamp;
use kefu_media::driver::endpoint_task::EndpointHandle;
use kefu_media::endpoint::EndpointEvent;
use kefu_media::pcm::SampleRate;
use kefu_media::prompt::{Prompt, PromptCache, Tts};
use kefu_signaling::uas::CallEvent;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use super::bridge::CallerId;
use super::call::Start;
use super::cdr::Cdr;
use super::queue::{self, Outcome, QueueRequest};
use super::session::{Ended, Happening, Session, refuse};
use super::transfer::{TransferRequest, Transferred, transfer};
use super::voicemail::{self, RecordRequest};
use super::webhook;
use super::{CallContext, LegRoutes};
use crate::calendar::{self, Calendar};
use crate::ivr::exec::{Execution, IvrCommand, IvrEvent};
use crate::ivr::{self, model::Flow};
use crate::routing::TimeoutTarget;

/// Prompts for IVR flows: admins' WAV files and the text-to-speech cache.
pub struct Prompts {
    /// Where `play` nodes' files are looked up.
    pub folder: PathBuf,
    /// Renders `say` texts once per voice and text.
    pub tts: Tts,
    /// Decoded prompts, shared between calls.
    pub cache: PromptCache,
}

/// The flow a call runs, as stored.
pub(super) struct FlowRef<'a> {
    pub tenant_id: &'a str,
    pub name: &'a str,
    pub did: &'a str,
}

/// Runs the flow until the call ends.
pub(super) async fn run(
    context: &CallContext,
    start: &Start,
    cdr: &Cdr,
    flow: FlowRef<'_>,
    events: mpsc::UnboundedReceiver<CallEvent>,
    routes: &LegRoutes,
    stopping: watch::Receiver<bool>,
) -> Ended {
    let loaded = match load(context, &flow).await {
        Ok(loaded) => loaded,
        Err(why) => {
            tracing::error!(flow = flow.name, %why, "cannot run the IVR flow");
            let unavailable = "Temporarily Unavailable";
            return refuse(context, start, cdr, 480, unavailable, Some(&why)).await;
        }
    };
    let mut run = FlowRun {
        context,
        cdr,
        routes,
        execution: Execution::new(loaded.flow, variables(start, flow.did, cdr.id())),
        flow: (flow.name.to_owned(), loaded.version),
        tenant_id: flow.tenant_id.to_owned(),
        digits: String::new(),
        playing: false,
        collecting: false,
        webhook: None,
        voicemails: 0,
        did: flow.did.to_owned(),
        earlier_path: Vec::new(),
        recorded: None,
    };
    let mut pending = Some((events, stopping));
    let mut session: Option<Session> = None;
    run.execution.handle(Instant::now(), IvrEvent::Started);
    let ended = 'flow: loop {
        run.collecting = false;
        // Recorded first too: a queue, transfer or voicemail node runs for
        // a long time, and the record shows where the call is meanwhile.
        run.record_path().await;
        while let Some(command) = run.execution.poll_command() {
            if let Some(ended) = run.act(command, start, &mut session, &mut pending).await {
                break 'flow ended;
            }
        }
        run.record_path().await;
        if let Some(ended) = run.finished(&mut session).await {
            break ended;
        }
        let Some(active) = session.as_mut() else {
            break Ended::HungUp("flow_never_answered".to_owned());
        };
        let deadline = run.execution.poll_timeout();
        let timer = async move {
            match deadline {
                Some(at) => tokio::time::sleep_until(at.into()).await,
                None => std::future::pending().await,
            }
        };
        let event = tokio::select! {
            happening = active.next() => match happening {
                Happening::Media(EndpointEvent::Dtmf(key)) => {
                    let key = key.digit.as_char().to_string();
                    if run.collecting {
                        run.digits.push_str(&key);
                        if run.playing {
                            if let Some(endpoint) = active.endpoint() {
                                let _ = endpoint.stop_playing().await;
                            }
                            run.playing = false;
                        }
                    }
                    IvrEvent::Digits(key)
                }
                Happening::Media(EndpointEvent::PlaybackFinished) => {
                    run.playing = false;
                    IvrEvent::PromptFinished
                }
                Happening::MediaStarted | Happening::Other(_) => continue,
                Happening::Ended(ended) => break ended,
            },
            event = webhook_reply(&mut run.webhook) => {
                run.webhook = None;
                event
            }
            () = timer => {
                if run.webhook.take().is_some() {
                    tracing::warn!("webhook did not answer in time; taking the failure exit");
                    metrics::counter!("kefu_ivr_webhooks_total", "outcome" => "failure")
                        .increment(1);
                }
                IvrEvent::Timeout
            }
        };
        run.execution.handle(Instant::now(), event);
    };
    run.record_path().await;
    if let Some(session) = session {
        session.finish(cdr).await;
    }
    ended
}

/// A webhook request in flight on a task of its own, yielding the
/// execution's event; dropping it (the call ended, the flow moved on)
/// cancels the request.
struct WebhookCall(JoinHandle<IvrEvent>);

impl Drop for WebhookCall {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// The reply of the webhook in flight; never, when none is.
async fn webhook_reply(call: &mut Option<WebhookCall>) -> IvrEvent {
    match call {
        Some(WebhookCall(task)) => task.await.unwrap_or(IvrEvent::WebhookFailed),
        None => std::future::pending().await,
    }
}

/// A flow ready to run, with its stored version.
struct Loaded {
    flow: Arc<Flow>,
    version: i64,
}

async fn load(context: &CallContext, flow: &FlowRef<'_>) -> Result<Loaded, String> {
    let stored = context
        .store
        .ivr_flow(flow.tenant_id, flow.name)
        .await
        .map_err(|error| format!("storage failed: {error}"))?
        .ok_or_else(|| format!("no IVR flow named `{}`", flow.name))?;
    let checked = ivr::check(&format!("{}.toml", flow.name), &stored.source);
    match checked.flow {
        Some(parsed) => Ok(Loaded {
            flow: Arc::new(parsed),
            version: stored.version,
        }),
        None => Err(format!(
            "IVR flow `{}` version {} does not validate ({} problems; run `kefu ivr validate`)",
            flow.name,
            stored.version,
            checked.diagnostics.len()
        )),
    }
}

/// The names of the variables every flow starts with.
const STARTING_VARIABLES: [&str; 6] = ["caller", "did", "call_id", "date", "time", "weekday"];

/// The variables the flow set itself (webhook replies, `set` nodes): what
/// the agent sees of a queued call beyond its number and path.
fn set_by_flow(variables: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    variables
        .iter()
        .filter(|(name, _)| !STARTING_VARIABLES.contains(&name.as_str()))
        .map(|(name, value)| (name.clone(), value.clone()))
        .collect()
}

/// The variables a flow starts with ([`STARTING_VARIABLES`]): who calls,
/// which number, the call's id (that of its record), and the date, time
/// and weekday in kefu's time zone (`TZ` or the system's).
fn variables(start: &Start, did: &str, call_id: Option<&str>) -> BTreeMap<String, String> {
    let caller = super::call::caller_number(&start.invite).unwrap_or_default();
    let now = jiff::ZonedDateTime::now();
    BTreeMap::from([
        ("caller".to_owned(), caller),
        ("did".to_owned(), did.to_owned()),
        ("call_id".to_owned(), call_id.unwrap_or_default().to_owned()),
        ("date".to_owned(), now.strftime("%Y-%m-%d").to_string()),
        ("time".to_owned(), now.strftime("%H:%M").to_string()),
        (
            "weekday".to_owned(),
            now.strftime("%a").to_string().to_ascii_lowercase(),
        ),
    ])
}

/// One call's run through its flow.
struct FlowRun<'a> {
    context: &'a CallContext,
    cdr: &'a Cdr,
    /// Where the B-legs of a queued call's offers are routed.
    routes: &'a LegRoutes,
    execution: Execution,
    flow: (String, i64),
    /// Whose calendars `hours` nodes ask.
    tenant_id: String,
    digits: String,
    /// Whether a prompt is playing (its end has not been reported yet).
    playing: bool,
    /// Whether the flow waits for keys (a menu or gather): a key then
    /// interrupts the prompt (barge-in) and counts as entered.
    collecting: bool,
    /// The webhook request in flight, if any.
    webhook: Option<WebhookCall>,
    /// Voicemails recorded so far.
    voicemails: usize,
    /// The number dialled (for a flow switched to).
    did: String,
    /// The path through earlier flows, when a queue sent the call on to
    /// another flow.
    earlier_path: Vec<String>,
    /// The path length and keys last written to the call's record.
    recorded: Option<(usize, usize)>,
}

/// The call's signalling and shutdown channels, until the answer takes them.
type Pending = Option<(mpsc::UnboundedReceiver<CallEvent>, watch::Receiver<bool>)>;

impl FlowRun<'_> {
    /// Carries out one command; returns how the call ended if it did.
    async fn act(
        &mut self,
        command: IvrCommand,
        start: &Start,
        session: &mut Option<Session>,
        pending: &mut Pending,
    ) -> Option<Ended> {
        let now = Instant::now;
        match command {
            IvrCommand::Answer => self.answer(start, session, pending).await.err(),
            IvrCommand::Say {
                text,
                language,
                voice,
            } => {
                if let Err(ended) = self.media(start, session, pending).await {
                    return Some(ended);
                }
                let voice = voice.unwrap_or_else(|| espeak_voice(&language).to_owned());
                self.play(session, Source::Speech { voice, text }).await;
                None
            }
            IvrCommand::Play { file } => {
                if let Err(ended) = self.media(start, session, pending).await {
                    return Some(ended);
                }
                self.play(session, Source::File(file)).await;
                None
            }
            IvrCommand::CollectDigits { .. } => {
                self.collecting = true;
                None
            }
            IvrCommand::Enqueue {
                queue,
                priority,
                skills,
                callback_key,
            } => {
                if let Err(ended) = self.answer(start, session, pending).await {
                    return Some(ended);
                }
                let active = session.take()?;
                let set = set_by_flow(self.execution.vars());
                if !set.is_empty() {
                    self.cdr.variables(&set).await;
                }
                let request = QueueRequest {
                    tenant_id: &self.tenant_id,
                    queue: &queue,
                    priority,
                    skills: &skills,
                    caller: super::call::caller_number(&start.invite),
                    callback_key,
                    caller_id: CallerId::of(self.context, &start.invite),
                };
                match queue::wait(self.context, self.cdr, self.routes, active, request).await {
                    Outcome::Over(ended) => Some(ended),
                    Outcome::Unserved {
                        session: back,
                        why,
                        target: TimeoutTarget::Flow(name),
                    } => {
                        tracing::info!(%queue, %why, flow = %name, "the queue sends the caller to a flow");
                        *session = Some(*back);
                        match self.switch_flow(&name).await {
                            Ok(()) => None,
                            Err(why) => {
                                tracing::error!(flow = %name, %why, "cannot run the queue's timeout flow");
                                let active = session.take()?;
                                let tenant_id = &self.tenant_id;
                                let target = TimeoutTarget::Disconnect;
                                let ended = queue::let_go(
                                    self.context,
                                    self.cdr,
                                    tenant_id,
                                    active,
                                    &target,
                                    "flow_ended",
                                );
                                Some(ended.await)
                            }
                        }
                    }
                    Outcome::Unserved {
                        session: back,
                        why,
                        target,
                    } => {
                        tracing::info!(%queue, %why, "the queue let the caller go");
                        let tenant_id = &self.tenant_id;
                        let ended = queue::let_go(
                            self.context,
                            self.cdr,
                            tenant_id,
                            *back,
                            &target,
                            "flow_ended",
                        );
                        Some(ended.await)
                    }
                }
            }
            IvrCommand::CheckHours { calendar } => {
                let open = self.calendar_open(&calendar).await;
                self.execution
                    .handle(now(), IvrEvent::HoursAnswered { open });
                None
            }
            IvrCommand::Transfer { to, timeout } => {
                if let Err(ended) = self.answer(start, session, pending).await {
                    return Some(ended);
                }
                let active = session.take()?;
                let caller_id = CallerId::of(self.context, &start.invite);
                let request = TransferRequest {
                    tenant_id: &self.tenant_id,
                    to: &to,
                    timeout,
                    caller_id: &caller_id,
                };
                match transfer(self.context, self.cdr, self.routes, active, request).await {
                    Transferred::Over(ended) => Some(ended),
                    Transferred::Failed { session: back, why } => {
                        *session = Some(*back);
                        self.execution.handle(now(), IvrEvent::TransferFailed(why));
                        None
                    }
                }
            }
            IvrCommand::Record { beep, max, silence } => {
                if let Err(ended) = self.answer(start, session, pending).await {
                    return Some(ended);
                }
                let active = session.as_mut()?;
                self.voicemails += 1;
                let request = RecordRequest {
                    tenant_id: &self.tenant_id,
                    beep,
                    max,
                    silence,
                    number: self.voicemails,
                };
                match voicemail::record(self.context, self.cdr, active, request).await {
                    Ok(()) => {
                        self.execution.handle(now(), IvrEvent::RecordingFinished);
                        None
                    }
                    Err(ended) => Some(ended),
                }
            }
            IvrCommand::CallWebhook { url, body, timeout } => {
                if let Err(ended) = self.answer(start, session, pending).await {
                    return Some(ended);
                }
                self.webhook = Some(WebhookCall(tokio::spawn(webhook::event(
                    url, body, timeout,
                ))));
                None
            }
            IvrCommand::Hangup => {
                if let Some(session) = session.as_mut() {
                    self.hang_up(session).await;
                }
                Some(Ended::HungUp("flow_hangup".to_owned()))
            }
        }
    }

    /// Whether the tenant's calendar is open now; an unknown or unreadable
    /// calendar counts as closed (and is logged).
    async fn calendar_open(&self, name: &str) -> bool {
        let stored = match self.context.store.calendar(&self.tenant_id, name).await {
            Ok(Some(stored)) => stored,
            Ok(None) => {
                tracing::warn!(calendar = name, "no such business-hours calendar; closed");
                return false;
            }
            Err(error) => {
                tracing::error!(calendar = name, %error, "cannot read the calendar; closed");
                return false;
            }
        };
        match Calendar::from_spec(&stored.spec) {
            Ok(calendar) => {
                let open = calendar::is_open(&calendar, Timestamp::now());
                tracing::info!(calendar = name, open, "business hours asked");
                open
            }
            Err(why) => {
                tracing::warn!(calendar = name, %why, "the calendar does not check; closed");
                false
            }
        }
    }

    /// Answers the call unless it is answered already (a call in early
    /// media is answered on the same media).
    async fn answer(
        &mut self,
        start: &Start,
        session: &mut Option<Session>,
        pending: &mut Pending,
    ) -> Result<(), Ended> {
        if let Some(active) = session.as_mut() {
            return active.confirm(self.cdr).await;
        }
        let Some((events, stopping)) = pending.take() else {
            return Err(Ended::Shutdown);
        };
        *session = Some(Session::answer(self.context, start, self.cdr, events, stopping).await?);
        Ok(())
    }

    /// Starts media for a prompt: before the flow's `answer` node it plays
    /// as early media (183), after it in the answered call.
    async fn media(
        &mut self,
        start: &Start,
        session: &mut Option<Session>,
        pending: &mut Pending,
    ) -> Result<(), Ended> {
        if session.is_some() {
            return Ok(());
        }
        let Some((events, stopping)) = pending.take() else {
            return Err(Ended::Shutdown);
        };
        *session = Some(Session::early(self.context, start, self.cdr, events, stopping).await?);
        Ok(())
    }

    /// Plays a prompt; one that cannot be had counts as played, so the flow
    /// goes on (the reason is logged).
    async fn play(&mut self, session: &mut Option<Session>, source: Source) {
        let endpoint = session.as_ref().and_then(Session::endpoint);
        if play_prompt(&self.context.prompts, endpoint, source).await {
            self.playing = true;
        } else {
            self.execution
                .handle(Instant::now(), IvrEvent::PromptFinished);
        }
    }

    /// Whether the flow is over: a queue hand-over ends the call once its
    /// message has played.
    async fn finished(&mut self, session: &mut Option<Session>) -> Option<Ended> {
        if !self.execution.is_done() {
            return None;
        }
        let Some(active) = session.as_mut() else {
            return Some(Ended::HungUp("flow_ended".to_owned()));
        };
        while self.playing {
            match active.next().await {
                Happening::Media(EndpointEvent::PlaybackFinished) => self.playing = false,
                Happening::Media(_) | Happening::MediaStarted | Happening::Other(_) => {}
                Happening::Ended(ended) => return Some(ended),
            }
        }
        self.hang_up(active).await;
        Some(Ended::HungUp("flow_ended".to_owned()))
    }

    /// Hangs up; a call still in early media is refused with 480 instead.
    async fn hang_up(&self, session: &mut Session) {
        if session.is_early() {
            self.cdr.caller_setup_finished(480).await;
        }
        session.hang_up().await;
    }

    /// Goes on in another flow of the tenant (a queue's `flow:NAME` timeout
    /// target), keeping the variables; the path recorded so far stays in
    /// front of the new flow's.
    async fn switch_flow(&mut self, name: &str) -> Result<(), String> {
        let flow = FlowRef {
            tenant_id: &self.tenant_id,
            name,
            did: &self.did,
        };
        let loaded = load(self.context, &flow).await?;
        self.earlier_path
            .extend(self.execution.visited().iter().cloned());
        self.earlier_path.push(format!("flow:{name}"));
        let vars = self.execution.vars().clone();
        self.execution = Execution::new(loaded.flow, vars);
        self.flow = (name.to_owned(), loaded.version);
        self.execution.handle(Instant::now(), IvrEvent::Started);
        Ok(())
    }

    /// Writes the path and keys to the call's record when they changed
    /// since the last write.
    async fn record_path(&mut self) {
        let Some(id) = self.cdr.id() else { return };
        let progress = (
            self.earlier_path.len() + self.execution.visited().len(),
            self.digits.len(),
        );
        if self.recorded == Some(progress) {
            return;
        }
        let flow = (self.flow.0.as_str(), self.flow.1);
        let path: Vec<String> = self
            .earlier_path
            .iter()
            .chain(self.execution.visited())
            .cloned()
            .collect();
        let result = self
            .context
            .store
            .record_flow_path(id, flow, &path, &self.digits)
            .await;
        match result {
            Ok(()) => self.recorded = Some(progress),
            Err(error) => tracing::error!(%error, "cannot record the flow path"),
        }
    }
}

/// Where a prompt comes from.
pub(super) enum Source {
    /// `text` spoken by espeak-ng's `voice`.
    Speech { voice: String, text: String },
    /// A WAV file in the prompts folder.
    File(String),
}

/// The prompt at the endpoint's rate (G.711: 8 kHz), rendered or loaded
/// off the async threads.
pub(super) async fn render(prompts: &Arc<Prompts>, source: Source) -> Result<Arc<Prompt>, String> {
    let prompts = prompts.clone();
    let rate = SampleRate::NARROWBAND;
    tokio::task::spawn_blocking(move || match source {
        Source::Speech { voice, text } => prompts
            .tts
            .prompt(&prompts.cache, &voice, &text, rate)
            .map_err(|e| e.to_string()),
        Source::File(file) => {
            let path = prompts.folder.join(&file);
            prompts.cache.load(&path, rate).map_err(|e| e.to_string())
        }
    })
    .await
    .map_err(|e| e.to_string())?
}

/// Renders `source` and queues it on `endpoint`; false (the reason logged)
/// when the prompt cannot be had or there is no media to play it on.
pub(super) async fn play_prompt(
    prompts: &Arc<Prompts>,
    endpoint: Option<&EndpointHandle>,
    source: Source,
) -> bool {
    match (render(prompts, source).await, endpoint) {
        (Ok(prompt), Some(endpoint)) => endpoint.play(prompt.clip()).await.is_ok(),
        (Err(why), _) => {
            tracing::warn!(%why, "prompt skipped");
            false
        }
        (Ok(_), None) => false,
    }
}

/// Plays `source` to the answered caller, then hangs up (`why` is the end
/// reason) — unless the caller hangs up first.
pub(super) async fn say_then_hang_up(
    context: &CallContext,
    cdr: &Cdr,
    mut session: Session,
    source: Source,
    why: &str,
) -> Ended {
    if play_prompt(&context.prompts, session.endpoint(), source).await {
        loop {
            match session.next().await {
                Happening::Media(EndpointEvent::PlaybackFinished) => break,
                Happening::Ended(ended) => {
                    session.finish(cdr).await;
                    return ended;
                }
                _ => {}
            }
        }
    }
    session.hang_up().await;
    session.finish(cdr).await;
    Ended::HungUp(why.to_owned())
}

/// The espeak-ng voice for a flow's `language`: Chinese flows (`zh`, `cmn`)
/// speak Mandarin; any other language code is a voice name itself.
fn espeak_voice(language: &str) -> &str {
    match language {
        "zh" | "zh-CN" | "cmn" => "cmn",
        other => other,
    }
}

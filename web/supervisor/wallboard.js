// kefu supervisor wallboard: live queue tiles, agents and calls from the
// supervisor WebSocket (/api/v1/supervisor/ws, pushed, never polled), the
// last hours' charts from /api/v1/reports/intervals drawn as SVG, and
// Monitor / Whisper / Barge through /api/v1/calls/{id}/supervise, heard in
// this browser (listen.js) or on the supervisor's desk phone.
// Sign-in is the shared one (/common/login.js, sessions API); supervisors
// and admins only. Plain JS modules, no build step, nothing loaded from
// elsewhere.
import { api, logout, session } from "/common/api.js";
import { requireSession } from "/common/login.js";
import { SupervisorPhone } from "/supervisor/listen.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const CHART_HOURS = 8;
const CHART_EVERY_MS = 30_000;

const phone = new SupervisorPhone($("phone"));

const board = {
  queues: new Map(),
  agents: new Map(),
  calls: new Map(),
  skew: 0, // local clock minus server clock, ms
  me: null,
};

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (name === "class") node.className = value;
    else if (name.startsWith("data-")) node.setAttribute(name, value);
    else node[name] = value;
  }
  for (const child of children) node.append(child);
  return node;
}

function serverNow() { return Date.now() - board.skew; }

function duration(ms) {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const two = (n) => String(n).padStart(2, "0");
  return h ? `${h}:${two(m)}:${two(sec)}` : `${m}:${two(sec)}`;
}

function percent(value) { return value == null ? "–" : `${Math.round(value * 100)}%`; }
function slClass(value) { return value == null ? "" : value >= 0.8 ? "sl-ok" : value >= 0.6 ? "sl-warn" : "sl-bad"; }

// ---- queue tiles -------------------------------------------------------

function figure(label, value, cls = "", attrs = {}) {
  return el("div", { class: `figure ${cls}`, ...attrs }, el("b", {}, value), el("span", {}, label));
}

function renderQueues() {
  const root = $("queues");
  root.replaceChildren();
  if (board.queues.size === 0) root.append(el("p", { class: "empty" }, "No queues yet."));
  for (const q of [...board.queues.values()].sort((a, b) => a.name.localeCompare(b.name))) {
    const today = q.today || {};
    const chips = el("div", { class: "chips" });
    for (const state of ["ready", "busy", "wrap_up", "not_ready"]) {
      chips.append(el("span", { class: `chip state-${state}`, "data-agents": state }, `${state.replace("_", " ")} ${q.agents[state] || 0}`));
    }
    const longest = figure("longest wait", duration(q.longest_wait_ms), q.waiting ? "alert" : "", { "data-field": "longest" });
    const tile = el("article", { class: `tile ${q.open ? "" : "closed"}`, "data-queue": q.name },
      el("h3", {}, q.name, el("small", {}, q.open ? `SL target ${q.service_level_secs}s` : "closed")),
      el("div", { class: "figures" },
        figure("waiting", String(q.waiting), q.waiting ? "alert" : "", { "data-field": "waiting" }),
        longest,
        figure("service level", percent(today.service_level), slClass(today.service_level), { "data-field": "sl" }),
        figure("offered", String(today.offered ?? 0), "", { "data-field": "offered" }),
        figure("answered", String(today.answered ?? 0), "", { "data-field": "answered" }),
        figure("abandoned", String(today.abandoned ?? 0), today.abandoned ? "alert" : "", { "data-field": "abandoned" }),
        figure("ASA", today.asa_ms == null ? "–" : duration(today.asa_ms), "", { "data-field": "asa" }),
        figure("logged in", String(q.agents_logged_in), "", { "data-field": "logged_in" })),
      chips);
    tile.dataset.longestAt = String(q.at - q.longest_wait_ms);
    root.append(tile);
  }
  renderChartChoices();
}

// ---- agents ------------------------------------------------------------

const STATE_ORDER = { busy: 0, wrap_up: 1, ready: 2, not_ready: 3, logged_out: 4 };

function renderAgents() {
  const body = $("agents");
  body.replaceChildren();
  const agents = [...board.agents.values()].sort((a, b) =>
    (STATE_ORDER[a.state] ?? 9) - (STATE_ORDER[b.state] ?? 9) || a.extension.localeCompare(b.extension));
  for (const a of agents) {
    const state = el("td", { class: `state state-${a.state}`, "data-field": "state" }, a.state.replace("_", " "));
    if (a.reason) state.append(" ", el("span", { class: "reason" }, `(${a.reason})`));
    const since = el("td", { "data-field": "since" }, a.since ? duration(serverNow() - a.since) : "–");
    if (a.since) since.dataset.since = String(a.since);
    const contacts = a.contacts.map((c) => `${c.channel} ${c.queue}${c.stage === "offered" ? " (ringing)" : ""}`).join(", ");
    body.append(el("tr", { "data-agent": a.extension },
      el("td", {}, `${a.display_name} `, el("span", { class: "reason" }, a.extension)),
      state, since, el("td", {}, contacts || "–")));
  }
}

// ---- calls and supervision ------------------------------------------------

const MODES = ["monitor", "whisper", "barge"];

function renderCalls() {
  const body = $("calls");
  body.replaceChildren();
  $("calls-empty").hidden = board.calls.size > 0;
  for (const c of [...board.calls.values()].sort((a, b) => a.since - b.since)) {
    const agent = c.agent && board.agents.get(c.agent);
    const buttons = el("td");
    const mine = c.supervision && board.me && c.supervision.supervisor === board.me.extension;
    for (const mode of MODES) {
      const active = mine && c.supervision.mode === mode;
      const button = el("button", { type: "button", class: active ? "active" : "", "data-mode": mode,
        disabled: !board.me || !board.me.extension || (c.supervision && !mine) },
      mode[0].toUpperCase() + mode.slice(1));
      button.addEventListener("click", () => supervise(c, mode));
      buttons.append(button);
    }
    if (c.supervision) {
      buttons.append(el("span", { class: "reason", "data-field": "supervision" },
        `${c.supervision.supervisor} ${c.supervision.mode}${c.supervision.stage === "ringing" ? " (ringing)" : ""}`));
    }
    const talking = el("td", { "data-field": "since" }, duration(serverNow() - c.since));
    talking.dataset.since = String(c.since);
    body.append(el("tr", { "data-call": c.id },
      el("td", {}, c.caller || "–"), el("td", {}, c.queue || "–"),
      el("td", {}, agent ? `${agent.display_name} (${c.agent})` : c.agent || "–"), talking, buttons));
  }
}

async function supervise(call, mode) {
  const result = $("supervise-result");
  result.className = "result";
  result.dataset.call = call.id;
  try {
    const joined = call.supervision && call.supervision.supervisor === board.me.extension;
    if (joined) {
      await api.put(`/calls/${encodeURIComponent(call.id)}/supervise`, { mode });
      result.textContent = `Now in ${mode} on the call from ${call.caller}.`;
    } else {
      const here = phone.ready;
      if (here) phone.expect();
      await api.post(`/calls/${encodeURIComponent(call.id)}/supervise`, { supervisor: board.me.extension, mode });
      result.textContent = here ? `Joining to ${mode} in this browser (your phones ring).`
        : `Your phone (${board.me.extension}) rings: answer it to ${mode}.`;
    }
  } catch (error) {
    phone.unexpect();
    result.className = "result error";
    result.textContent = error.message;
  }
}

// ---- time that passes by itself ---------------------------------------------

function tick() {
  const now = serverNow();
  for (const cell of document.querySelectorAll("[data-since]")) cell.textContent = duration(now - Number(cell.dataset.since));
  for (const tile of document.querySelectorAll(".tile")) {
    const q = board.queues.get(tile.dataset.queue);
    const longest = tile.querySelector('[data-field="longest"] b');
    if (q && longest && q.waiting > 0) longest.textContent = duration(now - Number(tile.dataset.longestAt));
  }
}

// ---- charts --------------------------------------------------------------

let report = null;
let chartFetched = 0;
let chartTimer = null;

function renderChartChoices() {
  const select = $("chart-queue");
  const chosen = select.value;
  const names = [...board.queues.keys()].sort();
  const have = [...select.options].slice(1).map((o) => o.value);
  if (have.join() !== names.join()) {
    select.replaceChildren(el("option", { value: "" }, "all queues"), ...names.map((n) => el("option", { value: n }, n)));
    select.value = names.includes(chosen) ? chosen : "";
  }
}

async function loadCharts() {
  chartFetched = Date.now();
  try {
    report = await api.get("/reports/intervals", { hours: CHART_HOURS, interval: "15m" });
    drawCharts();
  } catch (error) {
    $("chart-volume").replaceChildren(svgText(10, 20, `charts unavailable: ${error.message}`));
  }
}

// At most every CHART_EVERY_MS, after a change in today's figures.
function chartsChanged() {
  if (chartTimer) return;
  const wait = Math.max(0, chartFetched + CHART_EVERY_MS - Date.now());
  chartTimer = setTimeout(() => { chartTimer = null; loadCharts(); }, wait);
}

function svgNode(tag, attrs) {
  const node = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
  return node;
}

function svgText(x, y, text, anchor = "start") {
  const node = svgNode("text", { x, y, "text-anchor": anchor });
  node.textContent = text;
  return node;
}

function summed() {
  const chosen = $("chart-queue").value;
  const queues = report.queues.filter((q) => !chosen || q.queue === chosen);
  const count = report.queues.length ? report.queues[0].intervals.length : 0;
  return Array.from({ length: count }, (_, i) => {
    const start = report.from + i * report.interval_ms;
    const sum = { start, offered: 0, answered: 0, abandoned: 0, within: 0 };
    for (const q of queues) {
      const it = q.intervals[i];
      sum.offered += it.offered; sum.answered += it.answered; sum.abandoned += it.abandoned; sum.within += it.answered_within_sl;
    }
    sum.sl = sum.offered ? sum.within / sum.offered : null;
    return sum;
  });
}

const W = 640, H = 160, LEFT = 30, BOTTOM = 18, TOP = 8;

function axes(svg, points, max, label) {
  const plotH = H - BOTTOM - TOP;
  for (let i = 0; i <= 4; i++) {
    const y = TOP + plotH - (plotH * i) / 4;
    svg.append(svgNode("line", { class: "grid", x1: LEFT, x2: W, y1: y, y2: y }));
    svg.append(svgText(LEFT - 4, y + 3, label((max * i) / 4), "end"));
  }
  const step = (W - LEFT) / Math.max(points.length, 1);
  points.forEach((p, i) => {
    const at = new Date(p.start);
    if (at.getMinutes() === 0 && at.getHours() % 2 === 0) {
      svg.append(svgText(LEFT + i * step, H - 4, `${String(at.getHours()).padStart(2, "0")}:00`));
    }
  });
  return { plotH, step };
}

function drawCharts() {
  if (!report) return;
  const points = summed();
  const volume = $("chart-volume");
  volume.replaceChildren();
  const max = Math.max(4, ...points.map((p) => p.offered));
  const { plotH, step } = axes(volume, points, max, (v) => String(Math.round(v)));
  const bar = (cls, i, from, value, width, shift) => {
    if (!value) return;
    const h = (plotH * value) / max;
    const y = TOP + plotH - (plotH * from) / max - h;
    const rect = svgNode("rect", { class: cls, x: LEFT + i * step + shift, y, width, height: h });
    rect.append(svgNode("title", {}));
    rect.firstChild.textContent = `${new Date(points[i].start).toLocaleTimeString()} ${cls} ${value}`;
    volume.append(rect);
  };
  points.forEach((p, i) => {
    const width = Math.max(1, step * 0.4);
    bar("offered", i, 0, p.offered, width, step * 0.08);
    bar("answered", i, 0, p.answered, width, step * 0.52);
    bar("abandoned", i, p.answered, p.abandoned, width, step * 0.52);
  });
  const sl = $("chart-sl");
  sl.replaceChildren();
  const slAxes = axes(sl, points, 1, (v) => `${Math.round(v * 100)}%`);
  const target = TOP + slAxes.plotH * 0.2;
  sl.append(svgNode("line", { class: "target", x1: LEFT, x2: W, y1: target, y2: target }));
  const path = points.map((p, i) => p.sl == null ? null
    : `${LEFT + i * slAxes.step + slAxes.step / 2},${TOP + slAxes.plotH * (1 - p.sl)}`).filter(Boolean);
  if (path.length) sl.append(svgNode("polyline", { class: "sl", points: path.join(" ") }));
  for (const p of points.map((p, i) => ({ ...p, i })).filter((p) => p.sl != null)) {
    sl.append(svgNode("circle", { cx: LEFT + p.i * slAxes.step + slAxes.step / 2, cy: TOP + slAxes.plotH * (1 - p.sl), r: 2.5, fill: "#0969da" }));
  }
}

// ---- the live feed ---------------------------------------------------------

let socket = null;
let retry = 1000;

function setStatus(state, text) {
  const status = $("status");
  status.dataset.state = state;
  status.textContent = text;
}

function apply(frame) {
  if (frame.type === "snapshot") {
    board.skew = Date.now() - frame.at;
    board.queues.clear(); board.agents.clear(); board.calls.clear();
  } else if (frame.type !== "update") {
    if (frame.type === "error") setStatus("offline", frame.detail);
    return;
  }
  let today = false;
  for (const q of frame.queues || []) {
    const before = board.queues.get(q.name);
    today ||= !before || JSON.stringify(before.today) !== JSON.stringify(q.today);
    board.queues.set(q.name, { ...q, at: frame.at });
  }
  for (const a of frame.agents || []) board.agents.set(a.extension, a);
  for (const c of frame.calls || []) board.calls.set(c.id, c);
  for (const name of frame.queues_removed || []) board.queues.delete(name);
  for (const ext of frame.agents_removed || []) board.agents.delete(ext);
  for (const id of frame.calls_ended || []) {
    board.calls.delete(id);
    if ($("supervise-result").dataset.call === id) $("supervise-result").textContent = "";
  }
  if (frame.type === "snapshot" || frame.queues) renderQueues();
  if (frame.type === "snapshot" || frame.agents || frame.agents_removed) renderAgents();
  renderCalls();
  if (frame.type === "snapshot") loadCharts();
  else if (today) chartsChanged();
}

function stop() {
  const ws = socket;
  socket = null;
  if (ws) ws.close();
}

async function connect() {
  stop();
  try {
    // A session that ended answers 401 here: the login form comes back.
    await api.get("/me");
  } catch (error) {
    setStatus("offline", error.message);
    return;
  }
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const tz = Intl.DateTimeFormat().resolvedOptions().timeZone || "UTC";
  const url = `${scheme}://${location.host}/api/v1/supervisor/ws?token=${encodeURIComponent(session.token())}&tz=${encodeURIComponent(tz)}`;
  const ws = new WebSocket(url);
  socket = ws;
  setStatus("connecting", "connecting…");
  ws.onopen = () => { retry = 1000; setStatus("live", "live"); };
  ws.onmessage = (event) => apply(JSON.parse(event.data));
  ws.onclose = () => {
    if (socket !== ws || !session.token()) return;
    setStatus("offline", "reconnecting…");
    setTimeout(() => { if (socket === ws) connect(); }, retry);
    retry = Math.min(retry * 2, 15000);
  };
}

async function startPhone(extension, credentials) {
  if (!extension || !credentials) {
    phone.start(extension);
    return;
  }
  try {
    const me = await api.get("/me");
    phone.start(extension, credentials.password, me.sip_realm);
  } catch (error) {
    console.warn("browser phone:", error);
  }
}

function showBoard(current, credentials) {
  $("login").replaceChildren();
  $("top").hidden = false;
  $("board").hidden = false;
  const user = current.user;
  board.me = { extension: user.extension, name: user.display_name };
  $("me").textContent = `${user.display_name} (${user.extension || "no phone"}), ${user.tenant}`;
  startPhone(user.extension, credentials);
  connect();
}

window.addEventListener("kefu:logged-out", () => {
  stop();
  phone.stop();
  $("top").hidden = true;
  $("board").hidden = true;
});
$("logout").addEventListener("click", () => logout());
$("chart-queue").addEventListener("change", drawCharts);
$("chart-hours").textContent = String(CHART_HOURS);
setInterval(tick, 1000);
// The charts' current interval fills up; draw them again at each boundary.
setInterval(() => { if (report && Date.now() >= report.to) loadCharts(); }, 10_000);
requireSession($("login"), { title: "kefu wallboard", roles: ["supervisor", "admin"], onSession: showBoard });

// kefu chat widget: embed with
//   <script src="https://KEFU/widget/widget.js" data-channel="CHANNEL" async></script>
// Optional: data-identity="JWT" (a verified customer, signed by the site with the
// channel's identity key), data-topic="QUEUE" (one of the channel's queues),
// data-title="Chat with us".
// Plain modern JS, no build step. Speaks chat protocol v1 (docs/chat-protocol.md):
// every message has a client id, is shown as "sending" until the server acks it
// (after storing it), and is sent again after a reconnect until acked. Message
// text is always rendered with textContent, never as HTML.
(() => {
  "use strict";
  const script = document.currentScript;
  if (!script) return;
  const channel = script.dataset.channel;
  if (!channel) {
    console.error("kefu widget: data-channel is missing");
    return;
  }
  const base = new URL(script.src, location.href);
  const wsUrl = `${base.protocol === "https:" ? "wss" : "ws"}://${base.host}/api/v1/chat/ws?channel=${encodeURIComponent(channel)}`;
  const key = `kefu-chat:${base.host}:${channel}`;
  const load = () => {
    try { return JSON.parse(localStorage.getItem(key)) || {}; } catch { return {}; }
  };
  const saved = load();
  const state = {
    token: saved.token || null,
    // Messages live in memory only: a new page asks for everything (last_seq 0),
    // a reconnect of the same page for what came after the last one it has.
    lastSeq: 0,
    pending: saved.pending || [], // [{id, text}] not acked yet
    messages: new Map(),          // seq -> message frame
    conversation: null,
    agentRead: 0,
    socket: null,
    backoff: 500,
    heard: 0,
    open: false,
  };
  const save = () => localStorage.setItem(key, JSON.stringify({
    token: state.token, pending: state.pending.filter((p) => p.upload !== null),
  }));

  // ---- DOM (in a shadow root, so the site's styles do not leak in) ----
  const host = document.createElement("div");
  host.id = "kefu-chat";
  const root = host.attachShadow({ mode: "open" });
  const el = (tag, attrs = {}, text) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const style = el("style");
  style.textContent = `
    :host { all: initial; font: 14px/1.4 system-ui, sans-serif; }
    .launcher { position: fixed; right: 20px; bottom: 20px; z-index: 2147483000; border: 0;
      border-radius: 28px; padding: 14px 20px; background: #1f6feb; color: #fff; cursor: pointer;
      box-shadow: 0 4px 14px rgba(0,0,0,.25); font: inherit; }
    .panel { position: fixed; right: 20px; bottom: 84px; z-index: 2147483000; width: 360px;
      height: 520px; max-height: calc(100vh - 104px); display: none; flex-direction: column;
      background: #fff; color: #1c2128; border-radius: 12px; overflow: hidden;
      box-shadow: 0 8px 30px rgba(0,0,0,.3); }
    .panel.open { display: flex; }
    header { background: #1f6feb; color: #fff; padding: 12px 14px; display: flex; gap: 8px; align-items: center; }
    header .title { flex: 1; font-weight: 600; }
    header button { background: transparent; color: #fff; border: 1px solid rgba(255,255,255,.6);
      border-radius: 6px; cursor: pointer; font: inherit; padding: 2px 8px; }
    .status { font-size: 12px; padding: 6px 14px; background: #f1f5fb; color: #444; min-height: 16px; }
    .log { flex: 1; overflow-y: auto; padding: 10px 12px; display: flex; flex-direction: column; gap: 6px; }
    .msg { max-width: 80%; padding: 7px 10px; border-radius: 10px; white-space: pre-wrap; word-wrap: break-word; }
    .msg.visitor { align-self: flex-end; background: #1f6feb; color: #fff; }
    .msg.agent { align-self: flex-start; background: #eef1f5; }
    .msg.system { align-self: center; background: none; color: #777; font-style: italic; font-size: 12px; }
    .msg .meta { display: block; font-size: 11px; opacity: .75; margin-top: 2px; }
    .typing { font-size: 12px; color: #777; padding: 0 14px; min-height: 16px; }
    form.compose { display: flex; border-top: 1px solid #ddd; }
    form.compose textarea { flex: 1; border: 0; padding: 10px; resize: none; font: inherit; height: 44px; }
    form.compose .attach { background: #eef1f5; color: #1c2128; padding: 0 12px; }
    .msg img { display: block; max-width: 100%; max-height: 240px; border-radius: 6px; margin-top: 4px; }
    .msg a { color: inherit; }
    form.compose button, form.prechat button { border: 0; background: #1f6feb; color: #fff; padding: 0 16px; cursor: pointer; font: inherit; }
    form.prechat { padding: 14px; display: flex; flex-direction: column; gap: 8px; }
    form.prechat input, form.prechat select { padding: 8px; font: inherit; border: 1px solid #ccc; border-radius: 6px; }
    form.prechat button { padding: 10px; border-radius: 6px; }
    @media (max-width: 480px) {
      .panel { right: 0; bottom: 0; width: 100vw; height: 100vh; max-height: 100vh; border-radius: 0; }
      .launcher.hidden { display: none; }
    }`;
  const launcher = el("button", { class: "launcher", type: "button", part: "launcher" }, script.dataset.title || "Chat with us");
  const panel = el("div", { class: "panel", role: "dialog", "aria-label": "Chat" });
  const header = el("header");
  const title = el("span", { class: "title" }, script.dataset.title || "Chat with us");
  const leave = el("button", { type: "button", title: "End the chat" }, "End");
  const close = el("button", { type: "button", title: "Close" }, "×");
  header.append(title, leave, close);
  const status = el("div", { class: "status", "aria-live": "polite" });
  const log = el("div", { class: "log", "aria-live": "polite" });
  const typing = el("div", { class: "typing" });
  const prechat = el("form", { class: "prechat" });
  prechat.append(
    el("input", { name: "name", placeholder: "Your name", maxlength: "100" }),
    el("input", { name: "email", type: "email", placeholder: "Email (optional)", maxlength: "200" }),
    el("button", { type: "submit" }, "Start chat"),
  );
  const compose = el("form", { class: "compose" });
  const input = el("textarea", { placeholder: "Type a message…", maxlength: "4000", "aria-label": "Message" });
  const attach = el("button", { type: "button", class: "attach", title: "Send an image or a PDF", "aria-label": "Attach a file" }, "+");
  const file = el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf", hidden: "" });
  compose.append(attach, file, input, el("button", { type: "submit" }, "Send"));
  panel.append(header, status, prechat, log, typing, compose);
  root.append(style, launcher, panel);

  const showPrechat = () => {
    const fresh = !state.conversation && state.messages.size === 0 && state.pending.length === 0;
    prechat.style.display = fresh ? "" : "none";
    compose.style.display = fresh ? "none" : "";
  };

  // ---- rendering: one element per seq, pending messages at the end ----
  const render = () => {
    log.replaceChildren();
    const seqs = [...state.messages.keys()].sort((a, b) => a - b);
    for (const seq of seqs) {
      const m = state.messages.get(seq);
      const bubble = el("div", { class: `msg ${m.from}` });
      if (m.upload) bubble.append(attachment(m.upload, m.text));
      else bubble.textContent = m.text;
      if (m.from === "agent" && m.name) bubble.prepend(el("strong", {}, `${m.name}: `));
      if (m.from === "visitor") {
        bubble.append(el("span", { class: "meta" }, seq <= state.agentRead ? "Read" : "Sent"));
      }
      log.append(bubble);
    }
    for (const p of state.pending) {
      const bubble = el("div", { class: "msg visitor" }, p.text);
      bubble.append(el("span", { class: "meta" }, p.upload === null ? "Uploading…" : "Sending…"));
      log.append(bubble);
    }
    log.scrollTop = log.scrollHeight;
    showPrechat();
    markRead();
  };

  // A message's file: images inline, other files as a link (the name as text).
  const attachment = (upload, name) => {
    const url = new URL(upload.url, base).href;
    if (upload.content_type.startsWith("image/")) return el("img", { src: url, alt: name });
    return el("a", { href: url, target: "_blank", rel: "noopener noreferrer" }, name);
  };

  const markRead = () => {
    if (!state.open || !state.socket || state.socket.readyState !== 1 || !state.conversation) return;
    if (state.lastSeq > (state.readSent || 0)) {
      state.readSent = state.lastSeq;
      send({ type: "read", seq: state.lastSeq });
    }
  };

  const messageFrame = (p) => (p.upload ? { type: "message", id: p.id, text: p.text, upload: p.upload } : { type: "message", id: p.id, text: p.text });

  const send = (frame) => {
    if (state.socket && state.socket.readyState === 1) state.socket.send(JSON.stringify(frame));
  };
  const clientId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random().toString(36).slice(2)}`);

  // ---- the connection ----
  const connect = () => {
    const socket = new WebSocket(wsUrl);
    state.socket = socket;
    socket.onopen = () => {
      state.backoff = 500;
      state.heard = Date.now();
      status.textContent = "";
      const hello = { type: "hello", v: 1, last_seq: state.lastSeq };
      if (state.token) hello.token = state.token;
      if (script.dataset.identity) hello.identity = script.dataset.identity;
      socket.send(JSON.stringify(hello));
    };
    socket.onmessage = (event) => {
      state.heard = Date.now();
      let frame;
      try { frame = JSON.parse(event.data); } catch { return; }
      receive(frame);
    };
    socket.onclose = () => {
      if (state.socket !== socket) return;
      state.socket = null;
      status.textContent = "Reconnecting…";
      setTimeout(connect, state.backoff);
      state.backoff = Math.min(state.backoff * 2, 15000);
    };
  };

  const receive = (frame) => {
    switch (frame.type) {
      case "welcome":
        state.token = frame.token;
        state.conversation = frame.conversation;
        if (!frame.conversation) {
          // Nothing open: what we remember belongs to a finished chat.
          state.messages.clear();
          state.lastSeq = 0;
        } else {
          state.agentRead = frame.conversation.agent_read_seq || 0;
        }
        save();
        if (!frame.available && !(frame.conversation && frame.conversation.agent)) {
          status.textContent = "Nobody is available right now. Leave a message and we will answer it here.";
        }
        // Messages not acked yet are sent again; the server stores each client id once.
        for (const p of state.pending) if (p.upload !== null) send(messageFrame(p));
        render();
        break;
      case "conversation":
        state.conversation = frame.conversation;
        render();
        break;
      case "message":
        state.messages.set(frame.seq, frame);
        state.lastSeq = Math.max(state.lastSeq, frame.seq);
        state.pending = state.pending.filter((p) => p.id !== frame.id || frame.from !== "visitor");
        save();
        render();
        break;
      case "ack":
        state.pending = state.pending.filter((p) => p.id !== frame.id);
        save();
        render();
        break;
      case "message_left":
        status.textContent = "Your message is kept. An agent will answer here as soon as one is free; you may close this page and come back.";
        break;
      case "waiting":
        status.textContent = `Waiting for an agent — you are number ${frame.position} in line.`;
        break;
      case "agent":
        status.textContent = `You are chatting with ${frame.name}.`;
        title.textContent = frame.name;
        break;
      case "typing":
        typing.textContent = frame.active ? "Agent is typing…" : "";
        break;
      case "read":
        state.agentRead = Math.max(state.agentRead, frame.seq);
        render();
        break;
      case "ended":
        status.textContent = "The chat has ended. Write again to start a new one.";
        state.conversation = null;
        typing.textContent = "";
        break;
      case "error":
        if (frame.code === "rate_limited" && frame.id) {
          setTimeout(() => {
            const p = state.pending.find((q) => q.id === frame.id);
            if (p) send(messageFrame(p));
          }, frame.retry_after_ms || 1000);
        } else {
          status.textContent = frame.detail || "Something went wrong.";
        }
        break;
      default:
        break;
    }
  };

  // Heartbeat: a ping every 20 s; nothing heard for 45 s means the connection is dead.
  setInterval(() => {
    if (!state.socket || state.socket.readyState !== 1) return;
    if (Date.now() - state.heard > 45000) {
      state.socket.close();
      return;
    }
    send({ type: "ping" });
  }, 20000);

  // ---- user actions ----
  launcher.onclick = () => {
    state.open = !state.open;
    panel.classList.toggle("open", state.open);
    launcher.classList.toggle("hidden", state.open);
    if (state.open) { markRead(); input.focus(); }
  };
  close.onclick = () => launcher.onclick();
  leave.onclick = () => send({ type: "leave" });
  prechat.onsubmit = (event) => {
    event.preventDefault();
    const data = new FormData(prechat);
    const start = { type: "start", name: String(data.get("name") || ""), email: String(data.get("email") || "") };
    if (script.dataset.topic) start.topic = script.dataset.topic;
    send(start);
    prechat.style.display = "none";
    compose.style.display = "";
    input.focus();
  };
  let typingSent = false;
  let typingTimer = 0;
  input.oninput = () => {
    if (!typingSent) { send({ type: "typing", active: true }); typingSent = true; }
    clearTimeout(typingTimer);
    typingTimer = setTimeout(() => { send({ type: "typing", active: false }); typingSent = false; }, 2000);
  };
  input.onkeydown = (event) => {
    if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); compose.requestSubmit(); }
  };
  compose.onsubmit = (event) => {
    event.preventDefault();
    const text = input.value;
    if (!text.trim()) return;
    input.value = "";
    const message = { id: clientId(), text };
    state.pending.push(message);
    save();
    render();
    send({ type: "message", id: message.id, text: message.text });
    clearTimeout(typingTimer);
    if (typingSent) { send({ type: "typing", active: false }); typingSent = false; }
  };

  attach.onclick = () => file.click();
  file.onchange = async () => {
    const chosen = file.files[0];
    file.value = "";
    if (!chosen) return;
    if (chosen.size > 5 * 1024 * 1024) { status.textContent = "Files can be at most 5 MB."; return; }
    if (!state.conversation) send({ type: "start" });
    const message = { id: clientId(), text: chosen.name.slice(0, 200) || "file", upload: null };
    state.pending.push(message);
    render();
    try {
      // The conversation must exist before its first file.
      for (let i = 0; i < 50 && !state.conversation; i++) await new Promise((r) => setTimeout(r, 100));
      const response = await fetch(`${base.origin}/api/v1/chat/uploads?channel=${encodeURIComponent(channel)}`, {
        method: "POST", headers: { "x-kefu-visitor": state.token }, body: chosen,
      });
      if (!response.ok) throw new Error(`upload refused (${response.status})`);
      message.upload = (await response.json()).id;
      save();
      render();
      send(messageFrame(message));
    } catch (error) {
      state.pending = state.pending.filter((p) => p !== message);
      render();
      status.textContent = `The file could not be sent: ${error.message}. Images and PDFs up to 5 MB.`;
    }
  };

  const mount = () => { document.body.append(host); showPrechat(); connect(); };
  if (document.body) mount(); else document.addEventListener("DOMContentLoaded", mount);
  window.KefuChat = { open: () => { if (!state.open) launcher.onclick(); } };
})();

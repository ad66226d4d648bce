// The agent workspace around the chats (agent.js): sign-in (extension and
// password → a session token, kept in sessionStorage for this tab), the ACD
// state (ready, not ready with a reason, the wrap-up countdown), the
// softphone (phone.js: rings with the agent's desk phones; answer, hang up,
// mute, hold, DTMF pad, blind transfer, dial), the caller's details, the call's
// disposition code (picked during wrap-up), the customer's earlier contacts,
// and keyboard shortcuts. Text from the server is always set with textContent.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, text) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const session = {
    get token() { return sessionStorage.getItem("kefu-token"); },
    get extension() { return sessionStorage.getItem("kefu-extension"); },
    get password() { return sessionStorage.getItem("kefu-password"); },
    save(token, extension, password) {
      sessionStorage.setItem("kefu-token", token);
      sessionStorage.setItem("kefu-extension", extension);
      sessionStorage.setItem("kefu-password", password);
    },
    clear() { for (const key of ["kefu-token", "kefu-extension", "kefu-password"]) sessionStorage.removeItem(key); },
  };
  const ui = { phone: null, wrapUntil: null, offer: null, callSince: null };
  const problem = async (response) => {
    const body = await response.json().catch(() => ({}));
    return body.detail || body.title || response.statusText;
  };

  // Sign-in.
  $("signin").onsubmit = async (event) => {
    event.preventDefault();
    $("signin-error").textContent = "";
    const username = $("username").value.trim();
    const password = $("password").value;
    const response = await fetch("/api/v1/sessions", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ username, password }),
    });
    if (!response.ok) {
      $("signin-error").textContent = await problem(response);
      return;
    }
    const signed = await response.json();
    session.save(signed.token, (signed.user && signed.user.extension) || username, password);
    $("password").value = "";
    await start();
  };

  const start = async () => {
    let me;
    try {
      me = await kefuAgent.api("GET", "/api/v1/me");
    } catch (error) {
      session.clear();
      $("signin-error").textContent = "please sign in again";
      return;
    }
    $("signin").hidden = true;
    $("who").hidden = false;
    $("me").textContent = `${session.extension}${me.user && me.user.name ? ` · ${me.user.name}` : ""}`;
    kefuAgent.connect();
    try {
      await kefuAgent.api("POST", `/api/v1/agents/${session.extension}/login`);
    } catch (error) {
      $("state").textContent = `error: ${error.message}`;
    }
    ui.phone = new KefuPhone({
      extension: session.extension,
      password: session.password,
      realm: me.sip_realm || location.hostname,
      onChange: renderPhone,
    });
    window.kefuPhone = ui.phone;
    ui.phone.start();
  };

  $("signout").onclick = async () => {
    if (ui.phone) ui.phone.stop();
    ui.phone = null;
    try { await kefuAgent.api("POST", `/api/v1/agents/${session.extension}/logout`); } catch (error) { console.warn(error); }
    try { await kefuAgent.api("DELETE", "/api/v1/sessions/current"); } catch (error) { console.warn(error); }
    kefuAgent.disconnect();
    session.clear();
    $("who").hidden = true;
    $("signin").hidden = false;
    renderPhone({ registration: "off", call: null });
  };

  // The ACD state.
  // Logs in to the ACD first: after a kefu restart the agent is logged out.
  const setReady = async () => {
    try {
      await kefuAgent.api("POST", `/api/v1/agents/${session.extension}/login`);
      await kefuAgent.api("PUT", `/api/v1/agents/${session.extension}/state`, { state: "ready" });
    } catch (error) { $("state").textContent = `error: ${error.message}`; }
  };
  $("ready").onclick = setReady;
  $("wrapup").onclick = setReady;
  $("reason").onchange = () => {
    const reason = $("reason").value;
    if (reason) kefuAgent.send({ type: "state", state: "not_ready", reason });
    $("reason").value = "";
  };
  const showState = (state, reason, wrapUntil) => {
    $("state").textContent = reason ? `${state} (${reason})` : state;
    ui.wrapUntil = state === "wrap_up" && wrapUntil ? wrapUntil : null;
    tick();
  };
  const tick = () => {
    const left = ui.wrapUntil ? Math.max(0, Math.ceil((ui.wrapUntil - Date.now()) / 1000)) : null;
    $("wrapup").hidden = left === null;
    if (left !== null) $("wrapup").textContent = `wrap-up ${left} s · ready now`;
    if (ui.callSince) {
      const seconds = Math.floor((Date.now() - ui.callSince) / 1000);
      $("call-timer").textContent = `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, "0")}`;
    }
  };
  setInterval(tick, 500);

  // The caller's details, from the voice offer and its call record.
  const showCaller = (offer) => {
    const box = $("caller");
    if (!offer) { box.hidden = true; return; }
    const list = el("dl");
    const add = (label, value) => {
      if (value === undefined || value === null || value === "") return;
      list.append(el("dt", {}, label), el("dd", {}, String(value)));
    };
    add("caller", offer.customer || "unknown");
    add("queue", offer.queue);
    if (offer.wait_ms !== undefined) add("waited", `${Math.round(offer.wait_ms / 1000)} s`);
    if (offer.call) {
      add("dialled", offer.call.did);
      add("IVR path", offer.call.flow_path);
      add("digits", offer.call.digits);
      // What the IVR's webhooks (a CRM) and `set` nodes found out.
      for (const [name, value] of Object.entries(offer.call.variables || {})) add(name.replaceAll("_", " "), value);
    }
    box.replaceChildren(el("strong", {}, "Caller"), list);
    if (offer.history && offer.history.length) {
      const earlier = el("ul", { id: "history" });
      for (const past of offer.history) {
        const when = new Date(past.created_at).toLocaleString();
        const who = past.agent ? ` with ${past.agent}` : "";
        const how = past.disposition || past.state;
        earlier.append(el("li", {}, `${when}: ${past.channel} ${past.queue || ""}${who}, ${how}`));
      }
      box.append(el("strong", {}, "Earlier contacts"), earlier);
    }
    if (offer.ended) box.append(dispositionForm(offer.contact));
    box.hidden = false;
  };

  // The call's outcome, picked once it ended.
  const DISPOSITIONS = [["resolved", "Resolved"], ["follow_up", "Follow-up needed"], ["escalated", "Escalated"],
    ["callback", "Call back"], ["wrong_number", "Wrong number"]];
  const dispositionForm = (contact) => {
    const form = el("form", { class: "disposition" });
    const choice = el("select", { id: "disposition", "aria-label": "disposition" });
    choice.append(el("option", { value: "" }, "Disposition…"));
    for (const [code, label] of DISPOSITIONS) choice.append(el("option", { value: code }, label));
    const saved = el("span", { id: "disposition-saved" });
    choice.onchange = async () => {
      if (!choice.value) return;
      try {
        await kefuAgent.api("PUT", `/api/v1/contacts/${encodeURIComponent(contact)}/disposition`, { disposition: choice.value });
        saved.textContent = " saved";
      } catch (error) { saved.textContent = ` ${error.message}`; }
    };
    form.append(choice, saved);
    return form;
  };

  // The call behind a voice offer: number dialled, IVR path and digits.
  // kefu writes call records behind the call, so the link to the contact
  // may land a moment after the offer: asked again a few times.
  const lookUpCall = async (contact, tries = 8) => {
    try {
      const [call] = await kefuAgent.api("GET", `/api/v1/calls?contact=${encodeURIComponent(contact)}&limit=1`);
      if (!ui.offer || ui.offer.contact !== contact) return;
      if (call) {
        ui.offer = { ...ui.offer, call };
        showCaller(ui.offer);
        return;
      }
    } catch (error) { console.warn(error); }
    if (tries > 1) setTimeout(() => lookUpCall(contact, tries - 1), 500);
  };

  // The customer's earlier contacts, beside the call's details.
  const lookUpHistory = async (offer) => {
    if (!offer.customer) return;
    try {
      const contacts = await kefuAgent.api("GET", `/api/v1/contacts?customer=${encodeURIComponent(offer.customer)}&limit=6`);
      const history = contacts.filter((past) => past.id !== offer.contact).slice(0, 5);
      if (ui.offer && ui.offer.contact === offer.contact) {
        ui.offer = { ...ui.offer, history };
        showCaller(ui.offer);
      }
    } catch (error) { console.warn(error); }
  };

  document.addEventListener("kefu-agent", ({ detail: frame }) => {
    switch (frame.type) {
      case "hello":
        if (frame.agent) showState(frame.agent.state, frame.agent.reason, frame.agent.wrap_up_until);
        else showState("logged out");
        break;
      case "state":
        showState(frame.state, frame.reason, frame.wrap_up_until);
        break;
      case "offer":
        if (frame.channel === "voice") {
          ui.offer = frame;
          showCaller(frame);
          lookUpCall(frame.contact);
          lookUpHistory(frame);
        }
        break;
      case "assigned":
        if (frame.channel === "voice" && ui.offer && ui.offer.contact === frame.contact) {
          ui.offer = { ...ui.offer, wait_ms: frame.wait_ms, assigned: true };
          showCaller(ui.offer);
        }
        break;
      case "offer_ended":
        if (ui.offer && ui.offer.contact === frame.contact && !ui.offer.assigned) { ui.offer = null; showCaller(null); }
        break;
      case "contact_ended":
        if (ui.offer && ui.offer.contact === frame.contact) {
          ui.offer = { ...ui.offer, ended: true };
          showCaller(ui.offer);
        }
        break;
      default:
        break;
    }
  });

  // The softphone.
  const renderPhone = (state) => {
    const registration = $("registration");
    registration.textContent = {
      off: "softphone off",
      registering: "softphone connecting…",
      registered: `softphone ready (${session.extension})`,
      failed: state.error || "softphone failed",
    }[state.registration] || state.registration;
    registration.className = `registration ${state.registration}`;
    const call = state.call;
    $("call").hidden = !call;
    $("dial").hidden = Boolean(call) || state.registration !== "registered";
    if (!call) { ui.callSince = null; return; }
    $("call").className = `call ${call.status}`;
    $("call-peer").textContent = call.peer;
    $("call-status").textContent = call.held ? "on hold"
      : { ringing: "is calling…", connecting: "connecting…", talking: "" }[call.status];
    ui.callSince = call.status === "talking" ? call.since : null;
    $("call-timer").textContent = "";
    $("answer").hidden = call.status !== "ringing";
    $("mute").hidden = call.status !== "talking";
    $("mute").textContent = call.muted ? "Unmute" : "Mute";
    $("hold").hidden = call.status !== "talking";
    $("hold").textContent = call.held ? "Resume" : "Hold";
    $("pad").hidden = call.status !== "talking";
    $("transfer-to").parentElement.hidden = call.status !== "talking";
  };
  for (const key of ["1", "2", "3", "4", "5", "6", "7", "8", "9", "*", "0", "#"]) {
    const button = el("button", { type: "button", "data-key": key }, key);
    button.onclick = () => ui.phone && ui.phone.dtmf(key);
    $("pad").append(button);
  }
  $("answer").onclick = () => ui.phone && ui.phone.answer();
  $("hangup").onclick = () => ui.phone && ui.phone.hangup();
  $("mute").onclick = () => ui.phone && ui.phone.setMuted(!ui.phone.state.call.muted);
  $("hold").onclick = () => ui.phone && ui.phone.setHeld(!ui.phone.state.call.held);
  $("transfer").onclick = () => {
    const target = $("transfer-to").value.trim();
    if (target && ui.phone) ui.phone.transfer(target);
    $("transfer-to").value = "";
  };
  $("dial").onsubmit = (event) => {
    event.preventDefault();
    const number = $("dial-to").value.trim();
    if (number && ui.phone) ui.phone.call(number);
  };

  document.addEventListener("keydown", (event) => {
    if (!event.altKey || !ui.phone) return;
    const action = {
      a: () => ui.phone.answer(),
      h: () => ui.phone.hangup(),
      m: () => ui.phone.state.call && ui.phone.setMuted(!ui.phone.state.call.muted),
      o: () => ui.phone.state.call && ui.phone.setHeld(!ui.phone.state.call.held),
      r: setReady,
      n: () => $("reason").focus(),
      t: () => $("transfer-to").focus(),
    }[event.key.toLowerCase()];
    if (action) { event.preventDefault(); action(); }
  });

  renderPhone({ registration: "off", call: null });
  if (session.token) start();
})();

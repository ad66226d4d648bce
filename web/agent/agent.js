// The workspace's agent WebSocket (/api/v1/agent/ws) and its chats: offers
// (accept or decline), several chats at once, messages (a whole-text
// "/shortcut" becomes the tenant's canned response), internal notes (never
// shown to the visitor), transfer, end with a disposition. Every frame is
// also dispatched as a `kefu-agent` DOM event for the rest of the workspace
// (workspace.js: sign-in, state, softphone), which calls `kefuAgent.connect()`
// once signed in. Message text is always rendered with textContent, never as
// HTML.
(() => {
  "use strict";
  const $ = (id) => document.getElementById(id);
  const el = (tag, attrs = {}, text) => {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    return node;
  };
  const state = { socket: null, extension: null, offers: new Map(), chats: new Map(), current: null, backoff: 500 };
  const token = () => sessionStorage.getItem("kefu-token") || "";

  const api = async (method, path, body) => {
    const response = await fetch(path, {
      method,
      headers: { authorization: `Bearer ${token()}`, "content-type": "application/json" },
      body: body ? JSON.stringify(body) : undefined,
    });
    if (!response.ok) throw new Error((await response.json().catch(() => ({}))).detail || response.statusText);
    return response.status === 204 ? null : response.json();
  };
  const send = (frame) => state.socket && state.socket.readyState === 1 && state.socket.send(JSON.stringify(frame));
  const clientId = () => (crypto.randomUUID ? crypto.randomUUID() : `${Date.now()}-${Math.random()}`);

  const chat = (contact) => {
    if (!state.chats.has(contact)) {
      state.chats.set(contact, { contact, messages: new Map(), pending: [], visitor: "", typing: false, unread: 0, ended: false });
    }
    return state.chats.get(contact);
  };

  const renderList = () => {
    const offers = $("offers");
    offers.replaceChildren();
    // Voice offers ring the softphone (workspace.js), not here.
    for (const offer of state.offers.values()) {
      if (offer.channel === "voice") continue;
      const item = el("div", { class: "item" }, `${offer.channel} · ${offer.queue} `);
      const accept = el("button", { type: "button" }, "Accept");
      accept.onclick = () => send({ type: "accept", contact: offer.contact });
      const decline = el("button", { type: "button" }, "Decline");
      decline.onclick = () => send({ type: "decline", contact: offer.contact });
      item.append(accept, decline);
      offers.append(item);
    }
    const chats = $("chats");
    chats.replaceChildren();
    for (const c of state.chats.values()) {
      const item = el("div", { class: `item${c.contact === state.current ? " active" : ""}` }, c.visitor || "Visitor");
      if (c.ended) item.append(el("span", {}, " (ended)"));
      if (c.unread) item.append(el("span", { class: "unread" }, ` (${c.unread})`));
      item.onclick = () => { state.current = c.contact; c.unread = 0; renderList(); renderChat(); };
      chats.append(item);
    }
  };

  // The chat pane: built when a chat is selected; messages re-render in place,
  // so what the agent is typing is kept.
  const view = { contact: null, log: null, typing: null };
  const renderChat = () => {
    const c = state.chats.get(state.current);
    if (!c) {
      $("chat").replaceChildren(el("p", { class: "empty" }, "No chat selected."));
      view.contact = null;
      return;
    }
    if (view.contact !== c.contact) buildPane(c);
    view.log.replaceChildren();
    for (const seq of [...c.messages.keys()].sort((a, b) => a - b)) {
      const m = c.messages.get(seq);
      const kind = m.internal ? "note" : m.from;
      const bubble = el("div", { class: `msg ${kind}` }, m.internal ? `Note: ${m.text}` : m.text);
      if (m.upload) {
        // Images inline, other files as a link; the name stays text.
        bubble.textContent = "";
        if (m.upload.content_type.startsWith("image/")) bubble.append(el("img", { src: m.upload.url, alt: m.text }));
        else bubble.append(el("a", { href: m.upload.url, target: "_blank", rel: "noopener noreferrer" }, m.text));
      }
      view.log.append(bubble);
    }
    for (const p of c.pending) view.log.append(el("div", { class: "msg agent" }, `${p.text} (sending…)`));
    view.typing.textContent = c.typing ? "Visitor is typing…" : "";
    view.log.scrollTop = view.log.scrollHeight;
    const last = Math.max(0, ...c.messages.keys());
    if (last > (c.readSent || 0) && !c.ended) {
      c.readSent = last;
      send({ type: "chat_read", contact: c.contact, seq: last });
    }
  };

  const buildPane = (c) => {
    view.contact = c.contact;
    view.log = el("div", { class: "log" });
    view.typing = el("div", { class: "typing" });
    const form = el("form", { class: "compose" });
    const text = el("textarea", { placeholder: "Message, or /shortcut", maxlength: "4000" });
    const note = el("label", {}, " note");
    const noteBox = el("input", { type: "checkbox" });
    note.prepend(noteBox);
    const disposition = el("input", { placeholder: "disposition", maxlength: "64", size: "10" });
    const end = el("button", { type: "button" }, "End chat");
    const attach = el("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp,application/pdf", title: "Send an image or a PDF" });
    attach.onchange = async () => {
      const chosen = attach.files[0];
      attach.value = "";
      if (!chosen || c.ended) return;
      try {
        const response = await fetch(`/api/v1/chat/uploads?contact=${encodeURIComponent(c.contact)}`, {
          method: "POST", headers: { authorization: `Bearer ${token()}` }, body: chosen,
        });
        if (!response.ok) throw new Error((await response.json().catch(() => ({}))).detail || response.statusText);
        const uploaded = await response.json();
        const id = clientId();
        c.pending.push({ id, text: chosen.name });
        send({ type: "chat_send", contact: c.contact, id, text: chosen.name.slice(0, 200) || "file", upload: uploaded.id });
        renderChat();
      } catch (error) { $("state").textContent = `error: ${error.message}`; }
    };
    end.onclick = () => send({ type: "chat_end", contact: c.contact, disposition: disposition.value.trim() || undefined });
    const queue = el("input", { placeholder: "queue", maxlength: "64", size: "8" });
    const toAgent = el("input", { placeholder: "agent ext", maxlength: "64", size: "6" });
    const transfer = el("button", { type: "button" }, "Transfer");
    transfer.onclick = () => (queue.value.trim() || toAgent.value.trim()) && send({
      type: "chat_transfer", contact: c.contact,
      queue: queue.value.trim() || undefined, agent: toAgent.value.trim() || undefined,
    });
    form.append(text, note, el("button", { type: "submit" }, "Send"), attach, queue, toAgent, transfer, disposition, end);
    form.onsubmit = (event) => {
      event.preventDefault();
      if (!text.value.trim() || c.ended) return;
      const message = { id: clientId(), text: text.value, note: noteBox.checked };
      c.pending.push(message);
      text.value = "";
      send({ type: message.note ? "chat_note" : "chat_send", contact: c.contact, id: message.id, text: message.text });
      send({ type: "chat_typing", contact: c.contact, active: false });
      renderChat();
    };
    text.onkeydown = (event) => {
      if (event.key === "Enter" && !event.shiftKey) { event.preventDefault(); form.requestSubmit(); }
    };
    text.oninput = () => send({ type: "chat_typing", contact: c.contact, active: text.value.length > 0 });
    $("chat").replaceChildren(view.log, view.typing, form);
    text.focus();
  };

  const receive = (frame) => {
    switch (frame.type) {
      case "hello":
        state.extension = frame.agent && frame.agent.extension;
        {
          const mine = new Set();
          for (const contact of (frame.agent && frame.agent.contacts) || []) {
            mine.add(contact.id);
            if (contact.channel === "chat" && contact.stage === "assigned") send({ type: "chat_history", contact: contact.id });
          }
          // Chats the ACD no longer gives this agent (e.g. kefu restarted) are over here.
          for (const c of state.chats.values()) if (!mine.has(c.contact)) c.ended = true;
          state.offers.clear();
          renderList();
        }
        break;
      case "offer":
        state.offers.set(frame.contact, frame);
        renderList();
        break;
      case "offer_ended":
        state.offers.delete(frame.contact);
        renderList();
        break;
      case "assigned":
        state.offers.delete(frame.contact);
        if (frame.channel === "chat") { chat(frame.contact); state.current = state.current || frame.contact; }
        renderList();
        break;
      case "chat_joined":
        send({ type: "chat_history", contact: frame.contact });
        break;
      case "chat_history": {
        const c = chat(frame.contact);
        c.conversation = frame.conversation.id;
        c.ended = frame.conversation.state !== "open";
        // A conversation routed again (after a restart) comes as a new contact: one chat.
        for (const other of [...state.chats.values()]) {
          if (other !== c && other.conversation === c.conversation) {
            state.chats.delete(other.contact);
            if (state.current === other.contact) state.current = c.contact;
          }
        }
        c.visitor = frame.conversation.visitor_name || frame.conversation.customer_id || "Visitor";
        for (const m of frame.messages) c.messages.set(m.seq, m);
        state.current = state.current || frame.contact;
        renderList();
        if (state.current === frame.contact) renderChat();
        break;
      }
      case "chat_message": {
        const c = chat(frame.contact);
        c.messages.set(frame.message.seq, frame.message);
        c.pending = c.pending.filter((p) => p.id !== frame.message.id || frame.message.from !== "agent");
        if (state.current !== frame.contact) c.unread += 1;
        renderList();
        if (state.current === frame.contact) renderChat();
        break;
      }
      case "chat_ack": {
        const c = chat(frame.contact);
        c.pending = c.pending.filter((p) => p.id !== frame.id);
        if (state.current === frame.contact) renderChat();
        break;
      }
      case "chat_typing": {
        const c = chat(frame.contact);
        c.typing = frame.active;
        if (state.current === frame.contact) renderChat();
        break;
      }
      case "chat_transferred":
      case "chat_ended":
      case "contact_ended": {
        const c = state.chats.get(frame.contact);
        if (c) { c.ended = true; renderList(); }
        break;
      }
      case "error":
        $("state").textContent = `error: ${frame.detail}`;
        break;
      default:
        break;
    }
  };

  const connect = () => {
    if (state.socket) { const old = state.socket; state.socket = null; old.close(); }
    if (!token()) return;
    const scheme = location.protocol === "https:" ? "wss" : "ws";
    const socket = new WebSocket(`${scheme}://${location.host}/api/v1/agent/ws?token=${encodeURIComponent(token())}`);
    state.socket = socket;
    socket.onopen = () => { state.backoff = 500; };
    socket.onmessage = (event) => {
      let frame;
      try { frame = JSON.parse(event.data); } catch (error) { console.error(error); return; }
      try { receive(frame); } catch (error) { console.error(error); }
      document.dispatchEvent(new CustomEvent("kefu-agent", { detail: frame }));
    };
    socket.onclose = () => {
      if (state.socket !== socket) return;
      $("state").textContent = "reconnecting…";
      setTimeout(connect, state.backoff);
      state.backoff = Math.min(state.backoff * 2, 15000);
    };
  };
  const disconnect = () => {
    const socket = state.socket;
    state.socket = null;
    if (socket) socket.close();
    state.chats.clear();
    state.offers.clear();
    state.current = null;
    renderList();
    renderChat();
  };

  window.kefuAgent = { api, send, connect, disconnect };
})();

// The supervisor's browser as their phone: right after a login, the page
// registers the supervisor's extension over kefu's SIP WebSocket (/sip) with
// the workspace's softphone (web/agent/phone.js, JsSIP), beside any desk
// phone of theirs. When the supervisor presses Monitor, Whisper or Barge,
// kefu rings every phone of theirs; this page answers at once when it asked
// within the last ANSWER_WITHIN_MS, so the supervisor hears the call here
// (and speaks in whisper and barge through the microphone). Other calls to
// the extension ring with Answer and Decline. The password is only kept in
// memory: after a reload the board works, and Monitor rings the desk phone,
// until the supervisor logs in again.
//
//   import { SupervisorPhone } from "/supervisor/listen.js";
//   const phone = new SupervisorPhone(document.getElementById("phone"));
//   phone.start(extension, password, realm);
//   phone.expect();  // before POST /calls/{id}/supervise
import { logout } from "/common/api.js";

const ANSWER_WITHIN_MS = 30_000;

function button(text, onClick) {
  const node = document.createElement("button");
  node.type = "button";
  node.textContent = text;
  node.addEventListener("click", onClick);
  return node;
}

export class SupervisorPhone {
  /** `root`: where the phone's state and buttons are shown. */
  constructor(root) {
    this.root = root;
    this.phone = null;
    this.expecting = 0;
    this.render(null);
  }

  /** Registers `extension`; without a password, says how to get one. */
  start(extension, password, realm) {
    this.stop();
    if (!extension || !password || !window.KefuPhone) {
      this.render(null, extension ? "log in again to listen in this browser" : null);
      return;
    }
    this.phone = new window.KefuPhone({ extension, password, realm, onChange: (state) => this.changed(state) });
    // Tests measure what the page hears through window.kefuPhone.
    window.kefuPhone = this.phone;
    this.phone.start();
  }

  stop() {
    if (this.phone) this.phone.stop();
    this.phone = null;
    this.render(null);
  }

  /** Whether this browser is registered and can take a supervisor's call. */
  get ready() {
    return Boolean(this.phone && this.phone.state.registration === "registered");
  }

  /** The next ring, within ANSWER_WITHIN_MS, is the supervised call. */
  expect() {
    this.expecting = Date.now();
  }

  /** The supervised call could not be rung after all. */
  unexpect() {
    this.expecting = 0;
  }

  changed(state) {
    const call = state.call;
    if (call && call.status === "ringing" && Date.now() - this.expecting < ANSWER_WITHIN_MS) {
      this.expecting = 0;
      this.phone.answer();
      return;
    }
    this.render(state);
  }

  render(state, hint) {
    const root = this.root;
    root.replaceChildren();
    const label = document.createElement("span");
    label.className = "phone-state";
    const call = state && state.call;
    if (!this.phone) {
      root.dataset.state = "off";
      label.textContent = hint ? `browser phone off: ${hint}` : "browser phone off";
      root.append(label);
      if (hint) root.append(button("Log in", () => logout()));
      return;
    }
    if (call) {
      root.dataset.state = call.status;
      label.textContent = call.status === "ringing" ? `call from ${call.peer}`
        : call.status === "talking" ? `on the call${call.muted ? " (muted)" : ""}` : "connecting…";
      root.append(label);
      if (call.status === "ringing") root.append(button("Answer", () => this.phone.answer()));
      if (call.status === "talking") root.append(button(call.muted ? "Unmute" : "Mute", () => this.phone.setMuted(!call.muted)));
      root.append(button(call.status === "ringing" ? "Decline" : "Leave", () => this.phone.hangup()));
      return;
    }
    const registration = state ? state.registration : "registering";
    root.dataset.state = registration;
    label.textContent = registration === "registered" ? "browser phone ready"
      : registration === "failed" ? `browser phone: ${state.error}` : "browser phone connecting…";
    root.append(label);
  }
}

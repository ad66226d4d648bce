// The workspace's softphone: the browser registers as the agent's extension
// over kefu's SIP WebSocket (/sip, RFC 7118) with JsSIP (web/vendor), so it
// rings with the agent's desk phones (first to answer wins). kefu's WebRTC
// gateway terminates ICE and DTLS-SRTP; the call is then bridged, recorded
// and supervised like any phone's. One call at a time.
//
//   const phone = new KefuPhone({ extension, password, realm, onChange });
//   phone.start(); phone.answer(); phone.hangup(); phone.setMuted(true); phone.setHeld(true);
//   phone.dtmf("5"); phone.transfer("1002"); phone.call("4001"); phone.stop();
//
// onChange(state) gets { registration: "off"|"registering"|"registered"|"failed",
// call: null | { direction, status: "ringing"|"connecting"|"talking", peer,
// muted, held, since }, error }.
"use strict";

(() => {
  const AUDIO = { audio: { echoCancellation: true, noiseSuppression: true }, video: false };

  /** A ring tone made with WebAudio (no audio file to ship). */
  class Ringer {
    start() {
      if (this.timer) return;
      this.context = this.context || new AudioContext();
      const burst = () => {
        const now = this.context.currentTime;
        const gain = this.context.createGain();
        gain.gain.setValueAtTime(0.12, now);
        gain.gain.setValueAtTime(0, now + 1.2);
        gain.connect(this.context.destination);
        for (const hz of [440, 480]) {
          const tone = this.context.createOscillator();
          tone.frequency.value = hz;
          tone.connect(gain);
          tone.start(now);
          tone.stop(now + 1.2);
        }
      };
      burst();
      this.timer = setInterval(burst, 4000);
    }

    stop() {
      clearInterval(this.timer);
      this.timer = null;
    }
  }

  class KefuPhone {
    constructor({ extension, password, realm, onChange }) {
      this.extension = extension;
      this.password = password;
      this.realm = realm;
      this.onChange = onChange || (() => {});
      this.registration = "off";
      this.session = null;
      this.call_ = null;
      this.error = null;
      this.ringer = new Ringer();
      this.audio = document.createElement("audio");
      this.audio.autoplay = true;
      document.body.appendChild(this.audio);
      /** The far end's audio, while a call is up (for meters and tests). */
      this.remoteStream = null;
    }

    start() {
      const scheme = location.protocol === "https:" ? "wss" : "ws";
      const socket = new JsSIP.WebSocketInterface(`${scheme}://${location.host}/sip`);
      this.ua = new JsSIP.UA({
        sockets: [socket],
        uri: `sip:${this.extension}@${this.realm}`,
        authorization_user: this.extension,
        password: this.password,
        display_name: this.extension,
        register: true,
        session_timers: false,
        user_agent: "kefu workspace",
      });
      this.ua.on("registered", () => this.set({ registration: "registered", error: null }));
      this.ua.on("unregistered", () => this.set({ registration: "off" }));
      this.ua.on("registrationFailed", (e) => this.set({ registration: "failed", error: `registration failed: ${e.cause}` }));
      this.ua.on("newRTCSession", ({ session, originator }) => this.adopt(session, originator));
      this.set({ registration: "registering" });
      this.ua.start();
    }

    stop() {
      if (this.ua) this.ua.stop();
      this.ringer.stop();
    }

    /** Takes a new call; a second one while busy is refused with 486. */
    adopt(session, originator) {
      if (this.session) {
        if (originator === "remote") session.terminate({ status_code: 486, reason_phrase: "Busy Here" });
        return;
      }
      this.session = session;
      const incoming = originator === "remote";
      const peer = incoming ? (session.remote_identity.display_name || session.remote_identity.uri.user) : session.remote_identity.uri.user;
      this.call_ = { direction: incoming ? "in" : "out", status: incoming ? "ringing" : "connecting", peer, muted: false, held: false, since: Date.now() };
      if (incoming) this.ringer.start();
      const attach = (connection) => {
        connection.addEventListener("track", (event) => {
          this.remoteStream = event.streams[0] || new MediaStream([event.track]);
          this.audio.srcObject = this.remoteStream;
        });
      };
      if (session.connection) attach(session.connection);
      session.on("peerconnection", ({ peerconnection }) => attach(peerconnection));
      session.on("hold", ({ originator }) => {
        if (originator === "local") this.set({ call_: { ...this.call_, held: true } });
      });
      session.on("unhold", ({ originator }) => {
        if (originator === "local") this.set({ call_: { ...this.call_, held: false } });
      });
      session.on("accepted", () => {
        this.ringer.stop();
        this.call_ = { ...this.call_, status: "talking", since: Date.now() };
        this.set({});
      });
      const ended = (why) => {
        this.ringer.stop();
        this.session = null;
        this.call_ = null;
        this.remoteStream = null;
        this.audio.srcObject = null;
        this.set({ error: why });
      };
      session.on("ended", () => ended(null));
      session.on("failed", (e) => ended(e.originator === "local" || e.cause === "Canceled" ? null : `call failed: ${e.cause}`));
      this.set({});
    }

    answer() {
      if (!this.session || this.call_.status !== "ringing") return;
      this.ringer.stop();
      this.call_ = { ...this.call_, status: "connecting" };
      this.session.answer({ mediaConstraints: AUDIO, pcConfig: { iceServers: [] } });
      this.set({});
    }

    hangup() {
      if (this.session) this.session.terminate();
    }

    /** Puts the call on hold (the other party hears music) or takes it off. */
    setHeld(held) {
      if (!this.session || this.call_.status !== "talking") return;
      if (held) this.session.hold();
      else this.session.unhold();
    }

    setMuted(muted) {
      if (!this.session || this.call_.status !== "talking") return;
      if (muted) this.session.mute({ audio: true });
      else this.session.unmute({ audio: true });
      this.call_ = { ...this.call_, muted };
      this.set({});
    }

    /** A key press, sent as an RFC 4733 telephone-event in the media. */
    dtmf(key) {
      if (this.session && this.call_.status === "talking") this.session.sendDTMF(key, { transportType: "RFC2833" });
    }

    /** Blind transfer of the call to an extension or number (SIP REFER). */
    transfer(target) {
      if (this.session && this.call_.status === "talking") this.session.refer(`sip:${target}@${this.realm}`);
    }

    /** Places a call (an extension, a number, 4001 for the echo test). */
    call(number) {
      if (this.session || !this.ua) return;
      this.ua.call(`sip:${number}@${this.realm}`, { mediaConstraints: AUDIO, pcConfig: { iceServers: [] } });
    }

    get state() {
      return { registration: this.registration, call: this.call_, error: this.error };
    }

    set(changes) {
      Object.assign(this, changes);
      this.onChange(this.state);
    }
  }

  window.KefuPhone = KefuPhone;
})();

// The workspace's softphone in Firefox (Debian's firefox-esr), driven by
// puppeteer-core over WebDriver BiDi. Driven by tests/calls_firefox.rs, which
// starts kefu and reads the JSON lines this prints.
//
//   node phone_firefox_e2e.mjs echo BASE_URL HZ ARTIFACT_DIR
//     JsSIP (web/agent/phone.js) registers as 1002 over /sip, calls 4001 (the
//     echo test) and measures both what it sends (Firefox's fake microphone,
//     a sine of HZ: pref media.navigator.audio.fake_frequency) and what comes
//     back; prints { echo: { sent, heard } } and hangs up.
//   node phone_firefox_e2e.mjs dtmf BASE_URL HZ ARTIFACT_DIR
//     The same softphone calls 4000 (the demo IVR), presses 2 on its keypad
//     (RFC 4733 from Firefox's RTCDTMFSender) once it hears the menu's
//     prompt (or after 20 s), prints { dtmf, prompt: what it heard } and
//     hangs up 2 s later.
//   node phone_firefox_e2e.mjs keypad BASE_URL HZ ARTIFACT_DIR
//     Agent 1003 signs in (prints { registered: true }), answers the call that
//     rings (the test's caller dials 1003), presses 5 on the workspace's
//     keypad, prints { pressed: "5" } and hangs up.
//   node phone_firefox_e2e.mjs workspace BASE_URL HZ ARTIFACT_DIR
//     Agent 1003 signs in to the workspace (/agent/), the page shows the
//     softphone registered, and the agent goes ready: prints { workspace:
//     "<that text>", ready: true }. Then a caller (support, from the test)
//     rings; the agent answers, measures what it hears and prints { heard },
//     holds the caller for 4 s (a re-INVITE from Firefox) and resumes, hangs
//     up and prints { wrap_up: "<the countdown>" }. The fake microphone plays
//     HZ for the caller to hear.
//
// Progress goes to stderr (kept as ARTIFACT_DIR/browser.log by the test),
// screenshots to ARTIFACT_DIR. The script exits non-zero on any failure.
import puppeteer from "puppeteer-core";
import path from "node:path";
import fs from "node:fs";

const [mode, base, hz, artifacts] = process.argv.slice(2);
fs.mkdirSync(artifacts, { recursive: true });
const step = (what) => console.error(`phone_firefox_e2e: ${what}`);
const say = (value) => console.log(JSON.stringify(value));
const TIMEOUT = 20000;
const dummy = "http://127.0.0.1:9/"; // the discard port: nothing answers

const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath: "/usr/bin/firefox-esr",
  headless: true,
  env: { ...process.env, MOZ_REMOTE_SETTINGS_DEVTOOLS: "1" },
  extraPrefsFirefox: {
    // A fake microphone (a sine of `hz`) granted without a prompt.
    "media.navigator.streams.fake": true,
    "media.navigator.permission.disabled": true,
    "media.navigator.audio.fake_frequency": Number(hz),
    // ICE on loopback, where kefu's media address is: Firefox gathers
    // 127.0.0.1 only with `loopback`, and gathers anything beyond the default
    // route's address (and without mDNS names) only once the page holds a
    // microphone permission, which `permission.disabled` does not record. A
    // real agent grants the microphone; kefu (ICE-lite) answers whatever
    // address the checks come from.
    "media.peerconnection.ice.loopback": true,
    "permissions.default.microphone": 1,
    // The far end's audio plays, and WebAudio runs, without a user gesture.
    "media.autoplay.default": 0,
    "media.autoplay.blocking_policy": 0,
    // No sound server here: audio runs on a clock of its own, not a device.
    "media.cubeb.force_mock_context": true,
    // Nothing reaches for the internet (the tests run on loopback only);
    // puppeteer already turns off updates, telemetry and safe browsing.
    "network.captive-portal-service.enabled": false,
    "network.connectivity-service.enabled": false,
    "network.dns.disablePrefetch": true,
    "network.prefetch-next": false,
    "browser.safebrowsing.provider.mozilla.updateURL": "",
    // Remote settings: release builds honour another server only with
    // MOZ_REMOTE_SETTINGS_DEVTOOLS set, and skip them for this dummy one.
    "services.settings.server": "data:,#remote-settings-dummy/v1",
    "extensions.blocklist.enabled": false,
    "browser.region.network.url": "",
    "browser.region.update.enabled": false,
    "toolkit.telemetry.server": dummy,
    "app.update.url": "",
    "media.gmp-gmpopenh264.enabled": false,
    "security.OCSP.enabled": 0,
    "security.remote_settings.crlite_filters.enabled": false,
  },
});

/** The dominant frequency of `stream` over `ms`, its level and the noise floor (median bin), in dB. */
const spectrum = (page, which, ms) => page.evaluate(async (which, ms) => {
  const phone = window.kefuPhone;
  const stream = which === "heard"
    ? phone.remoteStream
    : new MediaStream(phone.session.connection.getSenders().map((sender) => sender.track).filter(Boolean));
  const context = new AudioContext();
  await context.resume();
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  context.createMediaStreamSource(stream).connect(analyser);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let peak = 1;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[peak]) peak = i;
  const sorted = Array.from(bins.slice(1)).sort((a, b) => a - b);
  const result = {
    peak_hz: Math.round(peak * context.sampleRate / analyser.fftSize),
    level_db: Math.round(bins[peak]),
    floor_db: Math.round(sorted[sorted.length >> 1]),
  };
  await context.close();
  return result;
}, which, ms);

/** RTP packets received and sent on the call so far. */
const packets = (page) => page.evaluate(async () => {
  const counts = { received: 0, packets_sent: 0 };
  (await window.kefuPhone.session.connection.getStats()).forEach((s) => {
    if (s.type === "inbound-rtp" && s.kind === "audio") counts.received = s.packetsReceived;
    if (s.type === "outbound-rtp" && s.kind === "audio") counts.packets_sent = s.packetsSent;
  });
  return counts;
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/** The softphone (web/agent/phone.js) on its own, registered as 1002 over /sip. */
const register = (page) => {
  step("registering 1002 over /sip");
  return page.evaluate(() => new Promise((resolve, reject) => {
    window.kefuPhone = new KefuPhone({
      extension: "1002", password: "demo1002", realm: "kefu",
      onChange: (state) => {
        if (state.registration === "registered") resolve();
        if (state.registration === "failed") reject(new Error(state.error));
      },
    });
    window.kefuPhone.start();
  }));
};

/** Calls `number` and waits until the call is up with the far end's audio. */
const call = (page, number) => {
  step(`calling ${number}`);
  return page.evaluate((number) => new Promise((resolve, reject) => {
    const phone = window.kefuPhone;
    phone.onChange = (state) => {
      if (state.call && state.call.status === "talking" && phone.remoteStream) resolve();
      if (!state.call && state.error) reject(new Error(state.error));
    };
    phone.call(number);
  }), number);
};

/** Agent 1003 signs in to the workspace, whose softphone registers. */
const signIn = async (page) => {
  step("signing in as 1003");
  await page.type("#username", "1003");
  await page.type("#password", "demo1003");
  await page.click("#signin button[type=submit]");
  await page.waitForSelector("#registration.registered");
};

let exitCode = 0;
const page = await browser.newPage();
const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`) });
try {
  await page.setViewport({ width: 1280, height: 800 });
  page.setDefaultTimeout(TIMEOUT);
  page.on("console", (message) => step(`console: ${message.text()}`));
  page.on("pageerror", (error) => step(`page error: ${error}`));
  step(`${await browser.version()}`);
  await page.goto(`${base}/agent/`);
  if (process.env.JSSIP_DEBUG) await page.evaluate(() => JsSIP.debug.enable("JsSIP:*"));
  if (mode === "echo") {
    await register(page);
    await call(page, "4001");
    step("talking; listening");
    const [sent, heard] = await Promise.all([spectrum(page, "sent", 3000), spectrum(page, "heard", 3000)]);
    say({ echo: { sent, heard, ...(await packets(page)) } });
    step("hanging up");
    await page.evaluate(() => window.kefuPhone.hangup());
    await page.waitForFunction(() => !window.kefuPhone.state.call);
  } else if (mode === "dtmf") {
    await register(page);
    await call(page, "4000");
    step("waiting for the menu's prompt");
    const deadline = Date.now() + TIMEOUT;
    let prompt = await spectrum(page, "heard", 300);
    while (prompt.level_db - prompt.floor_db <= 30 && Date.now() < deadline) {
      prompt = await spectrum(page, "heard", 300);
    }
    step("pressing 2");
    await page.evaluate(() => window.kefuPhone.dtmf("2"));
    await sleep(2000);
    say({ dtmf: "2", prompt: { ...prompt, ...(await packets(page)) } });
    step("hanging up");
    await page.evaluate(() => window.kefuPhone.hangup());
    await page.waitForFunction(() => !window.kefuPhone.state.call);
  } else if (mode === "keypad") {
    await signIn(page);
    say({ registered: true });
    step("waiting for the call to ring");
    await page.waitForSelector("#call.ringing", { timeout: 60000 });
    await page.click("#answer");
    await page.waitForSelector("#call.talking");
    await page.waitForFunction(() => window.kefuPhone.remoteStream);
    await sleep(1000);
    step("pressing 5 on the keypad");
    await page.click('button[data-key="5"]');
    await sleep(1500);
    await shot("keypad-pressed");
    say({ pressed: "5" });
    step("hanging up");
    await page.click("#hangup");
    await page.waitForFunction(() => !window.kefuPhone.state.call);
  } else if (mode === "workspace") {
    await signIn(page);
    await shot("1-registered");
    const registration = await page.$eval("#registration", (element) => element.textContent);
    await page.click("#ready");
    await page.waitForFunction(() => /^ready/.test(document.querySelector("#state").textContent));
    say({ workspace: registration, ready: true });
    step("waiting for the call to ring");
    await page.waitForSelector("#call.ringing", { timeout: 60000 });
    await page.waitForFunction(() => document.querySelector("#caller").textContent.includes("welcome,menu,support"));
    await shot("2-ringing");
    await page.click("#answer");
    await page.waitForSelector("#call.talking");
    await page.waitForFunction(() => window.kefuPhone.remoteStream);
    const heard = await spectrum(page, "heard", 3000);
    say({ heard: { ...heard, ...(await packets(page)) } });
    await shot("3-talking");
    step("holding the caller for 4 s, then resuming");
    await page.click("#hold");
    await page.waitForFunction(() => document.querySelector("#call-status").textContent.includes("on hold"));
    await page.waitForFunction(() => document.querySelector("#hold").textContent.includes("Resume"));
    await shot("4-on-hold");
    await sleep(4000);
    await page.click("#hold");
    await page.waitForFunction(() => document.querySelector("#hold").textContent.includes("Hold"));
    if (await page.$eval("#call-status", (element) => element.textContent.includes("on hold"))) {
      throw new Error("still on hold");
    }
    await sleep(3000);
    step("hanging up");
    await page.click("#hangup");
    await page.waitForFunction(() => /wrap-up \d+ s/.test(document.querySelector("#wrapup").textContent));
    await shot("5-wrap-up");
    say({ wrap_up: await page.$eval("#wrapup", (element) => element.textContent) });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (error) {
  step(`failed: ${error.stack || error}`);
  await shot("failed").catch(() => {});
  exitCode = 1;
} finally {
  await browser.close();
  process.exit(exitCode);
}

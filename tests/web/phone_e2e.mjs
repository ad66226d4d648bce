// Browsers on calls, in Chromium with a fake microphone playing a WAV.
// Driven by tests/calls_browser.rs, which starts kefu and the callers.
//
//   node phone_e2e.mjs echo BASE_URL WAV ARTIFACT_DIR
//     JsSIP (the workspace's softphone, web/agent/phone.js) registers as 1001
//     over /sip, calls 4001 (echo) and measures what comes back.
//   node phone_e2e.mjs agent BASE_URL WAV ARTIFACT_DIR
//     Agent 1001 signs in to the workspace (/agent/) and goes ready; prints
//     `ready`, waits for the call to ring, answers it, measures the caller's
//     audio, prints it, holds the caller for 4 s and resumes, hangs up, picks
//     a disposition and goes ready again; see the steps below.
//
// Each measurement is printed as one JSON line on stdout; progress goes to
// stderr. The script exits non-zero on any failure.
import { chromium } from "playwright-core";
import readline from "node:readline";
import path from "node:path";
import fs from "node:fs";

const [mode, base, wav, artifacts] = process.argv.slice(2);
fs.mkdirSync(artifacts, { recursive: true });
const step = (what) => console.error(`phone_e2e: ${what}`);
const say = (value) => console.log(JSON.stringify(value));
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const TIMEOUT = 20000;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    `--use-file-for-fake-audio-capture=${wav}`],
});

/** The dominant frequency of the phone's far-end audio over `ms`, and the RTP packets received. */
const listen = (page, ms) => page.evaluate(async (ms) => {
  const phone = window.kefuPhone;
  const context = new AudioContext();
  await context.resume();
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  context.createMediaStreamSource(phone.remoteStream).connect(analyser);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  let peak = 1;
  for (let i = 1; i < bins.length; i++) if (bins[i] > bins[peak]) peak = i;
  let received = 0;
  (await phone.session.connection.getStats()).forEach((s) => { if (s.type === "inbound-rtp") received = s.packetsReceived; });
  await context.close();
  return { peak_hz: Math.round(peak * context.sampleRate / analyser.fftSize), level_db: Math.round(bins[peak]), received };
}, ms);

let exitCode = 0;
try {
  const page = await (await browser.newContext({ viewport: { width: 1280, height: 800 } })).newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("console", (message) => step(`console: ${message.text()}`));
  if (mode === "echo") {
    await page.goto(`${base}/agent/`);
    step("registering 1001 over /sip");
    if (process.env.JSSIP_DEBUG) await page.evaluate(() => JsSIP.debug.enable("JsSIP:*"));
    await page.evaluate(() => new Promise((resolve, reject) => {
      window.kefuPhone = new KefuPhone({
        extension: "1001", password: "demo1001", realm: "kefu",
        onChange: (state) => {
          if (state.registration === "registered") resolve();
          if (state.registration === "failed") reject(new Error(state.error));
        },
      });
      window.kefuPhone.start();
    }));
    step("calling 4001");
    await page.evaluate(() => new Promise((resolve, reject) => {
      const phone = window.kefuPhone;
      phone.onChange = (state) => {
        if (state.call && state.call.status === "talking" && phone.remoteStream) resolve();
        if (!state.call && state.error) reject(new Error(state.error));
      };
      phone.call("4001");
    }));
    say({ echo: await listen(page, 3000) });
    await page.evaluate(() => window.kefuPhone.hangup());
    await page.waitForFunction(() => !window.kefuPhone.state.call);
  } else if (mode === "agent") {
    const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`) });
    await page.goto(`${base}/agent/`);
    step("signing in as 1001");
    await page.fill("#username", "1001");
    await page.fill("#password", "demo1001");
    await page.click("#signin button[type=submit]");
    await page.locator("#registration.registered").waitFor();
    await page.click("#ready");
    await page.locator("#state", { hasText: /^ready/ }).waitFor();
    await shot("1-ready");
    say({ ready: true });
    step("waiting for the call to ring");
    await page.locator("#call.ringing").waitFor({ timeout: 60000 });
    await page.locator("#caller", { hasText: "welcome,menu,sales" }).waitFor();
    await shot("2-ringing");
    await page.click("#answer");
    await page.locator("#call.talking").waitFor();
    await page.waitForFunction(() => window.kefuPhone.remoteStream);
    say({ heard: await listen(page, 3000) });
    await shot("3-talking");
    step("holding the caller for 4 s, then resuming");
    await page.click("#hold");
    await page.locator("#call-status", { hasText: "on hold" }).waitFor();
    await page.locator("#hold", { hasText: "Resume" }).waitFor();
    await shot("3-on-hold");
    await page.waitForTimeout(4000);
    await page.click("#hold");
    await page.locator("#hold", { hasText: "Hold" }).waitFor();
    if (await page.locator("#call-status", { hasText: "on hold" }).count()) throw new Error("still on hold");
    await page.waitForTimeout(3000);
    step("hanging up");
    await page.click("#hangup");
    await page.locator("#wrapup", { hasText: /wrap-up \d+ s/ }).waitFor();
    await page.selectOption("#disposition", "resolved");
    await page.locator("#disposition-saved", { hasText: "saved" }).waitFor();
    await shot("4-wrap-up");
    say({ wrap_up: await page.textContent("#wrapup") });
    await page.click("#wrapup");
    await page.locator("#state", { hasText: /^ready/ }).waitFor();
    say({ ready_again: await page.textContent("#state") });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} catch (error) {
  step(`failed: ${error.stack || error}`);
  exitCode = 1;
} finally {
  await browser.close();
  process.exit(exitCode);
}

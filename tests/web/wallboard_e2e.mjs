// The supervisor wallboard in a real browser (/supervisor/ on a laptop-sized
// Chromium window whose fake microphone plays WAV), driven by
// tests/wallboard_browser.rs, which starts kefu and agent 1001's phone. This
// script makes agent 1001 ready through the API; when it prints `call` the
// Rust side places a queued call (answers `called`), when it prints `hangup`
// the caller hangs up (answers `hung up`). The supervisor signs in with the
// shared login form (1009 / demo1009); the page registers the browser as
// 1009's phone, answers the Monitor call itself, and the script prints
// `monitor {levels}`: what the page hears, in dB at 440, 1000 and 1800 Hz
// and the spectrum's median (its floor).
//   node wallboard_e2e.mjs BASE_URL AGENT_1001_TOKEN WAV ARTIFACT_DIR
import { chromium } from "playwright-core";
import readline from "node:readline";
import path from "node:path";
import fs from "node:fs";

const [base, agentToken, wav, artifacts] = process.argv.slice(2);
fs.mkdirSync(artifacts, { recursive: true });
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const step = (what) => console.error(`wallboard_e2e: ${what}`);
const TIMEOUT = 20000;

async function ask(request, answer) {
  console.log(request);
  const { value } = await lines.next();
  if (value !== answer) throw new Error(`asked ${request}, got ${value}`);
}

async function api(method, apiPath, token, body) {
  const response = await fetch(`${base}${apiPath}`, {
    method,
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`${method} ${apiPath}: ${response.status} ${await response.text()}`);
  return response.json();
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
    "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream",
    `--use-file-for-fake-audio-capture=${wav}`],
});

/** What the browser phone hears over `ms`: dB at a few frequencies and the median bin. */
const levels = (page, ms) => page.evaluate(async (ms) => {
  const context = new AudioContext();
  await context.resume();
  const analyser = context.createAnalyser();
  analyser.fftSize = 8192;
  context.createMediaStreamSource(window.kefuPhone.remoteStream).connect(analyser);
  await new Promise((resolve) => setTimeout(resolve, ms));
  const bins = new Float32Array(analyser.frequencyBinCount);
  analyser.getFloatFrequencyData(bins);
  const at = (hz) => {
    const i = Math.round(hz * analyser.fftSize / context.sampleRate);
    return Math.round(Math.max(bins[i - 1], bins[i], bins[i + 1]));
  };
  const sorted = [...bins].filter(Number.isFinite).sort((a, b) => a - b);
  const floor = sorted.length ? Math.round(sorted[Math.floor(sorted.length / 2)]) : -200;
  await context.close();
  return { floor, 440: at(440), 1000: at(1000), 1800: at(1800) };
}, ms);
let page;
const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
try {
  page = await (await browser.newContext({ viewport: { width: 1366, height: 768 } })).newPage();
  page.setDefaultTimeout(TIMEOUT);
  page.on("console", (message) => console.error(`page: ${message.text()}`));
  const agentRow = page.locator('[data-agent="1001"]');
  const sales = page.locator('[data-queue="sales"]');
  const callRow = page.locator("tr[data-call]");

  step("an agent may not sign in to the wallboard");
  await page.goto(`${base}/supervisor/`);
  const form = page.locator("form.kefu-login");
  await form.locator("input[name=tenant]").fill("demo");
  await form.locator("input[name=username]").fill("1002");
  await form.locator("input[name=password]").fill("demo1002");
  await form.locator("button").click();
  // Signed out again at once: a fresh form comes back, the board stays hidden.
  await page.waitForFunction(() => document.querySelector("form.kefu-login input[name=username]")?.value === "");
  if (await page.locator("#board").isVisible()) throw new Error("an agent sees the wallboard");

  step("the supervisor signs in");
  await form.locator("input[name=tenant]").fill("demo");
  await form.locator("input[name=username]").fill("1009");
  await form.locator("input[name=password]").fill("demo1009");
  await form.locator("button").click();
  await page.locator("#status", { hasText: "live" }).waitFor();
  await page.locator("#me", { hasText: "1009" }).waitFor();
  await page.locator('#phone[data-state="registered"]', { hasText: "browser phone ready" }).waitFor();
  await page.locator('[data-queue="support"]').waitFor();
  await sales.waitFor();
  await agentRow.locator('[data-field="state"]', { hasText: "logged out" }).waitFor();
  await page.locator("#calls-empty").waitFor({ state: "visible" });
  // The contact abandoned before the page opened is in today's figures and the charts.
  await page.locator('[data-queue="support"] [data-field="abandoned"] b', { hasText: /^1$/ }).waitFor();
  await page.locator("#chart-volume rect.abandoned").first().waitFor({ state: "attached" });
  await page.evaluate(() => { window.kefuNotReloaded = true; });
  await shot("1-snapshot");

  step("agent 1001 goes ready through the API");
  await api("POST", "/api/v1/agents/1001/login", agentToken);
  await api("PUT", "/api/v1/agents/1001/state", agentToken, { state: "ready" });
  await agentRow.locator('[data-field="state"]', { hasText: /^ready$/ }).waitFor();
  await sales.locator('[data-agents="ready"]', { hasText: "ready 1" }).waitFor();
  const since = agentRow.locator('[data-field="since"]');
  const first = await since.textContent();
  await page.waitForFunction(
    ([selector, text]) => document.querySelector(selector).textContent !== text,
    ['[data-agent="1001"] [data-field="since"]', first],
  );

  step("a caller queues for sales and 1001 answers");
  await ask("call", "called");
  await callRow.first().waitFor();
  await callRow.first().locator("td", { hasText: "sales" }).waitFor();
  await callRow.first().locator("td", { hasText: "(1001)" }).waitFor();
  await agentRow.locator('[data-field="state"]', { hasText: /^busy$/ }).waitFor();
  await sales.locator('[data-field="answered"] b', { hasText: /^1$/ }).waitFor();
  await shot("2-call");

  step("the supervisor monitors in the browser: it hears both parties");
  await callRow.first().locator('button[data-mode="monitor"]').click();
  await page.locator("#supervise-result", { hasText: "in this browser" }).waitFor();
  await page.locator('#phone[data-state="talking"]').waitFor();
  await callRow.first().locator('[data-field="supervision"]', { hasText: /^1009 monitor$/ }).waitFor();
  await page.waitForFunction(() => window.kefuPhone.remoteStream);
  console.log(`monitor ${JSON.stringify(await levels(page, 3000))}`);

  step("the supervisor whispers to the agent");
  await callRow.first().locator('button[data-mode="whisper"]').click();
  await callRow.first().locator('[data-field="supervision"]', { hasText: /^1009 whisper$/ }).waitFor();
  await callRow.first().locator('button.active[data-mode="whisper"]').waitFor();
  await shot("3-supervising");
  await page.waitForTimeout(4000);

  step("the caller hangs up");
  await ask("hangup", "hung up");
  await callRow.first().waitFor({ state: "detached" });
  await agentRow.locator('[data-field="state"]', { hasText: /^(wrap up|ready)$/ }).waitFor();
  await page.locator('#phone[data-state="registered"]').waitFor();
  if (!(await page.evaluate(() => window.kefuNotReloaded === true))) throw new Error("the page was reloaded");
  await shot("4-after");
  console.log("ok");
} catch (error) {
  console.error(error);
  if (page) await shot("failed").catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
  // stdin (the Rust side's answers) would keep node running.
  process.exit();
}

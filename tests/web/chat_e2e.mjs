// The web chat in a real browser: an agent on /agent/ and a visitor on the
// widget's demo page /widget/, in two Chromium contexts. Driven by
// tests/chat_browser.rs, which starts kefu and restarts it when this script
// prints `restart` (it answers `restarted` on stdin). The agent signs in to
// the workspace as 1003 once: the session outlives the restart.
//   node chat_e2e.mjs BASE_URL AGENT_TOKEN ARTIFACT_DIR
import { chromium } from "playwright-core";
import readline from "node:readline";
import path from "node:path";
import fs from "node:fs";

const [base, artifacts] = process.argv.slice(2);
fs.mkdirSync(artifacts, { recursive: true });
const lines = readline.createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const step = (what) => console.error(`chat_e2e: ${what}`);
const TIMEOUT = 20000;
// A 16×16 red square.
const PNG = Buffer.from(
  "iVBORw0KGgoAAAANSUhEUgAAABAAAAAQCAIAAACQkWg2AAAAF0lEQVR4nGP4z8BAEiJN9aiGUQ1DSgMAkPn/Afnh+ngAAAAASUVORK5CYII=",
  "base64",
);

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const shots = async (name) => {
  await agent.screenshot({ path: path.join(artifacts, `${name}-agent.png`), fullPage: true });
  await visitor.screenshot({ path: path.join(artifacts, `${name}-visitor.png`), fullPage: true });
};
let agent;
let visitor;
try {
  agent = await (await browser.newContext({ viewport: { width: 1100, height: 700 } })).newPage();
  visitor = await (await browser.newContext({ viewport: { width: 390, height: 760 }, isMobile: true })).newPage();
  agent.setDefaultTimeout(TIMEOUT);
  visitor.setDefaultTimeout(TIMEOUT);

  const agentSignIn = async () => {
    await agent.fill("#username", "1003");
    await agent.fill("#password", "demo1003");
    await agent.click("#signin button[type=submit]");
    await agent.locator("#who").waitFor();
  };
  const agentReady = async () => {
    await agent.click("#ready");
    // `busy` when an offer came at once (a chat was already waiting).
    await agent.locator("#state", { hasText: /^(ready|busy)/ }).waitFor();
  };
  const acceptOffer = async () => {
    await agent.locator("#offers button", { hasText: "Accept" }).first().click();
    await agent.locator("#chats .item").first().click();
  };
  const visitorSays = async (text) => {
    await visitor.fill("#kefu-chat textarea", text);
    await visitor.press("#kefu-chat textarea", "Enter");
    await visitor.locator("#kefu-chat .msg.visitor", { hasText: text }).locator(".meta", { hasText: /Sent|Read/ }).waitFor();
  };
  const agentSays = async (text) => {
    await agent.fill(".compose textarea", text);
    await agent.press(".compose textarea", "Enter");
    await agent.locator(".msg.agent", { hasText: text }).waitFor();
  };
  const seenOnce = async (page, selector, texts) => {
    for (const text of texts) {
      const locator = page.locator(selector, { hasText: text });
      await locator.first().waitFor();
      const count = await locator.count();
      if (count !== 1) throw new Error(`${text} shown ${count} times on ${page.url()}`);
    }
  };

  step("agent goes ready");
  await agent.goto(`${base}/agent/`);
  await agentSignIn();
  await agentReady();

  step("visitor starts a chat");
  await visitor.goto(`${base}/widget/`);
  await visitor.click("#kefu-chat .launcher");
  await visitor.fill("#kefu-chat input[name=name]", "Ann");
  await visitor.click("#kefu-chat form.prechat button");
  await visitorSays("Hello from the visitor <b>not bold</b>");

  step("the ACD offers it to the agent");
  await acceptOffer();
  await agent.locator(".msg.visitor", { hasText: "Hello from the visitor" }).waitFor();
  await visitor.locator("#kefu-chat .status", { hasText: "Chen Jing" }).waitFor();
  await agentSays("Hello Ann, agent here");
  await visitor.locator("#kefu-chat .msg.agent", { hasText: "Hello Ann, agent here" }).waitFor();
  step("visitor sends an image");
  await visitor.setInputFiles("#kefu-chat input[type=file]", { name: "photo.png", mimeType: "image/png", buffer: PNG });
  const shown = agent.locator(".msg.visitor img[alt='photo.png']");
  await shown.waitFor();
  await agent.waitForFunction((img) => img.complete && img.naturalWidth > 0, await shown.elementHandle());
  await visitor.locator("#kefu-chat .msg.visitor img[alt='photo.png']").waitFor();
  // Text is text: the markup arrived as characters, not as an element.
  const bold = await visitor.locator("#kefu-chat .msg b").count() + await agent.locator(".msg b").count();
  if (bold !== 0) throw new Error("message text was rendered as HTML");
  await shots("1-chatting");

  step("visitor reloads the page and sees the whole history");
  await visitor.reload();
  await visitor.click("#kefu-chat .launcher");
  await seenOnce(visitor, "#kefu-chat .msg", ["Hello from the visitor", "Hello Ann, agent here"]);
  await visitor.locator("#kefu-chat .msg.visitor img[alt='photo.png']").waitFor();
  await shots("2-reloaded");

  step("kefu restarts");
  console.log("restart");
  const answer = (await lines.next()).value || "";
  if (answer !== "restarted") throw new Error(`unexpected answer from the test: ${answer}`);

  step("both sides reconnect");
  await agentReady();
  await acceptOffer();
  await agent.locator(".msg.visitor", { hasText: "Hello from the visitor" }).waitFor();
  await visitorSays("Still there after the restart?");
  await agent.locator(".msg.visitor", { hasText: "Still there after the restart?" }).waitFor();
  await agentSays("Yes, nothing was lost");
  await visitor.locator("#kefu-chat .msg.agent", { hasText: "Yes, nothing was lost" }).waitFor();

  step("every message once on both pages");
  const said = ["Hello from the visitor", "Hello Ann, agent here", "Still there after the restart?", "Yes, nothing was lost"];
  await seenOnce(visitor, "#kefu-chat .msg", said);
  await seenOnce(agent, ".msg", said);
  await shots("3-after-restart");
  console.log("ok");
} catch (error) {
  console.error(`chat_e2e: FAILED: ${error.stack || error}`);
  if (agent && visitor) await shots("failure").catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
  process.exit();
}

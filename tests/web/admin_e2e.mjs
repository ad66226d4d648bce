// The admin pages in a real browser, driven by tests/admin_browser.rs against
// `kefu serve --demo`: log in as the demo admin (after a wrong password),
// create an agent with a skill (after an error shown next to the field),
// create a queue and change its strategy, route a number, add a trunk, break
// the default IVR flow and see the error marked on its line, fix it and see
// the diagram, create a flow, edit business hours. A screenshot of each page
// is kept in ARTIFACT_DIR.
//   node admin_e2e.mjs BASE_URL ARTIFACT_DIR
import { chromium } from "playwright-core";
import path from "node:path";
import fs from "node:fs";

const [base, artifacts] = process.argv.slice(2);
fs.mkdirSync(artifacts, { recursive: true });
const step = (what) => console.error(`admin_e2e: ${what}`);
const TIMEOUT = 20000;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let page;
const shot = (name) => page.screenshot({ path: path.join(artifacts, `${name}.png`), fullPage: true });
const expectText = async (selector, text) => page.locator(selector, { hasText: text }).first().waitFor();
try {
  page = await (await browser.newContext({ viewport: { width: 1366, height: 800 } })).newPage();
  page.setDefaultTimeout(TIMEOUT);
  const offline = [];
  page.on("request", (request) => {
    if (!request.url().startsWith(base) && !request.url().startsWith("blob:") && !request.url().startsWith("data:")) offline.push(request.url());
  });

  step("a wrong password is refused on the form");
  await page.goto(`${base}/admin/`);
  await page.fill("form.kefu-login input[name=username]", "admin");
  await page.fill("form.kefu-login input[name=password]", "wrong-password");
  await page.click("form.kefu-login button[type=submit]");
  await expectText("form.kefu-login .form-error", "wrong user name or password");
  await shot("0-login");

  step("the demo admin logs in");
  await page.fill("form.kefu-login input[name=password]", "demoadmin");
  await page.click("form.kefu-login button[type=submit]");
  await expectText("header .who", "Demo Admin");
  await page.locator("#users tr[data-user='1001']").waitFor();
  await shot("1-agents");

  step("an agent with a bad extension is refused next to the field");
  await page.click("#new-user");
  const form = page.locator("#user-form");
  await form.locator("input[name=username]").fill("1020");
  await form.locator("input[name=display_name]").fill("Erin Zhao");
  await form.locator("input[name=extension]").fill("10x");
  await form.locator("input[name=password]").fill("erin-secret");
  await page.click("#add-skill");
  await form.locator("input[name='skills[0].name']").fill("french");
  await form.locator("input[name='skills[0].level']").fill("7");
  await form.locator("input[data-queue=support]").check();
  await form.locator("button[type=submit]").click();
  await form.locator("input[name=extension] + .field-error", { hasText: "2-16 digits" }).waitFor();
  step("fixed, the agent is created with the skill");
  await form.locator("input[name=extension]").fill("1020");
  await form.locator("button[type=submit]").click();
  const row = page.locator("#users tr[data-user='1020']");
  await row.locator("td", { hasText: "french 7" }).waitFor();
  await row.locator("td", { hasText: "support" }).waitFor();

  step("a skill level out of range is shown on the level input");
  await row.locator("button", { hasText: "Edit" }).click();
  await page.locator("#user-form h2", { hasText: "Edit 1020" }).waitFor();
  await page.fill("#user-form input[name='skills[0].level']", "12");
  await page.click("#user-form button[type=submit]");
  await page.locator("#user-form .skill + .field-error", { hasText: "1 to 10" }).waitFor();
  await page.locator("#user-form input[name='skills[0].level'][aria-invalid=true]").waitFor();
  await shot("1-agents-edit");

  step("a queue is created and a queue's strategy changed");
  await page.click("nav a[data-page=queues]");
  await page.locator("#queue-form").waitFor();
  await page.fill("#new-queue input[name=name]", "billing");
  await page.click("#new-queue button[type=submit]");
  await page.locator("#queues tr[data-queue=billing]").waitFor();
  await page.locator("#queue-form h2", { hasText: "Queue billing" }).waitFor();
  await page.selectOption("#queue-form select[name=strategy]", "round-robin");
  await page.click("#queue-form button[type=submit]");
  await page.locator("#queues tr[data-queue=billing] td", { hasText: "round-robin" }).waitFor();
  await shot("2-queues");

  step("a number is routed to a queue");
  await page.click("nav a[data-page=numbers]");
  await page.locator("#numbers tr[data-number='4000']").waitFor();
  await page.fill("#number-form input[name=number]", "4010");
  await page.selectOption("#number-form select[name=kind]", "queue");
  await page.fill("#number-form input[name=target]", "support");
  await page.click("#number-form button[type=submit]");
  await page.locator("#numbers tr[data-number='4010'] td", { hasText: "support" }).waitFor();
  step("a trunk with a bad network is refused next to the field, then saved");
  await page.fill("#trunk-form input[name=name]", "carrier");
  await page.fill("#trunk-form input[name=host]", "sip.carrier.example");
  await page.fill("#trunk-form textarea[name=trusted_cidrs]", "203.0.113.0/24\n10.0.0.0/33");
  await page.click("#trunk-form button[type=submit]");
  await page.locator("#trunk-form textarea[name=trusted_cidrs] + .field-error", { hasText: "10.0.0.0/33" }).waitFor();
  await page.fill("#trunk-form textarea[name=trusted_cidrs]", "203.0.113.0/24");
  await page.click("#trunk-form button[type=submit]");
  await page.locator("#trunks tr[data-trunk=carrier] td", { hasText: "udp:sip.carrier.example:5060" }).waitFor();
  await shot("3-numbers");

  step("the default IVR flow with an error is refused, the error marked on its line");
  await page.click("nav a[data-page=ivr]");
  await page.locator("#flows a", { hasText: /^default$/ }).click();
  await page.locator("#flow-form h2", { hasText: "Flow default" }).waitFor();
  const source = page.locator("#flow-source");
  await source.waitFor();
  await page.locator("#diagram-image").waitFor();
  const original = await source.inputValue();
  const lines = original.split("\n");
  const broken = lines.findIndex((line) => line.startsWith('next = "'));
  lines[broken] = 'next = "nowhere"';
  await source.fill(lines.join("\n"));
  await page.click("#save-flow");
  const line = broken + 1;
  await page.locator(`#diagnostics li.error[data-line='${line}']`, { hasText: "unknown node" }).waitFor();
  await expectText("#diagnostics li.error strong", `line ${line}`);
  await page.locator(`.gutter div.error[data-line='${line}']`).waitFor();
  await expectText("#flow-form .form-error", "was not activated");
  await shot("4-ivr-error");

  step("fixed, the flow is saved and drawn");
  await source.fill(original.replace(/^(description = ".*)"$/m, '$1 (edited)"'));
  await page.click("#save-flow");
  await expectText("#flow-status", "Saved: version 2");
  await expectText("[data-version=default]", "v2");
  await page.waitForFunction(() => {
    const img = document.getElementById("diagram-image");
    return img && img.complete && img.naturalWidth > 0;
  });
  const errors = await page.locator("#diagnostics li.error").count();
  if (errors !== 0) throw new Error(`${errors} errors still listed after the fix`);
  await shot("5-ivr");

  step("a new flow is created and drawn");
  await page.fill("#new-flow input[name=name]", "hello");
  await page.click("#new-flow button[type=submit]");
  await page.locator("#flow-form h2", { hasText: "Flow hello" }).waitFor();
  await page.click("#save-flow");
  await expectText("#flow-status", "Saved: version 1");
  await page.waitForFunction(() => {
    const img = document.getElementById("diagram-image");
    return img && img.complete && img.naturalWidth > 0 && img.alt.includes("hello");
  });

  step("business hours");
  await page.click("nav a[data-page=hours]");
  await page.locator("#calendars tr[data-calendar=support]").waitFor();
  await page.fill("#calendar-form input[name='weekly.sat']", "10:00-25:00");
  await page.click("#calendar-form button[type=submit]");
  await page.locator("#calendar-form input[name='weekly.sat'][aria-invalid=true]").waitFor();
  await page.locator("#calendar-form .row:has(input[name='weekly.sat']) + .field-error").waitFor();
  await page.fill("#calendar-form input[name='weekly.sat']", "10:00-14:00");
  await page.click("#calendar-form button[type=submit]");
  await page.locator("#calendars tr[data-calendar=support] td", { hasText: "sat 10:00-14:00" }).waitFor();
  await shot("6-hours");

  step("log out");
  await page.click("#logout");
  await page.locator("form.kefu-login").waitFor();
  if (offline.length) throw new Error(`requests left the server: ${offline.join(", ")}`);
  console.log("ok");
} catch (error) {
  console.error(`admin_e2e: FAILED: ${error.stack || error}`);
  if (page) await shot("failure").catch(() => {});
  process.exitCode = 1;
} finally {
  await browser.close();
  process.exit();
}

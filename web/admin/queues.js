// Queues page: each queue's strategy, live figures and every routing
// setting (GET /api/v1/queues), edited with PUT /api/v1/queues/{name}.
// An empty box for an optional limit means "none". Admins create a queue
// by naming it (PUT with no settings).

import { api, showError, clearErrors, ApiError } from "/common/api.js";
import { h, select, field } from "/common/dom.js";

const STRATEGIES = ["longest-idle", "round-robin", "fewest-contacts", "least-talk-time", "ring-all", "top-down", "random", "skills-best-match"];
const NUMBERS = [
  ["service_level_secs", "Service level (s)", false],
  ["wrap_up_secs", "Wrap-up (s)", false],
  ["offer_timeout_secs", "Offer rings for (s)", false],
  ["expected_handle_secs", "Expected handle time (s)", false],
  ["max_wait_secs", "Longest wait (s)", true],
  ["max_size", "Most waiting", true],
  ["sticky_secs", "Sticky agent for (s)", true],
  ["tier_after_secs", "Next tier after (s)", true],
  ["announce_every_secs", "Announce position every (s)", true],
  ["overflow_after_secs", "Overflow after (s)", true],
];

export async function render(container) {
  const [queues, calendars] = await Promise.all([api.get("/queues"), api.get("/calendars")]);
  const editor = h("div", { class: "panel", id: "queue-editor" });
  const edit = (queue) => editor.replaceChildren(queueForm(queue, queues, calendars, () => render(container)));
  container.replaceChildren(
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        {},
        h("div", { class: "toolbar" }, h("h2", {}, "Queues"), newQueueForm(() => render(container))),
        h(
          "table",
          { id: "queues" },
          h("thead", {}, h("tr", {}, ["Queue", "Strategy", "Open", "Waiting", "Agents", "Service level", ""].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            queues.map((q) =>
              h(
                "tr",
                { "data-queue": q.name },
                h("td", {}, q.name),
                h("td", {}, q.strategy),
                h("td", {}, h("span", { class: q.open ? "tag good" : "tag bad" }, q.open ? "open" : "closed"), q.calendar ? ` ${q.calendar}` : ""),
                h("td", {}, String(q.waiting)),
                h("td", {}, `${q.agents_available} / ${q.agents_logged_in}`),
                h("td", {}, q.service_level === null ? "—" : `${Math.round(q.service_level * 100)}% in ${q.service_level_secs} s`),
                h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => edit(q) }, "Edit")),
              ),
            ),
          ),
        ),
      ),
      editor,
    ),
  );
  if (queues.length) edit(queues[0]);
}

/** A queue name and a button: PUT /api/v1/queues/{name} creates it (admins). */
function newQueueForm(saved) {
  const form = h(
    "form",
    { class: "row", id: "new-queue", novalidate: true },
    h("input", { name: "name", placeholder: "new queue name" }),
    h("button", { type: "submit", class: "secondary" }, "New queue"),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const name = form.elements.name.value.trim();
    try {
      if (!name) throw new ApiError(422, { detail: "`name`: give the queue a name", field: "name" });
      await api.put(`/queues/${encodeURIComponent(name)}`, {});
      await saved();
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

function queueForm(queue, queues, calendars, saved) {
  const others = queues.map((q) => q.name).filter((name) => name !== queue.name);
  const form = h(
    "form",
    { id: "queue-form", novalidate: true },
    h("h2", {}, `Queue ${queue.name}`),
    h("p", { class: "form-error", role: "alert" }),
    field("Strategy", select("strategy", STRATEGIES, queue.strategy)),
    h(
      "div",
      { class: "grid" },
      NUMBERS.map(([name, label, optional]) =>
        field(label, h("input", { type: "number", min: 0, name, value: queue[name] ?? "", placeholder: optional ? "none" : null })),
      ),
    ),
    field("When a contact leaves unserved", h("input", { name: "timeout_target", value: queue.timeout_target }), "disconnect, voicemail:BOX, callback or flow:NAME"),
    h(
      "div",
      { class: "grid" },
      field("Overflow into", select("overflow_queue", [["", "none"], ...others], queue.overflow_queue || "")),
      field("Open by calendar", select("calendar", [["", "always open"], ...calendars.map((c) => c.name)], queue.calendar || "")),
    ),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "join_when_empty", checked: queue.join_when_empty }), "Accept contacts while no agent could serve them"),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "leave_when_empty", checked: queue.leave_when_empty }), "Send waiting contacts away when no agent could serve them"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save"), h("span", { class: "saved", role: "status" })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const value = (name) => form.elements[name].value.trim();
    const body = {
      strategy: value("strategy"),
      timeout_target: value("timeout_target"),
      overflow_queue: value("overflow_queue") || null,
      calendar: value("calendar") || null,
      join_when_empty: form.elements.join_when_empty.checked,
      leave_when_empty: form.elements.leave_when_empty.checked,
    };
    for (const [name, , optional] of NUMBERS) {
      const text = value(name);
      if (text === "") {
        if (optional && name !== "overflow_after_secs") body[name] = null;
      } else {
        body[name] = Number(text);
      }
    }
    try {
      await api.put(`/queues/${encodeURIComponent(queue.name)}`, body);
      await saved();
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

// IVR flows page: pick a flow (GET /api/v1/ivr/flows), edit its TOML and save
// it (PUT /api/v1/ivr/flows/{name}). A flow with errors is refused: each
// diagnostic is listed and its line marked beside the source; a saved flow
// is drawn from GET /api/v1/ivr/flows/{name}/svg.

import { api, request, session, showError, clearErrors } from "/common/api.js";
import { h } from "/common/dom.js";

export async function render(container) {
  const flows = await api.get("/ivr/flows");
  const chosen = new URLSearchParams(location.hash.split("?")[1] || "").get("flow");
  const current = flows.find((f) => f.name === chosen) || flows[0];
  const list = h(
    "ul",
    { class: "flow-list", id: "flows" },
    flows.map((f) =>
      h("li", {}, h("a", { href: `#ivr?flow=${encodeURIComponent(f.name)}`, class: f === current ? "active" : null }, f.name), h("span", { class: "muted", "data-version": f.name }, ` v${f.version}`)),
    ),
  );
  const newFlow = h(
    "form",
    { class: "row", id: "new-flow", novalidate: true },
    h("input", { name: "name", placeholder: "new flow name" }),
    h("button", { type: "submit", class: "secondary" }, "New"),
  );
  newFlow.addEventListener("submit", (event) => {
    event.preventDefault();
    const name = newFlow.elements.name.value.trim();
    if (name) editor.replaceChildren(...flowEditor({ name, source: TEMPLATE, version: 0 }));
  });
  const editor = h("div", { id: "flow-editor" });
  container.replaceChildren(
    h(
      "div",
      { class: "columns ivr" },
      h("div", { class: "panel" }, editor),
      h("div", {}, h("div", { class: "panel" }, h("h2", {}, "Flows"), list, newFlow), h("div", { class: "panel" }, h("h2", {}, "Diagram"), h("div", { class: "diagram", id: "diagram" }))),
    ),
  );
  if (current) {
    editor.replaceChildren(...flowEditor(await api.get(`/ivr/flows/${encodeURIComponent(current.name)}`)));
    await drawDiagram(current.name);
  }
}

const TEMPLATE = `start = "pick_up"

[nodes.pick_up]
type = "answer"
next = "hello"

[nodes.hello]
type = "say"
text = "Hello."
next = "bye"

[nodes.bye]
type = "hangup"
`;

function flowEditor(flow) {
  const gutter = h("div", { class: "gutter", "aria-hidden": "true" });
  const source = h("textarea", { name: "source", spellcheck: "false", id: "flow-source" });
  source.value = flow.source;
  const diagnostics = h("ul", { class: "diagnostics", id: "diagnostics" });
  let marks = new Map();
  const lines = () => {
    const count = source.value.split("\n").length;
    gutter.replaceChildren(
      ...Array.from({ length: count }, (_, i) => {
        const mark = marks.get(i + 1);
        return h("div", { class: mark?.severity || null, title: mark?.message || null, "data-line": i + 1 }, String(i + 1));
      }),
    );
    source.style.height = "auto";
    source.style.height = `${source.scrollHeight}px`;
  };
  source.addEventListener("input", lines);
  const goTo = (line) => {
    const starts = source.value.split("\n").slice(0, line - 1).reduce((sum, text) => sum + text.length + 1, 0);
    source.focus();
    source.setSelectionRange(starts, starts + (source.value.split("\n")[line - 1] || "").length);
  };
  const show = (unsorted) => {
    const rank = (d) => (d.severity === "error" ? 0 : 1);
    const found = [...unsorted].sort((a, b) => rank(a) - rank(b) || (a.line ?? 0) - (b.line ?? 0));
    marks = new Map();
    for (const d of found) if (d.line && !marks.has(d.line)) marks.set(d.line, d);
    diagnostics.replaceChildren(
      ...found.map((d) =>
        h("li", { class: d.severity, "data-line": d.line ?? "", onclick: () => d.line && goTo(d.line) },
          h("strong", {}, d.line ? `line ${d.line}${d.column ? `, column ${d.column}` : ""}: ` : ""),
          d.message, d.hint ? h("div", { class: "muted" }, d.hint) : null),
      ),
    );
    lines();
    gutter.querySelector(".error")?.scrollIntoView({ block: "center" });
  };
  const status = h("span", { class: "saved", role: "status", id: "flow-status" });
  const form = h(
    "form",
    { id: "flow-form", novalidate: true },
    h("div", { class: "toolbar" }, h("h2", {}, `Flow ${flow.name}`), h("span", { class: "muted", id: "flow-version" }, flow.version ? `version ${flow.version}` : "new")),
    h("p", { class: "form-error", role: "alert" }),
    h("div", { class: "editor" }, gutter, source),
    diagnostics,
    h("div", { class: "actions" }, h("button", { type: "submit", id: "save-flow" }, "Save and activate"), status),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    status.textContent = "";
    try {
      const saved = await request("PUT", `/ivr/flows/${encodeURIComponent(flow.name)}`, { body: source.value, contentType: "application/toml" });
      show(saved.warnings || []);
      form.querySelector("#flow-version").textContent = `version ${saved.version}`;
      status.textContent = `Saved: version ${saved.version} is active.`;
      const listed = document.querySelector(`[data-version="${CSS.escape(flow.name)}"]`);
      if (listed) listed.textContent = ` v${saved.version}`;
      await drawDiagram(flow.name);
    } catch (error) {
      show(error.problem?.diagnostics || []);
      showError(form, error);
    }
  });
  setTimeout(lines);
  return [form];
}

/** Draws the flow: the SVG as an image (so nothing in it runs). */
async function drawDiagram(name) {
  const target = document.getElementById("diagram");
  if (!target) return;
  const response = await fetch(`/api/v1/ivr/flows/${encodeURIComponent(name)}/svg`, {
    headers: { Authorization: `Bearer ${session.token()}` },
  });
  if (!response.ok) {
    const problem = await response.json().catch(() => ({}));
    target.replaceChildren(h("p", { class: "form-error" }, problem.detail || `cannot draw the flow (HTTP ${response.status})`));
    return;
  }
  const url = URL.createObjectURL(await response.blob());
  const image = h("img", { alt: `diagram of flow ${name}`, id: "diagram-image" });
  image.onload = () => URL.revokeObjectURL(url);
  image.src = url;
  target.replaceChildren(image);
}

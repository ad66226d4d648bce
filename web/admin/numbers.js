// Numbers and trunks page: where each dialled number (DID) goes
// (GET/PUT/DELETE /api/v1/numbers/{number}) and the SIP trunks
// (GET /api/v1/trunks, PUT /api/v1/trunks/{name}).

import { api, showError, clearErrors, ApiError } from "/common/api.js";
import { h, select, field } from "/common/dom.js";

const KINDS = [
  ["ivr", "IVR flow"],
  ["queue", "Queue"],
  ["agent", "Agent (extension)"],
  ["echo", "Echo test"],
  ["trunk", "Out through a trunk"],
];

export async function render(container) {
  const [numbers, trunks, flows, queues, users] = await Promise.all([
    api.get("/numbers"),
    api.get("/trunks"),
    api.get("/ivr/flows"),
    api.get("/queues"),
    api.get("/users"),
  ]);
  const targets = {
    ivr: flows.map((f) => f.name),
    queue: queues.map((q) => q.name),
    agent: users.filter((u) => u.extension && !u.disabled).map((u) => u.extension),
    trunk: trunks.map((t) => t.name),
    echo: [],
  };
  const reload = () => render(container);
  const numberEditor = h("div", { class: "panel", id: "number-editor" });
  const trunkEditor = h("div", { class: "panel", id: "trunk-editor" });
  const editNumber = (route) => numberEditor.replaceChildren(numberForm(route, targets, reload));
  const editTrunk = (trunk) => trunkEditor.replaceChildren(trunkForm(trunk, reload));
  const remove = async (number) => {
    if (!confirm(`Remove the route of ${number}? Calls to it will get 404.`)) return;
    await api.delete(`/numbers/${encodeURIComponent(number)}`);
    await reload();
  };
  container.replaceChildren(
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        {},
        h("div", { class: "toolbar" }, h("h2", {}, "Numbers"),
          h("button", { type: "button", onclick: () => editNumber(null) }, "Route a number")),
        h(
          "table",
          { id: "numbers" },
          h("thead", {}, h("tr", {}, ["Number", "Goes to", "", ""].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            numbers.map((n) =>
              h(
                "tr",
                { "data-number": n.number },
                h("td", {}, n.number),
                h("td", {}, KINDS.find(([k]) => k === n.route.kind)?.[1] || n.route.kind, n.route.target ? h("span", { class: "tag" }, n.route.target) : null),
                h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => editNumber(n) }, "Edit")),
                h("td", {}, h("button", { type: "button", class: "danger", onclick: () => remove(n.number) }, "Remove")),
              ),
            ),
          ),
        ),
        h("div", { class: "toolbar", style: "margin-top:1.6em" }, h("h2", {}, "Trunks"),
          h("button", { type: "button", onclick: () => editTrunk(null) }, "New trunk")),
        h(
          "table",
          { id: "trunks" },
          h("thead", {}, h("tr", {}, ["Trunk", "Outbound to", "Trusted sources", "Status", ""].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            trunks.map((t) =>
              h(
                "tr",
                { "data-trunk": t.name, class: t.disabled_at ? "disabled" : null },
                h("td", {}, t.name),
                h("td", {}, t.host ? `${t.transport}:${t.host}:${t.port || 5060}` : "—"),
                h("td", {}, t.trusted_cidrs.split(",").filter(Boolean).map((c) => h("span", { class: "tag" }, c))),
                h("td", {}, t.disabled_at ? "disabled" : "enabled"),
                h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => editTrunk(t) }, "Edit")),
              ),
            ),
          ),
        ),
      ),
      h("div", {}, numberEditor, trunkEditor),
    ),
  );
  editNumber(null);
  editTrunk(null);
}

function numberForm(route, targets, saved) {
  const kind = route?.route.kind || "ivr";
  const list = h("datalist", { id: "route-targets" });
  const target = h("input", { name: "target", list: "route-targets", value: route?.route.target || "" });
  const fill = (chosen) => {
    list.replaceChildren(...targets[chosen].map((t) => h("option", { value: t })));
    target.disabled = chosen === "echo";
    target.placeholder = chosen === "echo" ? "no target" : targets[chosen].join(", ");
  };
  const kinds = select("kind", KINDS, kind, { onchange: (e) => fill(e.target.value) });
  fill(kind);
  const form = h(
    "form",
    { id: "number-form", novalidate: true },
    h("h2", {}, route ? `Number ${route.number}` : "Route a number"),
    h("p", { class: "form-error", role: "alert" }),
    field("Number", h("input", { name: "number", value: route?.number || "", readonly: Boolean(route), placeholder: "e.g. 4005 or +8610…" })),
    field("Goes to", kinds),
    field("Target", target),
    list,
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const number = form.elements.number.value.trim();
    const body = { kind: kinds.value };
    if (kinds.value !== "echo") body.target = target.value.trim();
    try {
      if (!number) throw new ApiError(422, { detail: "`number`: give the number", field: "number" });
      await api.put(`/numbers/${encodeURIComponent(number)}`, body);
      await saved();
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

function trunkForm(trunk, saved) {
  const form = h(
    "form",
    { id: "trunk-form", novalidate: true },
    h("h2", {}, trunk ? `Trunk ${trunk.name}` : "New trunk"),
    h("p", { class: "form-error", role: "alert" }),
    field("Name", h("input", { name: "name", value: trunk?.name || "", readonly: Boolean(trunk) })),
    h(
      "div",
      { class: "grid" },
      field("Host", h("input", { name: "host", value: trunk?.host || "", placeholder: "sip.carrier.example" })),
      field("Port", h("input", { name: "port", type: "number", min: 1, max: 65535, value: trunk?.port ?? "", placeholder: "5060" })),
      field("Transport", select("transport", ["udp", "tcp", "tls", "ws"], trunk?.transport || "udp")),
    ),
    field("Trusted source networks", h("textarea", { name: "trusted_cidrs", rows: 3, placeholder: "one per line, e.g. 203.0.113.0/24" }, (trunk?.trusted_cidrs || "").split(",").filter(Boolean).join("\n"))),
    h("label", { class: "check" }, h("input", { type: "checkbox", name: "disabled", checked: Boolean(trunk?.disabled_at) }), "Disabled (takes and sends no calls)"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const value = (name) => form.elements[name].value.trim();
    const body = {
      host: value("host") || null,
      transport: value("transport"),
      trusted_cidrs: value("trusted_cidrs").split(/[\n,]/).map((s) => s.trim()).filter(Boolean),
      disabled: form.elements.disabled.checked,
    };
    if (value("port")) body.port = Number(value("port"));
    try {
      if (!value("name")) throw new ApiError(422, { detail: "`name`: give the trunk a name", field: "name" });
      await api.put(`/trunks/${encodeURIComponent(value("name"))}`, body);
      await saved();
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

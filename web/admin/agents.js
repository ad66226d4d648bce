// Agents page: the tenant's users with skills, capacity and queues
// (GET /api/v1/users), and a form to create one (POST) or change one (PUT
// /api/v1/users/{username}); errors are shown next to the field they name.

import { api, showError, clearErrors } from "/common/api.js";
import { h, select, field } from "/common/dom.js";

const CHANNELS = ["voice", "chat", "wechat", "sms", "email"];

export async function render(container) {
  const [users, queues] = await Promise.all([api.get("/users"), api.get("/queues")]);
  const editor = h("div", { class: "panel", id: "user-editor" });
  const table = h(
    "table",
    { id: "users" },
    h("thead", {}, h("tr", {}, ["User", "Name", "Ext.", "Role", "Skills", "Capacity", "Queues", ""].map((t) => h("th", {}, t)))),
    h(
      "tbody",
      {},
      users.map((user) =>
        h(
          "tr",
          { class: user.disabled ? "disabled" : null, "data-user": user.username },
          h("td", {}, user.username),
          h("td", {}, user.display_name),
          h("td", {}, user.extension || "—"),
          h("td", {}, user.role),
          h("td", {}, user.skills.map((s) => h("span", { class: "tag" }, `${s.name} ${s.level}`))),
          h("td", {}, CHANNELS.filter((c) => user.capacity[c] > 0).map((c) => `${c} ${user.capacity[c]}`).join(", ") || "—"),
          h("td", {}, user.queues.map((q) => h("span", { class: "tag" }, q.tier > 1 ? `${q.queue} (tier ${q.tier})` : q.queue))),
          h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => edit(user) }, "Edit")),
        ),
      ),
    ),
  );
  const edit = (user) => {
    editor.replaceChildren(userForm(user, queues, () => render(container)));
    editor.querySelector("input:not([readonly])")?.focus();
  };
  container.replaceChildren(
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        {},
        h("div", { class: "toolbar" }, h("h2", {}, "Agents and users"),
          h("button", { type: "button", id: "new-user", onclick: () => edit(null) }, "New user")),
        table,
      ),
      editor,
    ),
  );
  edit(null);
}

function userForm(user, queues, saved) {
  const creating = !user;
  const capacity = user?.capacity || { voice: 1, chat: 3, wechat: 3, sms: 3, email: 5, voice_blocks_other_channels: false };
  const skillRows = h("div", { class: "skills" });
  const addSkill = (skill = { name: "", level: 5 }) => {
    const row = h(
      "div",
      { class: "row skill" },
      h("input", { placeholder: "skill, e.g. english", "data-part": "name", value: skill.name }),
      h("input", { type: "number", min: 1, max: 10, "data-part": "level", value: skill.level, title: "level 1-10" }),
      h("button", { type: "button", class: "danger", title: "remove", onclick: () => { row.remove(); rename(); } }, "×"),
    );
    skillRows.append(row);
    rename();
    return row;
  };
  // Inputs are named after their place in the request (skills[0].level), so
  // an error the API names lands next to the right input.
  const rename = () =>
    skillRows.querySelectorAll(".skill").forEach((row, i) => {
      row.querySelectorAll("input").forEach((input) => (input.name = `skills[${i}].${input.dataset.part}`));
    });
  (user?.skills || []).forEach((skill) => addSkill(skill));
  const member = new Map((user?.queues || []).map((q) => [q.queue, q]));
  const form = h(
    "form",
    { id: "user-form", novalidate: true },
    h("h2", {}, creating ? "New user" : `Edit ${user.username}`),
    h("p", { class: "form-error", role: "alert" }),
    h(
      "div",
      { class: "grid" },
      field("User name", h("input", { name: "username", value: user?.username || "", readonly: !creating, required: true })),
      field("Display name", h("input", { name: "display_name", value: user?.display_name || "" })),
      field("Extension", h("input", { name: "extension", value: user?.extension || "", inputmode: "numeric" })),
      field("Role", select("role", ["agent", "supervisor", "admin"], user?.role || "agent")),
    ),
    field(
      creating ? "Password" : "New password",
      h("input", { name: "password", type: "password", autocomplete: "new-password", placeholder: creating ? "web and SIP password" : "leave empty to keep" }),
    ),
    h("fieldset", { name: "skills" }, h("legend", {}, "Skills (level 1-10)"), skillRows,
      h("button", { type: "button", class: "secondary", id: "add-skill", onclick: () => addSkill().querySelector("input").focus() }, "Add skill")),
    h(
      "fieldset",
      { name: "capacity" },
      h("legend", {}, "Capacity per channel"),
      h("div", { class: "grid" }, CHANNELS.map((c) => field(c, h("input", { type: "number", min: 0, max: 255, name: `capacity.${c}`, value: capacity[c] })))),
      h("label", { class: "check" }, h("input", { type: "checkbox", name: "capacity.voice_blocks_other_channels", checked: capacity.voice_blocks_other_channels }), "A call blocks other channels"),
    ),
    h(
      "fieldset",
      { name: "queues" },
      h("legend", {}, "Queues"),
      queues.map((q) =>
        h(
          "div",
          { class: "row" },
          h("label", { class: "check" }, h("input", { type: "checkbox", "data-queue": q.name, checked: member.has(q.name) }), q.name),
          h("input", { type: "number", min: 1, max: 255, "data-tier": q.name, value: member.get(q.name)?.tier || 1, title: "tier" }),
        ),
      ),
    ),
    creating ? null : h("label", { class: "check" }, h("input", { type: "checkbox", name: "disabled", checked: user.disabled }), "Disabled (no login, no phone, no contacts)"),
    h("div", { class: "actions" }, h("button", { type: "submit" }, creating ? "Create" : "Save"), h("span", { class: "saved", role: "status" })),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const value = (name) => form.elements[name]?.value.trim() ?? "";
    const body = {
      display_name: value("display_name") || undefined,
      role: value("role"),
      skills: [...skillRows.querySelectorAll(".skill")].map((row) => ({
        name: row.querySelector("[data-part=name]").value.trim(),
        level: Number(row.querySelector("[data-part=level]").value),
      })),
      capacity: Object.fromEntries([
        ...CHANNELS.map((c) => [c, Number(value(`capacity.${c}`))]),
        ["voice_blocks_other_channels", form.elements["capacity.voice_blocks_other_channels"].checked],
      ]),
      queues: queues
        .filter((q) => form.querySelector(`[data-queue="${CSS.escape(q.name)}"]`).checked)
        .map((q) => ({ queue: q.name, tier: Number(form.querySelector(`[data-tier="${CSS.escape(q.name)}"]`).value) })),
    };
    if (value("password")) body.password = value("password");
    try {
      if (creating) {
        body.username = value("username");
        if (value("extension")) body.extension = value("extension");
        await api.post("/users", body);
      } else {
        body.extension = value("extension") || null;
        body.disabled = form.elements.disabled.checked;
        await api.put(`/users/${encodeURIComponent(user.username)}`, body);
      }
      await saved();
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

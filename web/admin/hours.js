// Business hours page: the tenant's calendars (GET /api/v1/calendars) with
// whether each is open now, edited or created with PUT
// /api/v1/calendars/{name}: a time zone, opening intervals per weekday and
// holidays.

import { api, showError, clearErrors, ApiError } from "/common/api.js";
import { h, field } from "/common/dom.js";

const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

export async function render(container) {
  const calendars = await api.get("/calendars");
  const editor = h("div", { class: "panel", id: "calendar-editor" });
  const edit = (calendar) => editor.replaceChildren(calendarForm(calendar, () => render(container)));
  container.replaceChildren(
    h(
      "div",
      { class: "columns" },
      h(
        "div",
        {},
        h("div", { class: "toolbar" }, h("h2", {}, "Business hours"),
          h("button", { type: "button", onclick: () => edit(null) }, "New calendar")),
        h(
          "table",
          { id: "calendars" },
          h("thead", {}, h("tr", {}, ["Calendar", "Time zone", "Week", "Holidays", "Now", ""].map((t) => h("th", {}, t)))),
          h(
            "tbody",
            {},
            calendars.map((c) =>
              h(
                "tr",
                { "data-calendar": c.name },
                h("td", {}, c.name),
                h("td", {}, c.time_zone),
                h("td", {}, DAYS.filter((d) => c.weekly[d]?.length).map((d) => h("div", { class: "nowrap" }, `${d} ${c.weekly[d].join(", ")}`))),
                h("td", {}, (c.holidays || []).map((d) => h("span", { class: "tag" }, d))),
                h("td", {}, h("span", { class: c.open_now ? "tag good" : "tag bad" }, c.open_now ? "open" : "closed")),
                h("td", {}, h("button", { type: "button", class: "secondary", onclick: () => edit(c) }, "Edit")),
              ),
            ),
          ),
        ),
      ),
      editor,
    ),
  );
  edit(calendars[0] || null);
}

function calendarForm(calendar, saved) {
  const zones = typeof Intl.supportedValuesOf === "function" ? Intl.supportedValuesOf("timeZone") : [];
  const form = h(
    "form",
    { id: "calendar-form", novalidate: true },
    h("h2", {}, calendar ? `Calendar ${calendar.name}` : "New calendar"),
    h("p", { class: "form-error", role: "alert" }),
    field("Name", h("input", { name: "name", value: calendar?.name || "", readonly: Boolean(calendar) })),
    field("Time zone", h("input", { name: "time_zone", list: "time-zones", value: calendar?.time_zone || Intl.DateTimeFormat().resolvedOptions().timeZone })),
    h("datalist", { id: "time-zones" }, zones.map((z) => h("option", { value: z }))),
    h(
      "fieldset",
      { name: "weekly" },
      h("legend", {}, "Opening hours", h("span", { class: "hint" }, " e.g. 09:00-12:00, 13:00-18:00; empty: closed")),
      DAYS.map((d) => h("div", { class: "row" }, h("span", { class: "day" }, d), h("input", { name: `weekly.${d}`, value: (calendar?.weekly[d] || []).join(", ") }))),
    ),
    field("Holidays", h("textarea", { name: "holidays", rows: 4, placeholder: "one date per line, YYYY-MM-DD" }, (calendar?.holidays || []).join("\n"))),
    h("div", { class: "actions" }, h("button", { type: "submit" }, "Save")),
  );
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const value = (name) => form.elements[name].value.trim();
    const list = (text) => text.split(/[\n,]/).map((s) => s.trim()).filter(Boolean);
    const body = {
      time_zone: value("time_zone"),
      weekly: Object.fromEntries(DAYS.map((d) => [d, list(value(`weekly.${d}`))])),
      holidays: list(value("holidays")),
    };
    try {
      if (!value("name")) throw new ApiError(422, { detail: "`name`: give the calendar a name", field: "name" });
      await api.put(`/calendars/${encodeURIComponent(value("name"))}`, body);
      await saved();
    } catch (error) {
      showError(form, error);
    }
  });
  return form;
}

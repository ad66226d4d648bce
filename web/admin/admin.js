// The admin pages' shell: log in (admins and supervisors), then a page per
// subject chosen by the URL's hash: #agents, #queues, #numbers, #ivr, #hours.
// Each page module exports `render(container, context)`.

import { requireSession } from "/common/login.js";
import { logout } from "/common/api.js";
import { h } from "/common/dom.js";
import * as agents from "/admin/agents.js";
import * as queues from "/admin/queues.js";
import * as numbers from "/admin/numbers.js";
import * as ivr from "/admin/ivr.js";
import * as hours from "/admin/hours.js";

const PAGES = [
  ["agents", "Agents", agents],
  ["queues", "Queues", queues],
  ["numbers", "Numbers & trunks", numbers],
  ["ivr", "IVR flows", ivr],
  ["hours", "Business hours", hours],
];

const app = document.getElementById("app");

function start(session) {
  const nav = h(
    "nav",
    { class: "tabs" },
    PAGES.map(([id, label]) => h("a", { href: `#${id}`, "data-page": id }, label)),
  );
  const content = h("section", { class: "page", id: "page" });
  app.replaceChildren(
    h(
      "header",
      { class: "top" },
      h("strong", { class: "brand" }, "kefu admin"),
      nav,
      h(
        "span",
        { class: "who" },
        `${session.user.display_name} · ${session.user.role} · ${session.user.tenant}`,
        h("button", { type: "button", class: "secondary", id: "logout", onclick: () => logout() }, "Log out"),
      ),
    ),
    content,
  );
  const show = () => {
    const id = location.hash.slice(1).split("?")[0] || "agents";
    const page = PAGES.find(([name]) => name === id) || PAGES[0];
    nav.querySelectorAll("a").forEach((a) => a.classList.toggle("active", a.dataset.page === page[0]));
    content.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    page[2].render(content, { session }).catch((error) => {
      content.replaceChildren(h("p", { class: "form-error" }, error.message));
    });
  };
  window.onhashchange = show;
  show();
}

requireSession(app, { title: "kefu admin", roles: ["admin", "supervisor"], onSession: start });

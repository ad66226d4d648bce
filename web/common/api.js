// kefu's API from the browser, shared by the admin pages, the agent
// workspace and the supervisor wallboard: fetch under /api/v1 with the
// session's bearer token, problem documents (RFC 9457) thrown as ApiError
// naming the field that is wrong, and the session (from POST /api/v1/sessions)
// kept in localStorage until it expires or the user logs out.
//
//   import { api, login, logout, session, ApiError } from "/common/api.js";
//   const me = await api.get("/me");
//   await api.put("/queues/sales", { strategy: "round-robin" });

const KEY = "kefu.session";

/** An API answer that was not 2xx: `status`, the problem document, `field`. */
export class ApiError extends Error {
  constructor(status, problem) {
    super(problem.detail || problem.title || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.problem = problem;
    // kefu names the field in `field`, and in the detail as "`field`: …".
    this.field = problem.field || fieldIn(problem.detail);
  }
}

function fieldIn(detail) {
  const match = /^`([^`]+)`:/.exec(detail || "");
  return match ? match[1] : null;
}

/** The stored session: { token, expires_at, user: { username, role, tenant, … } }. */
export const session = {
  get() {
    let stored = null;
    try {
      stored = JSON.parse(localStorage.getItem(KEY) || "null");
    } catch {
      stored = null;
    }
    if (!stored || !stored.token || (stored.expires_at && stored.expires_at <= Date.now())) {
      if (stored) localStorage.removeItem(KEY);
      return null;
    }
    return stored;
  },
  set(value) {
    localStorage.setItem(KEY, JSON.stringify(value));
  },
  clear() {
    localStorage.removeItem(KEY);
  },
  token() {
    return this.get()?.token || null;
  },
};

/**
 * Calls the API. `body` is sent as JSON unless it is a string (then with
 * `contentType`, default text/plain); `query` adds parameters (null and
 * undefined are left out). Answers parsed JSON, text, or null for 204.
 * A 401 on a request that carried a token ends the session and fires
 * `kefu:logged-out` on window.
 */
export async function request(method, path, { body, query, contentType, accept } = {}) {
  const url = new URL(`/api/v1${path}`, location.origin);
  for (const [name, value] of Object.entries(query || {})) {
    if (value !== null && value !== undefined && value !== "") url.searchParams.set(name, value);
  }
  const headers = {};
  const token = session.token();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (accept) headers.Accept = accept;
  let payload;
  if (typeof body === "string") {
    headers["Content-Type"] = contentType || "text/plain; charset=utf-8";
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  const response = await fetch(url, { method, headers, body: payload });
  if (response.status === 401 && token) {
    session.clear();
    window.dispatchEvent(new CustomEvent("kefu:logged-out"));
  }
  const type = response.headers.get("content-type") || "";
  if (!response.ok) {
    let problem;
    const text = await response.text();
    try {
      problem = JSON.parse(text);
    } catch {
      problem = { title: response.statusText, status: response.status, detail: text };
    }
    throw new ApiError(response.status, problem);
  }
  if (response.status === 204) return null;
  return type.includes("json") ? response.json() : response.text();
}

export const api = {
  get: (path, query) => request("GET", path, { query }),
  post: (path, body, query) => request("POST", path, { body, query }),
  put: (path, body, query) => request("PUT", path, { body, query }),
  delete: (path, query) => request("DELETE", path, { query }),
  request,
};

/** Logs in ({ tenant?, username, password }) and stores the session. */
export async function login(credentials) {
  const body = { username: credentials.username, password: credentials.password };
  if (credentials.tenant) body.tenant = credentials.tenant;
  const created = await request("POST", "/sessions", { body });
  session.set(created);
  return created;
}

/** Logs out: revokes the session token (when the server still knows it) and forgets it. */
export async function logout() {
  if (session.token()) {
    await request("DELETE", "/sessions/current").catch(() => {});
  }
  session.clear();
  window.dispatchEvent(new CustomEvent("kefu:logged-out"));
}

/**
 * Shows an error after the form control (or fieldset, or the control's
 * `.row`) whose `name` is the
 * problem's field, or the closest enclosing one (`skills[0].level`, then
 * `skills[0]`, then `skills`), else in the form's `.form-error` element.
 * Clears earlier errors first.
 */
export function showError(form, error) {
  clearErrors(form);
  const field = error instanceof ApiError ? error.field : null;
  const message = error instanceof ApiError ? error.message : String(error.message || error);
  // `skills[0].level`, then `skills[0]`, then `skills`: the closest control.
  const candidates = [];
  for (let name = field; name; name = name.replace(/(\[\d+\]|\.[^.[]+)$/, "")) {
    if (candidates.includes(name)) break;
    candidates.push(name);
  }
  for (const name of candidates) {
    const control = form.querySelector(`[name="${CSS.escape(name)}"]`);
    if (control) {
      const note = document.createElement("small");
      note.className = "field-error";
      // Next to the field, its name need not be repeated.
      note.textContent = message.replace(/^`[^`]+`:\s*/, "");
      control.setAttribute("aria-invalid", "true");
      (control.closest(".row") || control).insertAdjacentElement("afterend", note);
      control.focus();
      return;
    }
  }
  let general = form.querySelector(".form-error");
  if (!general) {
    general = document.createElement("p");
    general.className = "form-error";
    form.prepend(general);
  }
  general.textContent = message;
}

/** Removes the errors `showError` put in the form. */
export function clearErrors(form) {
  form.querySelectorAll(".field-error").forEach((note) => note.remove());
  form.querySelectorAll("[aria-invalid]").forEach((control) => control.removeAttribute("aria-invalid"));
  form.querySelectorAll(".form-error").forEach((general) => (general.textContent = ""));
}

/** Escapes text for building HTML strings (prefer textContent where possible). */
export function escapeHtml(text) {
  return String(text ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

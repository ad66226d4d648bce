// A login form for kefu's pages, on the sessions API (POST /api/v1/sessions):
// tenant (optional), user name or extension, password. Errors from the API
// are shown next to the field they name, or above the form.
//
//   import { requireSession } from "/common/login.js";
//   requireSession(document.querySelector("main"), {
//     title: "kefu admin",
//     roles: ["admin", "supervisor"],
//     // s.user.role, s.user.tenant, …; credentials is { password } right
//     // after a login, undefined for a stored session.
//     onSession: (s, credentials) => startApp(s, credentials),
//   });

import { login, logout, session, showError, clearErrors } from "./api.js";

/**
 * A login form element; `onLogin(session, { password })` runs after a
 * successful login.
 */
export function loginForm({ title = "Log in", onLogin, roles } = {}) {
  const form = document.createElement("form");
  form.className = "kefu-login";
  form.noValidate = true;
  form.innerHTML = `
    <h1></h1>
    <p class="form-error" role="alert"></p>
    <label>Tenant <span class="hint">(optional)</span>
      <input name="tenant" autocomplete="organization" placeholder="e.g. demo"></label>
    <label>User name or extension
      <input name="username" autocomplete="username" required></label>
    <label>Password
      <input name="password" type="password" autocomplete="current-password" required></label>
    <button type="submit">Log in</button>`;
  form.querySelector("h1").textContent = title;
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearErrors(form);
    const data = Object.fromEntries(new FormData(form));
    const button = form.querySelector("button");
    button.disabled = true;
    try {
      const created = await login(data);
      if (roles && !roles.includes(created.user.role)) {
        await logout();
        throw new Error(`user ${created.user.username} is ${created.user.role}; this page is for ${roles.join(" or ")}`);
      }
      form.reset();
      // The password goes to the page once, in memory (a browser phone
      // registers with it); it is never stored.
      onLogin?.(created, { password: data.password });
    } catch (error) {
      showError(form, error);
    } finally {
      button.disabled = false;
    }
  });
  return form;
}

/**
 * Runs `onSession(session)` with the stored session, or shows the login form
 * in `container` first (then `onSession(session, { password })`). When the session ends (logout, a 401), the form
 * comes back and `onSession` runs again after the next login.
 */
export function requireSession(container, { title, roles, onSession }) {
  const show = () => {
    const current = session.get();
    if (current && (!roles || roles.includes(current.user.role))) {
      onSession(current);
      return;
    }
    container.replaceChildren(loginForm({ title, roles, onLogin: onSession }));
    container.querySelector("input[name=username]").focus();
  };
  window.addEventListener("kefu:logged-out", show);
  show();
}

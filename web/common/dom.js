// Building DOM without HTML strings, so text from the API is always text:
//   h("td", { class: "muted" }, user.display_name)
//   h("button", { type: "button", onclick: save }, "Save")
// Attributes starting with `on` become listeners; `false`/null ones are left
// out; children may be strings, nodes, arrays or null.

export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (name.startsWith("on") && typeof value === "function") {
      element.addEventListener(name.slice(2), value);
    } else if (name === "value" && "value" in element) {
      element.value = value;
    } else if (name === "checked" || name === "selected") {
      element[name] = Boolean(value);
    } else {
      element.setAttribute(name, value === true ? "" : value);
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(element, child);
    else element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** A <select> with these options ([value, label] or value), `selected` chosen. */
export function select(name, options, selected, attributes = {}) {
  return h(
    "select",
    { name, ...attributes },
    options.map((option) => {
      const [value, label] = Array.isArray(option) ? option : [option, option];
      return h("option", { value, selected: value === selected }, label);
    }),
  );
}

/** A labelled control: <label>Text <control> <small hint></label>. */
export function field(label, control, hint) {
  return h("label", {}, label, hint ? h("span", { class: "hint" }, ` ${hint}`) : null, control);
}

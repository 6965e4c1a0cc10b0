// Every node is built by construction: text goes in through text nodes, never
// through an HTML parser, so a product named `<img src=x onerror=…>` is shown
// as those characters. (The page's CSP also enforces Trusted Types, so an
// innerHTML assignment with a string would throw.)

const PROPERTIES = new Set(["value", "disabled", "hidden", "required"]);

function apply(el, props) {
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === "function" && key.startsWith("on")) {
      el.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      el.setAttribute("class", Array.isArray(value) ? value.filter(Boolean).join(" ") : value);
    } else if (key === "checked" || key === "selected") {
      // The default too, so that form.reset() comes back to it.
      el[`default${key[0].toUpperCase()}${key.slice(1)}`] = value;
      el[key] = value;
    } else if (PROPERTIES.has(key)) {
      el[key] = value;
    } else {
      el.setAttribute(key, value === true ? "" : String(value));
    }
  }
}

export function append(parent, children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return parent;
}

/** An HTML element: h("a", {href: "#/x"}, "text", otherNode). */
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  apply(el, props);
  return append(el, children);
}

const SVG = "http://www.w3.org/2000/svg";

/** An SVG element, the same way. */
export function s(tag, props, ...children) {
  const el = document.createElementNS(SVG, tag);
  apply(el, props);
  return append(el, children);
}

/** Replace a node's children. */
export function fill(parent, ...children) {
  parent.replaceChildren();
  return append(parent, children);
}

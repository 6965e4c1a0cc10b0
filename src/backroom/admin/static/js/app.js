// The app shell: sign-in, role-aware navigation, and the view for the current hash.
import { currentUser, isAdmin, onChange, signIn, signOut } from "./auth.js";
import { fill, h } from "./dom.js";
import { location, match, route } from "./router.js";
import { describe, errorNotice, loading, notice, takeFlash } from "./widgets.js";
import * as coupons from "./pages/coupons.js";
import * as dashboard from "./pages/dashboard.js";
import * as imports from "./pages/imports.js";
import * as order from "./pages/order.js";
import * as orders from "./pages/orders.js";
import * as product from "./pages/product.js";
import * as products from "./pages/products.js";
import * as users from "./pages/users.js";
import * as webhooks from "./pages/webhooks.js";

route("/", dashboard.view);
route("/products", products.view);
route("/products/new", product.create);
route("/products/:id", product.edit);
route("/orders", orders.view);
route("/orders/:id", order.view);
route("/imports", imports.view);
route("/coupons", coupons.view);
route("/users", users.view, { admin: true });
route("/webhooks", webhooks.view, { admin: true });
route("/webhooks/:id", webhooks.deliveries, { admin: true });

const NAV = [
  { path: "/", label: "Dashboard" },
  { path: "/products", label: "Products" },
  { path: "/orders", label: "Orders" },
  { path: "/imports", label: "Imports & exports" },
  { path: "/coupons", label: "Coupons" },
  { path: "/users", label: "Users", admin: true },
  { path: "/webhooks", label: "Webhooks", admin: true },
];

const root = document.getElementById("app");
let controller = null;
let signedOutMessage = null;

function signInView() {
  const status = h("div", { "aria-live": "polite" }, signedOutMessage ? notice("info", signedOutMessage) : null);
  const email = h("input", { name: "email", type: "email", autocomplete: "username", required: true });
  const password = h("input", { name: "password", type: "password", autocomplete: "current-password", required: true });
  const submit = h("button", { type: "submit", class: "primary" }, "Sign in");
  const form = h(
    "form",
    {
      class: "signin card",
      "aria-labelledby": "signin-title",
      onsubmit: async (event) => {
        event.preventDefault();
        submit.disabled = true;
        fill(status);
        try {
          await signIn(email.value, password.value);
        } catch (error) {
          fill(status, notice("error", error.message || describe(error)));
          submit.disabled = false;
          password.select();
        }
      },
    },
    h("h1", { id: "signin-title" }, "backroom admin"),
    status,
    h("label", { for: "signin-email" }, "Email"),
    Object.assign(email, { id: "signin-email" }),
    h("label", { for: "signin-password" }, "Password"),
    Object.assign(password, { id: "signin-password" }),
    submit,
  );
  return h("main", { class: "signin-page" }, form);
}

function navLinks(path) {
  const section = `/${path.split("/")[1] || ""}`;
  return NAV.filter((item) => !item.admin || isAdmin()).map((item) =>
    h("li", {}, h("a", { href: `#${item.path}`, "aria-current": item.path === section ? "page" : false }, item.label)),
  );
}

function shell(user) {
  const list = h("ul", { id: "nav-list" });
  const menu = h("button", { type: "button", class: "menu", "aria-expanded": "false", "aria-controls": "nav-list" }, "Menu");
  menu.addEventListener("click", () => {
    const open = menu.getAttribute("aria-expanded") !== "true";
    menu.setAttribute("aria-expanded", String(open));
    list.classList.toggle("open", open);
  });
  const flashSlot = h("div", { class: "flash" });
  const content = h("div", { class: "content" });
  const main = h("main", { id: "main", tabindex: "-1" }, flashSlot, content);
  const skip = h("button", { type: "button", class: "skip", onclick: () => main.focus() }, "Skip to content");
  const header = h(
    "header",
    { class: "top" },
    skip,
    h("a", { class: "brand", href: "#/" }, "backroom"),
    menu,
    h("nav", { "aria-label": "Main" }, list),
    h(
      "div",
      { class: "who" },
      h("span", { class: "muted" }, `${user.email} · ${user.role}`),
      h("button", { type: "button", onclick: () => signOut() }, "Sign out"),
    ),
  );
  return { header, list, menu, main, flashSlot, content };
}

let layout = null;

async function render() {
  controller?.abort();
  controller = new AbortController();
  const user = currentUser();
  if (!user) {
    layout = null;
    fill(root, signInView());
    root.querySelector("input")?.focus();
    return;
  }
  if (!layout) {
    layout = shell(user);
    fill(root, layout.header, layout.main);
  }
  const { path, query } = location();
  fill(layout.list, navLinks(path));
  layout.list.classList.remove("open");
  layout.menu.setAttribute("aria-expanded", "false");
  const found = match(path);
  const { content, main } = layout;
  fill(layout.flashSlot, takeFlash());
  fill(content, loading());
  const { signal } = controller;
  try {
    if (!found) fill(content, notice("error", "No such page."));
    else if (found.admin && !isAdmin()) fill(content, notice("error", "This page is for admins."));
    else await found.view(content, { params: found.params, query, signal });
  } catch (error) {
    if (!signal.aborted) fill(content, errorNotice(error));
  }
  if (!signal.aborted) (content.querySelector("h1") || main).focus({ preventScroll: true });
}

onChange((user, reason) => {
  signedOutMessage = reason === "expired" ? "Your session has ended. Please sign in again." : null;
  if (!user) {
    layout = null;
  }
  render();
});
window.addEventListener("hashchange", render);
render();

// Users (admins only): create accounts, change roles, deactivate, erase.
import { api, withQuery } from "../api.js";
import { currentUser } from "../auth.js";
import { fill, h } from "../dom.js";
import { dateTime } from "../format.js";
import { badge, busy, confirm, errorNotice, field, heading, loading, notice, Pager, showErrors, table } from "../widgets.js";

const ROLES = ["customer", "staff", "admin"];

function roleSelect(selected, props = {}) {
  return h("select", props, ROLES.map((role) => h("option", { value: role, selected: role === selected }, role)));
}

function createForm(onCreated) {
  const email = h("input", { name: "email", type: "email", required: true, autocomplete: "off" });
  const name = h("input", { name: "full_name", required: true });
  const password = h("input", { name: "password", type: "password", required: true, autocomplete: "new-password" });
  const role = roleSelect("staff", { name: "role" });
  const status = h("div", { "aria-live": "polite" });
  const submit = h("button", { type: "submit", class: "primary" }, "Create user");
  const form = h("form", { class: "form inline-form", novalidate: true },
    field("Email", email), field("Full name", name), field("Password", password, "At least 12 characters, not a common password."),
    field("Role", role), h("div", { class: "actions" }, submit));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    busy(submit, null, async () => {
      try {
        const body = { email: email.value.trim(), full_name: name.value.trim(), password: password.value, role: role.value };
        const { data } = await api.post("/users", body);
        form.reset();
        showErrors(form, null);
        fill(status, notice("success", `Created ${data.email} (${data.role}).`));
        onCreated();
      } catch (error) {
        const rest = showErrors(form, error);
        fill(status, errorNotice(error), rest.length ? notice("error", rest.join("; ")) : null);
      }
    });
  });
  return h("div", {}, form, status);
}

export async function view(main, { signal }) {
  const me = currentUser();
  const status = h("div", { "aria-live": "polite" });
  const results = h("div", {}, loading());
  const pager = new Pager(() => load());

  async function patch(user, body, control, done) {
    await busy(control, status, async () => {
      await api.patch(`/users/${user.id}`, body);
      fill(status, notice("success", `${user.email}: ${done}.`));
      await load();
    });
  }

  async function erase(user, control) {
    const question = `Erase ${user.email}? Their personal data is removed and they are signed out; their orders are kept.`;
    if (!(await confirm(question, "Erase"))) return;
    await busy(control, status, async () => {
      await api.delete(`/users/${user.id}`);
      fill(status, notice("success", `Erased ${user.email}.`));
      await load();
    });
  }

  function actions(user) {
    if (user.id === me.id) return h("span", { class: "muted" }, "you");
    const role = roleSelect(user.role, { "aria-label": `Role of ${user.email}` });
    role.addEventListener("change", () => patch(user, { role: role.value }, role, `role is now ${role.value}`));
    const toggle = h("button", { type: "button" }, user.is_active ? "Deactivate" : "Activate");
    toggle.addEventListener("click", () => patch(user, { is_active: !user.is_active }, toggle, user.is_active ? "deactivated" : "activated"));
    const del = h("button", { type: "button", class: "danger" }, "Erase");
    del.addEventListener("click", () => erase(user, del));
    return h("div", { class: "row-actions" }, role, toggle, del);
  }

  async function load() {
    try {
      const { data } = await api.get(withQuery("/users", { limit: 20, cursor: pager.cursor }), { signal });
      pager.next = data.next_cursor;
      fill(results, table({
        columns: [
          { title: "Email", cell: (u) => u.email },
          { title: "Name", cell: (u) => u.full_name },
          { title: "Role", cell: (u) => badge(u.role) },
          { title: "Status", cell: (u) => badge(u.is_active ? "active" : "inactive") },
          { title: "Joined", cell: (u) => dateTime(u.created_at) },
          { title: "Actions", cell: actions },
        ],
        rows: data.items,
      }), pager.controls());
    } catch (error) {
      if (!signal.aborted) fill(results, errorNotice(error));
    }
  }

  fill(main, heading("Users"), status, results,
    h("section", { class: "card", "aria-labelledby": "new-user" }, h("h2", { id: "new-user" }, "New user"), createForm(() => { pager.reset(); load(); })));
  await load();
}

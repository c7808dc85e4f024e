"use strict";
// Admin (and analyst) page: users, queues (edit, add, remove), campaigns on/off, audit log.
document.addEventListener("DOMContentLoaded", () => {
  const { t, api, el } = H;
  const $ = (id) => document.getElementById(id);

  async function loadUsers() {
    if (!$("users")) return;
    const { users } = await api("GET", "/api/admin/users");
    $("users").tBodies[0].replaceChildren(...users.map((u) => el("tr", { onclick: () => {
      $("edit-username").value = u.username;
      for (const box of $("edit-roles").querySelectorAll("input")) box.checked = u.roles.includes(box.value);
      $("edit-extension").value = u.extension;
      $("edit-skills").value = Object.entries(u.skills).map(([k, v]) => `${k}:${v}`).join(",");
    } },
      el("td", {}, u.username), el("td", {}, u.roles.map((r) => t("role." + r)).join(", ")), el("td", {}, u.extension),
      el("td", {}, Object.entries(u.skills).map(([k, v]) => `${k}:${v}`).join(", ")),
      el("td", {}, el("input", { type: "checkbox", checked: u.enabled, onchange: async (ev) => {
        try { await api("PATCH", `/api/admin/users/${encodeURIComponent(u.username)}`, { enabled: ev.target.checked }); } catch (e) { alert(e.message); loadUsers(); }
      } })),
      // May log in to the queues at another free desk, confirmed with the code its phone shows.
      el("td", {}, el("input", { type: "checkbox", checked: u.hot_desk, "aria-label": t("admin.hot_desk"), onchange: async (ev) => {
        try { await api("PATCH", `/api/admin/users/${encodeURIComponent(u.username)}`, { hot_desk: ev.target.checked }); } catch (e) { alert(e.message); loadUsers(); }
      } })))));
  }
  // Queues: one row each, an edit form under the row on demand, and a form to add a queue.
  const STRATEGIES = ["longest-idle", "fewest-calls", "best-skill"];
  const ACTIONS = ["callback", "message"];
  const num = (v) => (v === null || v === undefined ? "" : String(v));
  const orNull = (input) => (input.value.trim() === "" ? null : Number(input.value));
  const choose = (name, values, current, label, show = (v) => t(`${name}.${v}`)) => el("select", { name, "aria-label": label },
    values.map((v) => el("option", { value: v, selected: v === current }, v ? show(v) : t("admin.none"))));
  function queueForm(q, names, onDone) {
    const field = (name, label, input) => el("label", {}, label, " ", input);
    const number = (name, value, attrs) => el("input", { name, type: "number", step: "any", value: num(value), size: 5, ...attrs });
    const result = el("span", { class: "result", role: "status" });
    const shown = (text, kind) => { result.textContent = text; result.className = `result ${kind}`; };
    const form = el("form", { class: "queue-form bar" },
      q.name ? null : field("name", t("admin.queue_name"), el("input", { name: "name", required: true, pattern: "[a-z][a-z0-9_\\-]{1,39}", size: 12 })),
      field("skill", t("admin.skills"), el("input", { name: "skill", value: q.skill || "", size: 10, placeholder: q.name || "" })),
      field("strategy", t("admin.strategy"), choose("strategy", STRATEGIES, q.strategy, t("admin.strategy"))),
      field("weight", t("admin.weight"), number("weight", q.weight ?? 0, { min: -100, max: 100 })),
      field("service_level_s", t("admin.service_level_s"), number("service_level_s", q.service_level_s ?? 20, { min: 1, max: 3600, required: true })),
      field("wrapup_s", t("admin.wrapup_s"), number("wrapup_s", q.own_wrapup_s, { min: 0, max: 3600, placeholder: t("admin.site_default") })),
      // Off (the default): an agent with a wrap-up form open gets no call until it is saved.
      el("label", {}, el("input", { name: "offer_during_wrapup", type: "checkbox", checked: q.offer_during_wrapup === true }), " ", t("admin.offer_during_wrapup")),
      field("overflow_after_s", t("admin.overflow_after_s"), number("overflow_after_s", q.overflow_after_s, { min: 0, max: 86400 })),
      field("overflow_to", t("admin.overflow_to"), choose("overflow_to", ["", ...names.filter((n) => n !== q.name)], q.overflow_to || "", t("admin.overflow_to"), (v) => v)),
      field("max_wait_s", t("admin.max_wait_s"), number("max_wait_s", q.max_wait_s, { min: 1, max: 86400 })),
      field("max_wait_action", t("admin.max_wait_action"), choose("max_wait_action", ACTIONS, q.max_wait_action || "callback", t("admin.max_wait_action"))),
      el("button", { type: "submit" }, q.name ? t("admin.save") : t("admin.add_queue")),
      q.name ? el("button", { type: "button", class: "remove", onclick: async () => {
        if (!confirm(t("admin.confirm_remove").replace("{name}", q.name))) return;
        try { await api("DELETE", `/api/admin/queues/${encodeURIComponent(q.name)}`); onDone(); } catch (e) { shown(e.message, "error"); }
      } }, t("admin.remove")) : null,
      " ", result);
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      const f = form.elements;
      const name = q.name || f.name.value.trim();
      const body = {
        skill: f.skill.value.trim(), strategy: f.strategy.value, weight: Number(f.weight.value || 0),
        service_level_s: Number(f.service_level_s.value), wrapup_s: orNull(f.wrapup_s),
        offer_during_wrapup: f.offer_during_wrapup.checked,
        overflow_after_s: orNull(f.overflow_after_s), overflow_to: f.overflow_to.value,
        max_wait_s: orNull(f.max_wait_s), max_wait_action: f.max_wait_action.value,
      };
      try {
        await api("PUT", `/api/admin/queues/${encodeURIComponent(name)}`, body);
        shown("✓", "note"); onDone();
      } catch (e) { shown(e.message, "error"); }
    });
    return form;
  }
  async function loadQueues() {
    if (!$("queues")) return;
    const { queues, saved } = await api("GET", "/api/admin/queues");
    $("queues-not-saved").hidden = saved;
    const names = queues.map((q) => q.name);
    const rows = [];
    for (const q of queues) {
      const editRow = el("tr", { class: "queue-edit", hidden: true, "data-queue": q.name },
        el("td", { colspan: 9 }, queueForm(q, names, loadQueues)));
      rows.push(el("tr", { "data-queue": q.name },
        el("td", {}, q.name), el("td", {}, q.skill), el("td", {}, t(`strategy.${q.strategy}`)), el("td", {}, q.weight),
        el("td", { class: "service-level" }, `${q.service_level_s} s`),
        el("td", { class: "wrapup" }, `${q.wrapup_s} s`, q.own_wrapup_s === null ? ` (${t("admin.site_default")})` : "",
          q.offer_during_wrapup ? `, ${t("admin.offers_during_wrapup")}` : ""),
        el("td", {}, q.overflow_to ? `${q.overflow_after_s} s → ${q.overflow_to}` : "—"),
        el("td", {}, q.max_wait_s === null ? "—" : `${q.max_wait_s} s, ${t(`max_wait_action.${q.max_wait_action}`)}`),
        el("td", {}, el("button", { type: "button", class: "edit", onclick: () => { editRow.hidden = !editRow.hidden; } }, t("admin.edit")))),
        editRow);
    }
    $("queues").tBodies[0].replaceChildren(...rows);
    $("queue-add").replaceChildren(queueForm({}, names, loadQueues));
    loadAudit().catch((e) => console.error(e));
  }
  async function loadCampaigns() {
    if (!$("campaigns")) return;
    const { campaigns } = await api("GET", "/api/admin/campaigns");
    const set = (c, status) => async () => {
      try { await api("PUT", `/api/admin/campaigns/${c.id}/status`, { status }); } catch (e) { alert(e.message); }
      loadCampaigns();
    };
    // A code as a person reads it: its word from the catalog, the code itself if it has none.
    const word = (prefix, value) => { const key = prefix + value; const w = t(key); return w === key ? value : w; };
    $("campaigns").tBodies[0].replaceChildren(...campaigns.map((c) => el("tr", { "data-campaign": c.id },
      el("td", {}, c.name), el("td", { class: "kind" }, word("campaigns.kind.", c.kind)),
      el("td", { class: "status", title: c.status_reason || "" }, word("campaigns.status.", c.status), c.status_reason ? el("small", { class: "status-reason" }, ` — ${c.status_reason}`) : ""),
      el("td", {}, el("button", { type: "button", onclick: set(c, "online") }, t("admin.online")),
        el("button", { type: "button", onclick: set(c, "paused") }, t("admin.paused"))))));
  }
  async function loadAudit() {
    if (!$("audit")) return;
    const { entries } = await api("GET", "/api/admin/audit");
    $("audit").tBodies[0].replaceChildren(...entries.slice(0, 50).map((e) => el("tr", {},
      el("td", {}, H.fmtTime(e.at, true, true)), el("td", {}, e.actor), el("td", {}, e.action), el("td", {}, e.target))));
  }
  // A user may hold several roles (a team leader who also takes calls: agent and supervisor).
  const pickedRoles = (id) => [...$(id).querySelectorAll("input:checked")].map((box) => box.value);
  function parseSkills(text) {
    const skills = {};
    for (const part of text.split(",")) {
      const [k, v] = part.split(":").map((x) => x.trim());
      if (k) skills[k] = Number(v || 1);
    }
    return skills;
  }
  const edit = $("user-edit-form");
  if (edit) edit.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = {};
    if (pickedRoles("edit-roles").length) body.roles = pickedRoles("edit-roles");
    if ($("edit-extension").value) body.extension = $("edit-extension").value;
    if ($("edit-skills").value) body.skills = parseSkills($("edit-skills").value);
    try {
      await api("PATCH", `/api/admin/users/${encodeURIComponent($("edit-username").value)}`, body);
      $("edit-result").textContent = "✓"; loadUsers();
    } catch (e) { $("edit-result").textContent = e.message; }
  });
  const form = $("user-form");
  if (form) form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const skills = parseSkills($("new-skills").value);
    try {
      await api("POST", "/api/admin/users", { username: $("new-username").value, password: $("new-password").value,
        roles: pickedRoles("new-roles"), extension: $("new-extension").value, skills });
      form.reset(); $("user-result").textContent = "✓"; loadUsers();
    } catch (e) { $("user-result").textContent = e.message; }
  });
  Promise.all([loadUsers(), loadQueues(), loadCampaigns(), loadAudit()]).catch((e) => console.error(e));
});

"use strict";
// Admin (and analyst) page: users, queues, campaigns on/off, audit log.
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
      } })))));
  }
  async function loadQueues() {
    if (!$("queues")) return;
    const { queues } = await api("GET", "/api/admin/queues");
    $("queues").replaceChildren(...queues.map((q) => el("li", {}, `${q.name} (${q.skill}, ${q.strategy})`)));
  }
  async function loadCampaigns() {
    if (!$("campaigns")) return;
    const { campaigns } = await api("GET", "/api/admin/campaigns");
    const set = (c, status) => async () => {
      try { await api("PUT", `/api/admin/campaigns/${c.id}/status`, { status }); } catch (e) { alert(e.message); }
      loadCampaigns();
    };
    $("campaigns").tBodies[0].replaceChildren(...campaigns.map((c) => el("tr", {},
      el("td", {}, c.name), el("td", {}, c.kind), el("td", {}, c.status),
      el("td", {}, el("button", { type: "button", onclick: set(c, "online") }, t("admin.online")),
        el("button", { type: "button", onclick: set(c, "paused") }, t("admin.paused"))))));
  }
  async function loadAudit() {
    if (!$("audit")) return;
    const { entries } = await api("GET", "/api/admin/audit");
    $("audit").tBodies[0].replaceChildren(...entries.slice(0, 50).map((e) => el("tr", {},
      el("td", {}, e.at.slice(0, 19).replace("T", " ")), el("td", {}, e.actor), el("td", {}, e.action), el("td", {}, e.target))));
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

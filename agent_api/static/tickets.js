"use strict";
// The ticket list (/tickets) with the teams, and one ticket (/tickets/{id}) with its loop.
(function () {
  const { t, api, el } = window.H;
  const { errorText, when, left, stepNote } = window.CRM;
  const $ = (id) => document.getElementById(id);

  async function loadTeams() {
    const data = await api("GET", "/api/teams");
    $("team-names").replaceChildren(...data.teams.map((team) => el("option", { value: team.name }, team.title || team.name)));
    const table = $("team-table");
    if (table) {
      table.querySelector("tbody").replaceChildren(...data.teams.map((team) => el("tr", { "data-team": team.name },
        el("td", {}, team.name, team.title ? ` (${team.title})` : ""), el("td", {}, t("team.kind." + team.kind)),
        el("td", {}, team.members.join(", ")), el("td", {}, team.leader), el("td", {}, team.email))));
    }
  }

  // --- the list ---------------------------------------------------------------------------------
  function query() {
    const q = new URLSearchParams({ view: $("f-view").value });
    const put = (name, id) => { const v = $(id).value.trim(); if (v) q.set(name, v); };
    put("node", "f-node"); put("kind", "f-kind"); put("queue", "f-queue"); put("team", "f-team"); put("q", "f-q");
    if ($("f-closed").checked) q.set("include_closed", "true");
    return q;
  }

  async function list(ev) {
    if (ev) ev.preventDefault();
    $("ticket-error").textContent = "";
    const q = query();
    history.replaceState(null, "", "?" + q);
    try {
      const data = await api("GET", "/api/tickets?" + q);
      $("ticket-count").textContent = t("tk.count").replace("{n}", data.total);
      const body = $("tickets").querySelector("tbody");
      body.replaceChildren();
      if (!data.tickets.length) body.append(el("tr", {}, el("td", { colspan: 10, class: "empty" }, t("tk.none"))));
      const now = new Date();
      for (const k of data.tickets) {
        body.append(el("tr", { class: "ticket-row sla-" + k.sla, "data-id": k.id, "data-number": k.number },
          el("td", {}, el("a", { href: `/tickets/${k.id}` }, k.number)), el("td", {}, t("node." + k.status)),
          el("td", {}, t("ticket.kind." + k.kind)), el("td", {}, k.subject),
          el("td", {}, el("a", { href: `/customers/${k.customer_id}` }, k.customer_name)),
          el("td", {}, k.assignee || ""), el("td", {}, k.team || ""), el("td", {}, k.queue),
          el("td", {}, when(k.due_at)),
          el("td", { class: "sla" }, t("sla." + k.sla), k.closed_at ? "" : ` (${left(k.due_at, now)})`,
            k.escalation_level ? el("span", { class: "bad" }, ` ▲${k.escalation_level}`) : null)));
      }
    } catch (err) { $("ticket-error").textContent = errorText(err); }
  }

  function listPage() {
    const params = new URLSearchParams(location.search);
    for (const [name, id] of [["view", "f-view"], ["node", "f-node"], ["kind", "f-kind"], ["queue", "f-queue"], ["team", "f-team"], ["q", "f-q"]]) {
      if (params.get(name)) $(id).value = params.get(name);
    }
    $("f-closed").checked = params.get("include_closed") === "true";
    $("ticket-filters").addEventListener("submit", list);
    for (const id of ["f-view", "f-node", "f-kind", "f-closed"]) $(id).addEventListener("change", list);
    const form = $("team-form");
    if (form) form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("team-error").textContent = "";
      try {
        await api("PUT", `/api/teams/${encodeURIComponent($("team-name").value.trim())}`, {
          title: $("team-title").value.trim(), kind: $("team-kind").value, leader: $("team-leader").value.trim(),
          email: $("team-email").value.trim(), members: $("team-members").value.split(/[,，\s]+/).filter(Boolean),
        });
        form.reset();
        await loadTeams();
      } catch (err) { $("team-error").textContent = errorText(err); }
    });
    loadTeams().catch(() => {});
    list();
  }

  // --- one ticket ---------------------------------------------------------------------------------
  function show(page) {
    const k = page.ticket;
    $("tk-number").textContent = k.number;
    $("tk-subject").textContent = k.subject;
    document.title = `${k.number} · ${t("app.title")}`;
    const order = [...$("tk-nodes").children].map((li) => li.dataset.node);
    for (const li of $("tk-nodes").children) {
      li.className = li.dataset.node === k.status ? "current" : (order.indexOf(li.dataset.node) < order.indexOf(k.status) ? "done" : "");
    }
    $("tk-kind").textContent = t("ticket.kind." + k.kind);
    $("tk-customer").textContent = k.customer_name;
    $("tk-customer").href = `/customers/${k.customer_id}`;
    $("tk-assignee").textContent = k.assignee || "";
    $("tk-team").textContent = k.team || "";
    $("tk-queue").textContent = k.queue;
    $("tk-opened").textContent = `${when(k.opened_at)} · ${k.opened_by}`;
    $("tk-due").textContent = when(k.due_at) + (page.due_estimated ? ` (${t("tk.estimated")})` : "");
    $("tk-sla").textContent = t("sla." + k.sla);
    $("tk-sla").className = "sla-" + k.sla;
    $("tk-left").textContent = k.closed_at ? "" : left(k.due_at);
    $("tk-satisfaction").textContent = k.satisfaction ? `${k.satisfaction} ${t("score." + k.satisfaction)}` : "";
    $("tk-description").textContent = page.description;
    for (const form of document.querySelectorAll("#tk-actions form")) form.hidden = !form.dataset.when.split(" ").includes(k.status);
    $("tk-steps").querySelector("tbody").replaceChildren(...page.steps.map((s) => el("tr", { "data-action": s.action },
      el("td", {}, when(s.at)), el("td", {}, s.actor), el("td", {}, t("action." + s.action)),
      el("td", {}, [s.team, s.assignee].filter(Boolean).join(" / ")), el("td", { class: "pre" }, stepNote(s.note)))));
    $("tk-contacts").replaceChildren(...page.contacts.map((c) => el("li", {}, `${when(c.at)} ${t("channel." + c.channel)} ${c.agent || ""} ${c.note}`)));
  }

  function ticketPage(root) {
    const id = Number(root.dataset.ticketId);
    const path = (what) => `/api/tickets/${id}/${what}`;
    const move = (formId, run) => $(formId).addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("tk-error").textContent = "";
      try { show(await run()); $(formId).reset(); } catch (err) { $("tk-error").textContent = errorText(err); }
    });
    move("dispatch-form", () => api("POST", path("dispatch"), {
      team: $("dispatch-team").value.trim() || null, assignee: $("dispatch-assignee").value.trim() || null, note: $("dispatch-note").value,
    }));
    move("start-form", () => api("POST", path("start"), { note: "" }));
    move("note-form", () => api("POST", path("notes"), { note: $("note-text").value }));
    move("resolve-form", () => api("POST", path("resolve"), { note: $("resolve-note").value }));
    move("follow-up-form", () => api("POST", path("follow-up"), {
      channel: $("follow-up-channel").value, note: $("follow-up-note").value,
      satisfaction: $("follow-up-score").value ? Number($("follow-up-score").value) : null,
    }));
    move("close-form", () => api("POST", path("close"), { note: $("close-note").value }));
    move("reopen-form", () => api("POST", path("reopen"), { note: $("reopen-note").value }));
    loadTeams().catch(() => {});
    api("GET", `/api/tickets/${id}`).then(show).catch((err) => { $("tk-error").textContent = errorText(err); });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = $("ticket");
    if (root) ticketPage(root); else listPage();
  });
})();

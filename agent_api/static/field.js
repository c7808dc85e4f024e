"use strict";
// The technician's page, sized for a phone: my tickets, then one at a time to work on.
(function () {
  const { t, api, el } = window.H;
  const { errorText, when, left } = window.CRM;
  const $ = (id) => document.getElementById(id);
  let current = null;

  async function list() {
    $("field-error").textContent = "";
    try {
      const mine = await api("GET", "/api/tickets?view=mine");
      const team = await api("GET", "/api/tickets?view=team");
      const tickets = new Map([...mine.tickets, ...team.tickets].map((k) => [k.id, k]));
      $("field-tickets").replaceChildren(...[...tickets.values()].sort((a, b) => a.due_at.localeCompare(b.due_at)).map((k) =>
        el("li", { class: "field-item sla-" + k.sla, "data-id": k.id, onclick: () => open(k.id) },
          el("b", {}, k.number), " ", t("node." + k.status), el("br"), k.subject, el("br"),
          el("small", {}, `${t("tk.due")} ${when(k.due_at)} (${left(k.due_at)})`))));
      if (!tickets.size) $("field-tickets").append(el("li", { class: "empty" }, t("field.none")));
    } catch (err) { $("field-error").textContent = errorText(err); }
  }

  function show(page) {
    current = page;
    const k = page.ticket;
    location.hash = String(k.id);
    $("field-ticket").hidden = false;
    $("ft-number").textContent = k.number;
    $("ft-node").textContent = t("node." + k.status);
    $("ft-subject").textContent = k.subject;
    $("ft-customer").textContent = k.customer_name;
    $("ft-address").textContent = page.visit_address || "";
    $("ft-phones").replaceChildren(...page.visit_phones.map((p) => el("a", { href: "tel:" + p, class: "tel" }, p)));
    $("ft-due").textContent = when(k.due_at);
    $("ft-sla").textContent = t("sla." + k.sla);
    $("ft-description").textContent = page.description;
    $("ft-start").hidden = !["open", "assigned"].includes(k.status);
    const working = ["open", "assigned", "in_progress"].includes(k.status);
    $("ft-resolve").hidden = !working;
    $("ft-add-note").hidden = !working;
    $("ft-note-label").hidden = !working;
    $("ft-steps").replaceChildren(...page.steps.map((s) => el("li", {}, `${when(s.at)} ${s.actor} ${t("action." + s.action)} ${s.note}`)));
  }

  async function open(id) {
    try { show(await api("GET", `/api/tickets/${id}`)); $("field-ticket").scrollIntoView(); } catch (err) { $("field-error").textContent = errorText(err); }
  }

  function act(what, needsNote) {
    return async () => {
      if (!current) return;
      const note = $("ft-note").value.trim();
      if (needsNote && !note) { $("ft-note").focus(); $("field-error").textContent = t("field.note_needed"); return; }
      $("field-error").textContent = "";
      try {
        show(await api("POST", `/api/tickets/${current.ticket.id}/${what}`, { note }));
        $("ft-note").value = "";
        await list();
      } catch (err) { $("field-error").textContent = errorText(err); }
    };
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("field-refresh").addEventListener("click", list);
    $("ft-start").addEventListener("click", act("start", false));
    $("ft-add-note").addEventListener("click", act("notes", true));
    $("ft-resolve").addEventListener("click", act("resolve", true));
    list();
    const id = Number(location.hash.slice(1));
    if (id) open(id);
  });
})();

"use strict";
// The customer pages: search and create (/customers), one customer (/customers/{id}).
(function () {
  const { t, api, el } = window.H;
  const H = window.H;
  const { errorText, when, label, stepNote } = window.CRM;
  const $ = (id) => document.getElementById(id);
  const phones = (text) => text.split(/[,，;；\s]+/).map((p) => p.trim()).filter(Boolean);

  // --- search and create --------------------------------------------------------------------
  async function search(ev) {
    if (ev) ev.preventDefault();
    const q = $("customer-q").value.trim();
    $("customer-error").textContent = "";
    if (!q) return;
    history.replaceState(null, "", "?q=" + encodeURIComponent(q));
    try {
      const data = await api("GET", "/api/customers?q=" + encodeURIComponent(q));
      const body = $("customer-results").querySelector("tbody");
      body.replaceChildren();
      if (!data.customers.length) body.append(el("tr", {}, el("td", { colspan: 6, class: "empty" }, t("cust.none"))));
      for (const c of data.customers) {
        body.append(el("tr", { class: "customer-row", "data-id": c.id },
          el("td", {}, c.id),
          el("td", {}, el("a", { href: `/customers/${c.id}` }, c.name), c.vip_level ? el("span", { class: "vip" }, ` VIP${c.vip_level}`) : null),
          el("td", {}, c.phones.join(", ")), el("td", {}, label("segment.", c.segment) || c.segment),
          el("td", {}, c.open_tickets), el("td", {}, t("cust.matched." + c.matched))));
      }
    } catch (err) { $("customer-error").textContent = errorText(err); }
  }

  async function create(ev) {
    ev.preventDefault();
    $("create-error").textContent = "";
    const body = {
      name: $("new-name").value.trim(), phones: phones($("new-phones").value),
      segment: $("new-segment").value, vip_level: Number($("new-vip").value || 0),
      email: $("new-email").value.trim() || null, id_number: $("new-id-number").value.trim() || null,
      address: $("new-address").value.trim() || null, language: $("new-language").value,
      consent_marketing: $("new-consent-marketing").checked, consent_sms: $("new-consent-sms").checked,
      consent_email: $("new-consent-email").checked,
    };
    try {
      const page = await api("POST", "/api/customers", body);
      location.href = `/customers/${page.card.id}`;
    } catch (err) { $("create-error").textContent = errorText(err); }
  }

  // --- one customer ---------------------------------------------------------------------------
  let card = null;

  function ticketItem(k) {
    return el("li", { class: "sla-" + k.sla, "data-ticket": k.id },
      el("a", { href: `/tickets/${k.id}` }, k.number), ` ${k.subject} · ${t("ticket.kind." + k.kind)} · ${t("node." + k.status)} · ${t("sla." + k.sla)}`,
      k.satisfaction ? ` · ${t("tk.satisfaction")} ${k.satisfaction}` : "");
  }

  function showCard(page) {
    card = page.card;
    $("card-name").textContent = card.name;
    $("card-vip").textContent = card.vip_level ? `VIP${card.vip_level}` : "";
    $("card-erased").hidden = !page.erased_at;
    $("card-phones").textContent = card.phones.join(", ");
    $("card-segment").textContent = label("segment.", card.segment) || card.segment;
    $("card-email").textContent = card.email || "";
    $("card-id-number").textContent = card.id_number || "";
    $("card-address").textContent = card.address || "";
    $("card-tags").textContent = card.tags.join(", ");
    $("card-owner").textContent = card.owner_agent || "";
    $("card-consents").textContent = [["consent_marketing", "cust.consent_marketing"], ["consent_sms", "cust.consent_sms"], ["consent_email", "cust.consent_email"]]
      .map(([f, k]) => `${t(k)} ${card[f] ? "✓" : "✗"}`).join(" · ");
    showSubscriptions(page.subscriptions);
    $("card-dnc").textContent = card.do_not_contact ? t("cust.dnc_yes") : t("cust.dnc_no");
    $("open-tickets").replaceChildren(...page.open_tickets.map(ticketItem));
    $("past-tickets").replaceChildren(...page.past_tickets.map(ticketItem));
    const edit = $("edit-form");
    edit.querySelector("#edit-name").value = card.name;
    edit.querySelector("#edit-phones").value = card.phones.join(", ");
    const segment = edit.querySelector("#edit-segment");
    if (![...segment.options].some((o) => o.value === card.segment)) segment.append(el("option", { value: card.segment }, card.segment));
    segment.value = card.segment;
    edit.querySelector("#edit-vip").value = card.vip_level;
    edit.querySelector("#edit-email").value = card.email || "";
    edit.querySelector("#edit-tags").value = card.tags.join(", ");
    for (const f of ["marketing", "sms", "email"]) $("edit-consent-" + f).checked = card["consent_" + f];
    for (const button of document.querySelectorAll("#customer button, #customer input")) {
      if (page.erased_at && !button.closest("#timeline")) button.disabled = true;
    }
  }

  // The notices the customer chose (定制服务): one box per topic and channel; unticking one opts
  // them out, and what was queued for it is not sent.
  const TOPICS = ["ticket_progress", "delivery_progress", "offers"];
  const CHANNELS = ["sms", "email"];
  function showSubscriptions(chosen) {
    const on = new Set(chosen.map((s) => `${s.topic}/${s.channel}`));
    const head = el("tr", {}, el("th", {}), CHANNELS.map((c) => el("th", {}, t("channel." + c))));
    const rows = TOPICS.map((topic) => el("tr", {}, el("th", { scope: "row" }, t("notice_topic." + topic)),
      CHANNELS.map((channel) => el("td", {}, el("input", {
        type: "checkbox", class: "subscription", "data-topic": topic, "data-channel": channel,
        "aria-label": `${t("notice_topic." + topic)} · ${t("channel." + channel)}`,
        checked: on.has(`${topic}/${channel}`), onchange: (ev) => choose(topic, channel, ev.target),
        // mail needs an address to go to; an opt-out stays possible
        disabled: channel === "email" && !(card && card.email) && !on.has(`${topic}/${channel}`),
      })))));
    $("card-subscriptions").replaceChildren(el("table", { class: "subscriptions" }, el("thead", {}, head), el("tbody", {}, rows)),
      el("span", { id: "subscriptions-result", class: "note", "aria-live": "polite" }));
  }
  async function choose(topic, channel, box) {
    const id = Number($("customer").dataset.customerId);
    box.disabled = true;
    try {
      const data = await api(box.checked ? "PUT" : "DELETE", `/api/customers/${id}/subscriptions/${topic}/${channel}`);
      showSubscriptions(data.subscriptions);
      $("subscriptions-result").textContent = box.checked ? t("cust.subscribed")
        : t("cust.opted_out").replace("{n}", data.held_back);
    } catch (err) {
      box.checked = !box.checked; box.disabled = false;
      $("card-error").textContent = errorText(err);
    }
  }

  function entryText(e) {
    if (e.kind === "contact") {
      return [t("channel." + e.channel), e.disposition ? label("disposition.", e.disposition) : "", e.campaign_name, e.note,
        H.satisfaction(e.satisfaction, e.survey)].filter(Boolean).join(" · ");
    }
    if (e.kind === "offer") {
      const answers = e.answers.map((a) => `${a.question}: ${a.answer}`).join("; ");
      return [t("timeline.offer"), e.campaign_name, e.outcome ? t("outcome." + e.outcome) : t("outcome.none"), answers].filter(Boolean).join(" · ");
    }
    if (e.kind === "ticket") return [t("action." + e.action), stepNote(e.note)].filter(Boolean).join(" · ");
    return [t("channel." + e.channel), e.subject, t("notice_status." + e.status)].filter(Boolean).join(" · ");
  }

  async function loadTimeline(id) {
    const data = await api("GET", `/api/customers/${id}/timeline`);
    $("timeline").replaceChildren(...data.entries.map((e) => el("li", { class: "entry entry-" + e.kind, "data-kind": e.kind },
      el("time", {}, when(e.at)), " ", el("b", {}, t("timeline." + e.kind)), " ",
      e.ticket_number ? el("a", { href: `/tickets/${e.ticket_id}` }, e.ticket_number) : null, " ",
      entryText(e), e.agent ? ` — ${e.agent}` : "",
      e.recording_id ? [" ", el("a", { class: "recording", href: `/api/recordings/${e.recording_id}/audio`, target: "_blank", rel: "noopener" }, "▶ " + t("timeline.recording"))] : null)));
  }

  async function loadCustomer(id) {
    try {
      showCard(await api("GET", `/api/customers/${id}`));
      await loadTimeline(id);
    } catch (err) { $("card-error").textContent = errorText(err); }
  }

  function wire(id, formId, run) {
    const form = $(formId);
    if (!form) return;
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      $("card-error").textContent = "";
      try { await run(); await loadCustomer(id); } catch (err) { $("card-error").textContent = errorText(err); }
    });
  }

  function customerPage(root) {
    const id = Number(root.dataset.customerId);
    $("edit-toggle").addEventListener("click", () => { $("edit-form").hidden = !$("edit-form").hidden; });
    wire(id, "edit-form", async () => {
      const body = {
        name: $("edit-name").value.trim(), phones: phones($("edit-phones").value), segment: $("edit-segment").value,
        vip_level: Number($("edit-vip").value || 0), email: $("edit-email").value.trim(),
        tags: $("edit-tags").value.split(/[,，]/).map((s) => s.trim()).filter(Boolean),
        consent_marketing: $("edit-consent-marketing").checked, consent_sms: $("edit-consent-sms").checked,
        consent_email: $("edit-consent-email").checked,
      };
      // The masked fields change only when something new is typed in.
      if ($("edit-id-number").value.trim()) body.id_number = $("edit-id-number").value.trim();
      if ($("edit-address").value.trim()) body.address = $("edit-address").value.trim();
      await api("PATCH", `/api/customers/${id}`, body);
      $("edit-form").hidden = true;
    });
    wire(id, "new-ticket-form", async () => {
      const page = await api("POST", "/api/tickets", { customer_id: id, kind: $("nt-kind").value, subject: $("nt-subject").value });
      location.href = `/tickets/${page.ticket.id}`;
    });
    wire(id, "merge-form", async () => {
      const other = Number($("merge-other").value);
      if (!other || !confirm(t("cust.merge_confirm").replace("{other}", other).replace("{id}", id))) return;
      await api("POST", `/api/customers/${id}/merge`, { other_id: other });
      $("merge-other").value = "";
    });
    wire(id, "erase-form", async () => {
      if (!confirm(t("cust.erase_confirm"))) return;
      const done = await api("POST", `/api/customers/${id}/erase`, { reason: $("erase-reason").value.trim() });
      $("erase-result").textContent = t("cust.erased_result").replace("{purged}", done.recordings_purged.length)
        + (done.recordings_kept.length ? " " + t("cust.kept_on_hold").replace("{ids}", done.recordings_kept.map((r) => `#${r.id} (${r.hold_reason})`).join(", ")) : "");
    });
    const unmask = $("unmask");
    if (unmask) unmask.addEventListener("click", async () => {
      try {
        const clear = await api("POST", `/api/customers/${id}/unmask`);
        $("card-id-number").textContent = clear.id_number || "";
        $("card-address").textContent = clear.address || "";
        unmask.disabled = true;
      } catch (err) { $("card-error").textContent = errorText(err); }
    });
    loadCustomer(id);
  }

  document.addEventListener("DOMContentLoaded", () => {
    const root = $("customer");
    if (root) { customerPage(root); return; }
    $("customer-search").addEventListener("submit", search);
    $("customer-new").addEventListener("click", () => { $("customer-create").hidden = false; $("new-name").focus(); });
    $("create-form").addEventListener("submit", create);
    if ($("customer-create").dataset.phone) $("new-name").focus();
    if ($("customer-q").value) search();
  });
})();

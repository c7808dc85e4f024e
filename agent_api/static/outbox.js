"use strict";
// The outbox: mail and SMS notices newest first, with status, attempts, the last error and the
// SMS provider's delivery receipt; a failed or unknown one is sent again on an operator's word.
(function () {
  const { t, api, el } = window.H;
  let section;
  const $ = (id) => document.getElementById(id);
  function when(iso) {
    if (!iso) return "";
    const opts = { dateStyle: "short", timeStyle: "short" };
    if (section.dataset.tz) opts.timeZone = section.dataset.tz;
    return new Date(iso).toLocaleString(document.documentElement.lang || undefined, opts);
  }
  function show(text, isError) {
    const out = $("outbox-result");
    out.textContent = text; out.className = isError ? "error" : "note";
  }
  function badge(kind, value) {
    return el("span", { class: "bo-badge", "data-status": value }, t(`${kind}.${value}`));
  }
  async function sendAgain(m) {
    // An unknown message may have reached the customer: sending it again may send it twice.
    if (m.status === "unknown" && !window.confirm(t("outbox.confirm_unknown"))) return;
    try {
      await api("POST", `/api/outbox/${m.id}/send-again`, {});
      show(t("outbox.queued_again"), false);
      await load();
    } catch (err) { show(err.message, true); }
  }
  // The outbox's own notes on a message, in the page's language; a provider's error as it came.
  const NOTES = [
    [/^sent again by (.+)$/, "outbox.note.sent_again_by"],
    [/^the customer opted out before it was sent$/, "outbox.note.opted_out"],
    [/^the provider never received it: sent again$/, "outbox.note.not_received"],
    [/^the provider never received it, and it was out of attempts$/, "outbox.note.not_received_last"],
    [/^interrupted while sending$/, "outbox.note.interrupted"],
    [/^outcome unknown: (.+)$/, "outbox.note.unknown"],
  ];
  function note(text) {
    for (const [pattern, key] of NOTES) {
      const found = pattern.exec(text);
      if (found) return t(key).replace("{detail}", found[1] || "");
    }
    return text;
  }
  function receipt(m) {
    if (!m.receipt) return m.channel === "sms" && m.status === "sent" ? el("span", { class: "muted" }, t("outbox.no_receipt")) : "";
    const r = m.receipt;
    return el("span", {}, badge("outbox.delivery", r.delivery),
      r.error ? el("div", { class: "muted" }, r.error) : null,
      r.reported_at ? el("div", { class: "muted" }, when(r.reported_at)) : null);
  }
  function row(m) {
    const to = el("td", {}, m.address,
      m.customer_id ? el("div", {}, el("a", { href: `/customers/${m.customer_id}`, target: "_blank", rel: "noopener" }, m.customer_name || `#${m.customer_id}`)) : null);
    const message = el("td", { class: "outbox-body" }, m.subject ? el("b", {}, m.subject) : null, m.subject ? el("br") : null, m.body);
    const status = el("td", {}, badge("outbox.status", m.status),
      m.last_error ? el("div", { class: "muted outbox-error" }, note(m.last_error)) : null,
      m.status === "sent" ? el("div", { class: "muted" }, when(m.sent_at))
        : (m.status === "pending" ? el("div", { class: "muted" }, t("outbox.next") + " " + when(m.next_attempt_at)) : null));
    const actions = el("td", { class: "bo-actions" });
    if (m.status === "failed" || m.status === "unknown") {
      actions.append(el("button", { type: "button", class: "send-again", onclick: () => sendAgain(m) }, t("outbox.send_again")));
    }
    return el("tr", { "data-id": m.id, "data-status": m.status },
      el("td", {}, when(m.created_at)), el("td", {}, t("channel." + m.channel)), to,
      el("td", {}, t("notice_topic." + m.topic)), message, status, el("td", { class: "num" }, String(m.attempts)),
      el("td", {}, receipt(m)), actions);
  }
  // The newest page first; "older" appends the next page, from below the last message shown.
  let lastId = null;
  async function load(older) {
    const params = new URLSearchParams();
    for (const [name, id] of [["status", "filter-status"], ["channel", "filter-channel"], ["q", "filter-q"]]) {
      const value = $(id).value.trim();
      if (value) params.set(name, value);
    }
    if (older === true && lastId !== null) params.set("before", lastId);
    try {
      const data = await api("GET", "/api/outbox?" + params.toString());
      const body = $("outbox-list").tBodies[0];
      if (older === true) body.append(...data.messages.map(row));
      else body.replaceChildren(...data.messages.map(row));
      if (data.messages.length) lastId = data.messages[data.messages.length - 1].id;
      $("outbox-older").hidden = !data.more;
      $("outbox-empty").hidden = body.rows.length > 0;
      $("outbox-counts").replaceChildren(...Object.entries(data.counts).filter(([, n]) => n > 0)
        .map(([s, n]) => el("span", { class: "bo-badge outbox-count", "data-status": s }, `${t("outbox.status." + s)} ${n}`)));
    } catch (err) { show(err.message, true); }
  }
  document.addEventListener("DOMContentLoaded", () => {
    section = $("outbox");
    $("outbox-filters").addEventListener("submit", (ev) => { ev.preventDefault(); load(); });
    $("filter-status").addEventListener("change", () => load());
    $("filter-channel").addEventListener("change", () => load());
    $("outbox-older").addEventListener("click", () => load(true));
    load();
  });
})();

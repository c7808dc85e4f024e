"use strict";
// Messages callers left: newest first, filtered by status and queue; play, call back, done.
(function () {
  const { t, api, el } = window.H;
  let section;
  function when(iso) {
    if (!iso) return "";
    const opts = { dateStyle: "short", timeStyle: "short" };
    if (section.dataset.tz) opts.timeZone = section.dataset.tz;
    return new Date(iso).toLocaleString(document.documentElement.lang || undefined, opts);
  }
  function show(text, isError) {
    const out = document.getElementById("messages-result");
    out.textContent = text; out.className = isError ? "error" : "note";
  }
  async function setStatus(m, status) {
    await api("POST", `/api/messages/${m.id}/status`, { status });
    show(t("messages.saved." + status), false);
    await load();
  }
  async function callBack(m) {
    try {
      const result = await api("POST", "/api/agent/dial", { number: m.caller });
      if (!result.success) { show(t("messages.dial_failed"), true); return; }
      await setStatus(m, "called_back");
    } catch (err) { show(err.message, true); }
  }
  function row(m) {
    const audio = m.has_audio
      ? el("button", { type: "button", class: "play", onclick: (ev) => {
          const player = el("audio", { controls: true, autoplay: true, preload: "none", src: `/api/messages/${m.id}/audio` });
          ev.target.replaceWith(player);
        } }, t("messages.play"))
      : el("span", { class: "muted" }, t("messages.no_audio"));
    const actions = el("td", { class: "bo-actions" });
    if (section.dataset.canDial && m.status !== "done") {
      actions.append(el("button", { type: "button", class: "call-back", onclick: () => callBack(m) }, t("messages.call_back")));
    }
    const act = async (status) => { try { await setStatus(m, status); } catch (err) { show(err.message, true); } };
    if (m.status !== "done") actions.append(el("button", { type: "button", class: "done", onclick: () => act("done") }, t("messages.mark_done")));
    else actions.append(el("button", { type: "button", class: "reopen", onclick: () => act("new") }, t("messages.reopen")));
    const caller = el("td", {}, m.caller || t("messages.unknown_caller"), m.customer_name ? el("div", { class: "muted" }, m.customer_name) : null);
    const handled = m.handled_by ? `${m.handled_by} · ${when(m.handled_at)}` : "";
    return el("tr", { "data-message": m.id, class: m.status === "done" ? "bo-done" : "" },
      el("td", {}, when(m.at)), caller, el("td", {}, m.queue || "—"), el("td", {}, audio),
      el("td", {}, el("span", { class: "bo-badge", "data-status": m.status }, t("messages.status." + m.status))),
      el("td", {}, handled), actions);
  }
  async function load() {
    const params = new URLSearchParams();
    const status = document.getElementById("filter-status").value;
    const queue = document.getElementById("filter-queue").value;
    if (status) params.set("status", status);
    if (queue) params.set("queue", queue);
    try {
      const data = await api("GET", "/api/messages?" + params.toString());
      document.querySelector("#message-list tbody").replaceChildren(...data.messages.map(row));
      document.getElementById("messages-empty").hidden = data.messages.length > 0;
      document.getElementById("messages-new").textContent = t("messages.new_count").replace("{n}", data.new);
    } catch (err) { show(err.message, true); }
  }
  document.addEventListener("DOMContentLoaded", () => {
    section = document.getElementById("messages");
    document.getElementById("filter-status").addEventListener("change", load);
    document.getElementById("filter-queue").addEventListener("change", load);
    document.getElementById("messages-refresh").addEventListener("click", load);
    load();
  });
})();

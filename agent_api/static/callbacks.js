"use strict";
// The callback queue: who waits to be called back, their attempts and next try; cancel one
// (supervisors), take one now by click-to-dial (agents); the history of every callback.
(function () {
  const { t, api, el } = window.H;
  const OUTCOMES = ["reached", "no_answer", "wrong_number", "call_later", "not_needed"];
  const REFRESH_MS = 5000;
  let section;
  function when(iso) {
    if (!iso) return "";
    const opts = { dateStyle: "short", timeStyle: "medium" };
    if (section.dataset.tz) opts.timeZone = section.dataset.tz;
    return new Date(iso).toLocaleString(document.documentElement.lang || undefined, opts);
  }
  function show(text, isError) {
    const out = document.getElementById("callbacks-result");
    out.textContent = text; out.className = isError ? "error" : "note";
  }
  async function act(method, path, body, done) {
    try { await api(method, path, body); show(t(done), false); } catch (err) { show(err.message, true); }
    await load();
  }
  function waitingRow(c) {
    const actions = el("td", { class: "bo-actions" });
    if (c.phase !== "dialing") {
      if (section.dataset.canTake) actions.append(el("button", { type: "button", class: "take", onclick: () =>
        act("POST", `/api/callbacks/${encodeURIComponent(c.callback_id)}/take`, undefined, "callbacks.taken") }, t("callbacks.take")));
      if (section.dataset.canCancel) actions.append(el("button", { type: "button", class: "cancel", onclick: () => {
        if (confirm(t("callbacks.confirm_cancel").replace("{number}", c.number)))
          act("POST", `/api/callbacks/${encodeURIComponent(c.callback_id)}/cancel`, {}, "callbacks.cancelled");
      } }, t("callbacks.cancel")));
    }
    const phase = c.phase === "dialing" ? `${t("callbacks.phase.dialing")} · ${c.agent}` : t("callbacks.phase." + c.phase);
    return el("tr", { "data-callback": c.callback_id },
      el("td", {}, when(c.requested_at)), el("td", {}, c.number), el("td", {}, c.queue),
      el("td", {}, t("callbacks.source." + c.source)), el("td", {}, String(c.attempts)),
      el("td", {}, el("span", { class: "bo-badge", "data-status": c.phase === "waiting" ? "new" : "paused" }, phase)),
      el("td", {}, when(c.retry_at)), actions);
  }
  // Words the log keeps as data (a source, "merged"), in the reader's language.
  function detailText(s) {
    return s.detail.split(" ").map((word) => {
      const key = s.step === "scheduled" ? "callbacks.source." + word : "callbacks.detail." + word;
      return t(key) !== key ? t(key) : word;
    }).join(" ");
  }
  function outcomeCell(s, answered) {
    if (s.step === "outcome") return el("td", {}, t("callbacks.outcome." + s.outcome));
    if ((s.step !== "completed" && s.step !== "taken") || answered.has(s.callback_id)) return el("td", {});
    const pick = el("select", { "aria-label": t("callbacks.outcome") },
      el("option", { value: "" }, "—"), ...OUTCOMES.map((o) => el("option", { value: o }, t("callbacks.outcome." + o))));
    pick.addEventListener("change", () => {
      if (pick.value) act("POST", `/api/callbacks/${encodeURIComponent(s.callback_id)}/outcome`, { outcome: pick.value }, "callbacks.outcome_saved");
    });
    return el("td", {}, pick);
  }
  function historyRow(s, answered) {
    return el("tr", { "data-step": s.step, "data-callback": s.callback_id },
      el("td", {}, when(s.at)), el("td", {}, s.number), el("td", {}, s.queue),
      el("td", {}, t("callbacks.step." + s.step)), el("td", {}, s.agent), el("td", {}, detailText(s)), outcomeCell(s, answered));
  }
  async function load() {
    try {
      const data = await api("GET", "/api/callbacks");
      document.querySelector("#callback-queue tbody").replaceChildren(...data.waiting.map(waitingRow));
      document.getElementById("callbacks-empty").hidden = data.waiting.length > 0;
      document.getElementById("callbacks-count").textContent = t("callbacks.waiting_count").replace("{n}", data.waiting.length);
      const answered = new Set(data.history.filter((s) => s.step === "outcome").map((s) => s.callback_id));
      document.querySelector("#callback-history tbody").replaceChildren(...data.history.map((s) => historyRow(s, answered)));
    } catch (err) { show(err.message, true); }
  }
  document.addEventListener("DOMContentLoaded", () => {
    section = document.getElementById("callbacks");
    document.getElementById("callbacks-refresh").addEventListener("click", load);
    load();
    // A select being chosen is not replaced under the user's hand.
    setInterval(() => { if (!document.activeElement || document.activeElement.tagName !== "SELECT") load(); }, REFRESH_MS);
  });
})();

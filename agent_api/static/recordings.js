"use strict";
// The supervisor's recordings page: search, play with seeking, score with a QA form, hold.
(function () {
  const { t, api, el, fmtSeconds } = window.H;
  const $ = (id) => document.getElementById(id);
  let forms = [];
  let current = null;
  let comments = [];

  const pct = (v) => (v === null || v === undefined ? "" : Math.round(v * 100) + "%");
  const secs = (v) => (v === null || v === undefined ? "" : fmtSeconds(Math.round(v)));

  function query() {
    const q = new URLSearchParams();
    const put = (name, id) => { const v = $(id).value.trim(); if (v) q.set(name, v); };
    put("agent", "q-agent"); put("queue", "q-queue"); put("number", "q-number");
    put("disposition", "q-disposition"); put("min_duration_s", "q-min-duration"); put("min_score", "q-min-score");
    if ($("q-since").value) q.set("since", $("q-since").value + "T00:00:00Z");
    if ($("q-until").value) q.set("until", $("q-until").value + "T23:59:59Z");
    return q.toString();
  }

  async function search(ev) {
    if (ev) ev.preventDefault();
    $("rec-error").textContent = "";
    try {
      const data = await api("GET", "/api/recordings?" + query());
      const body = $("rec-results").querySelector("tbody");
      body.replaceChildren();
      if (!data.recordings.length) body.append(el("tr", {}, el("td", { colspan: 10 }, t("rec.none"))));
      for (const r of data.recordings) {
        body.append(el("tr", { "data-id": r.id, class: "rec-row", onclick: () => open(r.id) },
          el("td", {}, r.id), el("td", {}, new Date(r.started_at).toLocaleString()), el("td", {}, r.agent),
          el("td", {}, r.queue), el("td", {}, r.number), el("td", {}, secs(r.duration_s)),
          el("td", {}, pct(r.talk_ratio)), el("td", {}, r.crosstalk_s === null ? "" : r.crosstalk_s.toFixed(1) + " s"),
          el("td", {}, r.qa_score === null ? "" : r.qa_score.toFixed(1)), el("td", {}, r.held ? r.state + " ⚖" : r.state)));
      }
    } catch (err) { $("rec-error").textContent = err.message; }
  }

  function renderForm() {
    const form = forms.find((f) => f.id === $("review-form-id").value) || forms[0];
    const box = $("review-questions");
    box.replaceChildren();
    if (!form) return;
    for (const section of form.sections) {
      box.append(el("h4", {}, section.title));
      for (const q of section.questions) {
        const input = q.kind === "yesno"
          ? el("input", { type: "checkbox", "data-q": q.id, "data-kind": q.kind })
          : el("input", { type: "number", min: 0, max: q.max, value: q.max, "data-q": q.id, "data-kind": q.kind, size: 3 });
        box.append(el("label", {}, input, " ", q.text, q.critical ? " *" : "", q.kind === "scale" ? ` (0–${q.max})` : ""));
      }
    }
  }

  function renderComments() {
    $("review-comments").replaceChildren(...comments.map((c) => el("div", { class: "comment" }, `${fmtSeconds(Math.round(c.offset_s))} — ${c.text}`)));
  }

  async function open(id) {
    const data = await api("GET", `/api/recordings/${id}`);
    current = data.recording;
    comments = [];
    renderComments();
    $("rec-detail").hidden = false;
    $("rec-title").textContent = `#${current.id} · ${current.agent} · ${current.queue}`;
    const player = $("player");
    const src = `/api/recordings/${id}/audio`;
    if (player.getAttribute("src") !== src) player.src = src;  // reopening keeps the position
    $("rec-download").href = `/api/recordings/${id}/download`;
    $("rec-facts").textContent = `${secs(current.duration_s)} · ${current.format} · ${current.channels === 2 ? "stereo" : "mono"} · ${t("rec.talk")} ${pct(current.talk_ratio)} · ${t("rec.retain_until")} ${current.retain_until ? current.retain_until.slice(0, 10) : ""}`;
    renderHold();
    $("rec-reviews").replaceChildren(...data.reviews.map((r) => el("li", {}, `${r.score.toFixed(1)} — ${r.reviewer} (${r.form})`,
      ...r.comments.map((c) => el("div", {}, `@${fmtSeconds(Math.round(c.offset_s))} ${c.text}`)))));
  }

  function renderHold() {
    $("hold-toggle").textContent = current.held ? t("rec.hold_lift") : t("rec.hold_set");
    $("hold-state").textContent = current.held ? `⚖ ${current.hold_reason}` : "";
  }

  async function toggleHold(ev) {
    ev.preventDefault();
    try {
      current = await api("PUT", `/api/recordings/${current.id}/hold`, { held: !current.held, reason: $("hold-reason").value });
      renderHold();
    } catch (err) { $("hold-state").textContent = err.message; }
  }

  async function submitReview(ev) {
    ev.preventDefault();
    const answers = {};
    for (const input of $("review-questions").querySelectorAll("input[data-q]")) {
      answers[input.dataset.q] = input.dataset.kind === "yesno" ? input.checked : Number(input.value);
    }
    try {
      const review = await api("POST", `/api/recordings/${current.id}/reviews`, {
        form: $("review-form-id").value, answers, comments, summary: $("review-summary").value,
      });
      $("review-result").textContent = `${t("rec.score")}: ${review.score.toFixed(1)}`;
      await open(current.id);
      await search();
    } catch (err) { $("review-result").textContent = err.message; }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    $("rec-search").addEventListener("submit", search);
    $("hold-form").addEventListener("submit", toggleHold);
    $("review-form").addEventListener("submit", submitReview);
    $("comment-add").addEventListener("click", () => {
      const text = $("comment-text").value.trim();
      if (!text) return;
      comments.push({ offset_s: $("player").currentTime, text });
      $("comment-text").value = "";
      renderComments();
    });
    forms = (await api("GET", "/api/recordings/forms")).forms;
    $("review-form-id").replaceChildren(...forms.map((f) => el("option", { value: f.id }, f.title)));
    $("review-form-id").addEventListener("change", renderForm);
    renderForm();
    await search();
  });
})();

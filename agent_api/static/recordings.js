"use strict";
// The supervisor's recordings page: search, play with seeking, score with a QA form, hold.
(function () {
  const { t, api, el, fmtSeconds } = window.H;
  const $ = (id) => document.getElementById(id);
  let forms = [];
  let current = null;
  let comments = [];
  const PAGE = 50;       // rows a page; the server's pager (offset) goes on from there
  let offset = 0;
  let rows = [];         // the rows of this page, sorted by the heading last clicked
  let sortBy = null, sortDown = false;
  const SCORABLE = ["pending", "transcoding", "stored"];
  // A code as a person reads it: its word from the catalog, the code itself if it has none.
  const word = (prefix, value) => { const key = prefix + value; const w = t(key); return w === key ? value : w; };

  const pct = (v) => (v === null || v === undefined ? "" : Math.round(v * 100) + "%");
  const secs = (v) => (v === null || v === undefined ? "" : fmtSeconds(Math.round(v)));

  function query() {
    const q = new URLSearchParams();
    const put = (name, id) => { const v = $(id).value.trim(); if (v) q.set(name, v); };
    put("agent", "q-agent"); put("queue", "q-queue"); put("number", "q-number");
    put("disposition", "q-disposition"); put("min_duration_s", "q-min-duration"); put("min_score", "q-min-score");
    if ($("q-since").value) q.set("since", $("q-since").value + "T00:00:00Z");
    if ($("q-until").value) q.set("until", $("q-until").value + "T23:59:59Z");
    q.set("limit", PAGE + 1);  // one more than shown: whether a next page exists
    q.set("offset", offset);
    return q.toString();
  }

  async function search(ev) {
    if (ev) { ev.preventDefault(); offset = 0; }  // a new search starts at its first page
    $("rec-error").textContent = "";
    try {
      const data = await api("GET", "/api/recordings?" + query());
      rows = data.recordings.slice(0, PAGE);
      $("rec-next").disabled = data.recordings.length <= PAGE;
      $("rec-prev").disabled = offset === 0;
      $("rec-page").textContent = t("rec.page").replace("{page}", offset / PAGE + 1);
      renderRows();
    } catch (err) { $("rec-error").textContent = err.message; }
  }

  function renderRows() {
    const body = $("rec-results").querySelector("tbody");
    body.replaceChildren();
    if (!rows.length) body.append(el("tr", {}, el("td", { colspan: 10 }, t("rec.none"))));
    const shown = [...rows];
    if (sortBy) {
      shown.sort((a, b) => {
        const x = a[sortBy], y = b[sortBy];
        const order = x === y ? 0 : x === null || x === undefined ? 1 : y === null || y === undefined ? -1 : x < y ? -1 : 1;
        return sortDown ? -order : order;
      });
    }
    for (const th of $("rec-results").querySelectorAll("th[data-sort]")) {
      th.dataset.sorted = th.dataset.sort === sortBy ? (sortDown ? "down" : "up") : "";
    }
    for (const r of shown) {
      body.append(el("tr", { "data-id": r.id, class: "rec-row" + (current && current.id === r.id ? " picked" : ""), onclick: () => open(r.id) },
        el("td", {}, r.id), el("td", {}, H.fmtTime(r.started_at, true, true)), el("td", {}, r.agent),
        el("td", {}, r.queue), el("td", {}, r.number), el("td", {}, secs(r.duration_s)),
        el("td", {}, pct(r.talk_ratio)), el("td", {}, r.crosstalk_s === null ? "" : r.crosstalk_s.toFixed(1) + " s"),
        el("td", {}, r.qa_score === null ? "" : r.qa_score.toFixed(1)), el("td", { "data-state": r.state }, word("rec.state.", r.state) + (r.held ? " ⚖" : ""))));
    }
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
    $("rec-pick").hidden = true;
    renderRows();
    // Only a recording that can be played can be scored: not one still being made, nor a failed one.
    const scorable = SCORABLE.includes(current.state);
    $("review-form").hidden = !scorable;
    $("review-unavailable").hidden = scorable;
    $("review-unavailable").textContent = scorable ? "" : t("rec.not_scorable").replace("{state}", word("rec.state.", current.state));
    $("player").hidden = !scorable;
    $("rec-title").textContent = `#${current.id} · ${current.agent} · ${current.queue}`;
    const player = $("player");
    const src = `/api/recordings/${id}/audio`;
    if (player.getAttribute("src") !== src) player.src = src;  // reopening keeps the position
    $("rec-download").href = `/api/recordings/${id}/download`;
    $("rec-facts").textContent = `${secs(current.duration_s)} · ${current.format} · ${t(current.channels === 2 ? "rec.stereo" : "rec.mono")} · ${t("rec.talk")} ${pct(current.talk_ratio)} · ${t("rec.retain_until")} ${current.retain_until ? current.retain_until.slice(0, 10) : ""}`;
    renderHold();
    $("rec-reviews").replaceChildren(...data.reviews.map((r) => el("li", {}, `${r.score.toFixed(1)} — ${r.reviewer} (${r.form}) ${H.fmtTime(r.at, true)}`,
      criticalNote(r),
      ...r.comments.map((c) => el("div", {}, `@${fmtSeconds(Math.round(c.offset_s))} ${c.text}`)))));
  }

  // A score of 0 from a failed critical question says which question.
  function criticalNote(review) {
    if (!review.failed_critical || !review.failed_critical.length) return null;
    return el("div", { class: "critical-failed error" }, t("rec.failed_critical").replace("{questions}", review.failed_critical.join("、")));
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
      $("review-result").replaceChildren(`${t("rec.score")}: ${review.score.toFixed(1)}`, criticalNote(review) || "");
      await open(current.id);
      await search();
    } catch (err) { $("review-result").textContent = err.message; }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    $("rec-search").addEventListener("submit", search);
    $("rec-prev").addEventListener("click", () => { offset = Math.max(0, offset - PAGE); search(); });
    $("rec-next").addEventListener("click", () => { offset += PAGE; search(); });
    for (const th of $("rec-results").querySelectorAll("th[data-sort]")) {
      th.addEventListener("click", () => {
        sortDown = sortBy === th.dataset.sort ? !sortDown : false;
        sortBy = th.dataset.sort;
        renderRows();
      });
    }
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

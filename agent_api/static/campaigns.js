"use strict";
// The campaign editor: list, edit every kind, the target rule checked as it is typed, the
// questionnaire, the lifecycle; the contact rules and the do-not-contact list below.
(function () {
  const { t, api, el, fmtTime } = window.H;
  const $ = (id) => document.getElementById(id);
  let current = null; // the campaign shown, as the API answered it (null: a new draft)

  // A server error in the reader's language when the catalog has it, else the server's words.
  function errText(err) {
    const id = err.data && err.data.error;
    const key = id ? "campaigns.error." + id : "";
    return key && t(key) !== key ? t(key) + (err.data.message ? " (" + err.data.message + ")" : "") : err.message;
  }
  function say(node, text, ok) { node.textContent = text; node.className = ok ? "note" : "error"; }

  async function loadList(selectId) {
    const data = await api("GET", "/api/campaigns");
    const body = $("campaign-list").tBodies[0];
    body.replaceChildren(...data.campaigns.map((c) => {
      const row = el("tr", { "data-id": c.id, "aria-selected": String(current && current.id === c.id), onclick: () => open(c.id) },
        el("td", {}, c.name), el("td", {}, t("campaigns.kind." + c.kind)),
        el("td", {}, el("span", { class: "bo-badge", "data-status": c.status }, t("campaigns.status." + c.status))));
      return row;
    }));
    if (selectId) await open(selectId);
  }

  // datetime-local ⇄ ISO: the browser's wall clock, sent with its offset.
  function toLocalInput(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  }
  function fromLocalInput(value) { return value ? new Date(value).toISOString() : null; }

  function questionRow(q) {
    const kinds = JSON.parse(document.getElementById("question-kinds").textContent);
    const kind = el("select", { "data-f": "kind", disabled: q.answered || undefined },
      ...kinds.map((k) => el("option", { value: k, selected: k === q.kind || undefined }, t("campaigns.qkind." + k))));
    const choices = el("textarea", { "data-f": "choices", rows: 2, placeholder: t("campaigns.choices_hint") }, (q.choices || []).join("\n"));
    const min = el("input", { "data-f": "min", type: "number", min: -100, max: 100, value: q.scale_min ?? 1, "aria-label": t("campaigns.scale_min") });
    const max = el("input", { "data-f": "max", type: "number", min: -100, max: 100, value: q.scale_max ?? 5, "aria-label": t("campaigns.scale_max") });
    const choiceBox = el("label", {}, t("campaigns.choices"), choices);
    const scaleBox = el("span", { class: "bar" }, t("campaigns.scale"), min, "–", max);
    const li = el("li", { "data-id": q.id || "" },
      el("div", { class: "bar" },
        el("input", { "data-f": "text", value: q.text || "", placeholder: t("campaigns.question_text"), maxlength: 1000, "aria-label": t("campaigns.question_text") }),
        kind,
        el("label", { class: "bo-inline" }, el("input", { "data-f": "required", type: "checkbox", checked: q.required || undefined }), t("campaigns.required")),
        el("button", { type: "button", title: t("campaigns.up"), onclick: () => li.previousElementSibling && li.parentNode.insertBefore(li, li.previousElementSibling) }, "↑"),
        el("button", { type: "button", title: t("campaigns.down"), onclick: () => li.nextElementSibling && li.parentNode.insertBefore(li.nextElementSibling, li) }, "↓"),
        el("button", { type: "button", "data-act": "remove", disabled: q.answered || undefined, title: q.answered ? t("campaigns.answered") : t("campaigns.remove"), onclick: () => li.remove() }, "✕")),
      choiceBox, scaleBox);
    const shape = () => {
      choiceBox.hidden = !["single", "multiple"].includes(kind.value);
      scaleBox.hidden = kind.value !== "scale";
    };
    kind.addEventListener("change", shape);
    shape();
    return li;
  }

  function formBody() {
    return {
      name: $("f-name").value.trim(),
      kind: $("f-kind").value,
      priority: Number($("f-priority").value || 0),
      starts_at: fromLocalInput($("f-starts").value),
      ends_at: fromLocalInput($("f-ends").value),
      channels: [...$("f-channels").querySelectorAll("input:checked")].map((i) => i.value),
      target_rule: $("f-rule").value,
      script: $("f-script").value,
      offer_text: $("f-offer").value,
      questions: [...$("questions").children].map((li) => {
        const f = (name) => li.querySelector(`[data-f="${name}"]`);
        const kind = f("kind").value;
        const q = { text: f("text").value.trim(), kind, required: f("required").checked };
        if (li.dataset.id) q.id = Number(li.dataset.id);
        if (kind === "single" || kind === "multiple") q.choices = f("choices").value.split("\n").map((s) => s.trim()).filter(Boolean);
        if (kind === "scale") { q.scale_min = Number(f("min").value); q.scale_max = Number(f("max").value); }
        return q;
      }),
    };
  }

  function show(c) {
    current = c;
    $("campaign-editor").hidden = false;
    $("editor-title").textContent = c ? c.name : t("campaigns.new");
    const status = c ? c.status : "draft";
    const badge = $("campaign-status");
    badge.textContent = t("campaigns.status." + status); badge.dataset.status = status;
    $("status-reason").hidden = !(c && c.status_reason);
    $("status-reason").textContent = c ? c.status_reason : "";
    $("f-name").value = c ? c.name : "";
    $("f-kind").value = c ? c.kind : "marketing";
    $("f-kind").disabled = Boolean(c && c.status !== "draft");
    $("f-priority").value = c ? c.priority : 0;
    $("f-starts").value = toLocalInput(c && c.starts_at);
    $("f-ends").value = toLocalInput(c && c.ends_at);
    for (const box of $("f-channels").querySelectorAll("input")) box.checked = c ? c.channels.includes(box.value) : box.value === "call_in";
    $("f-rule").value = c ? c.target_rule : "true";
    $("f-script").value = c ? c.script : "";
    $("f-offer").value = c ? c.offer_text : "";
    $("questions").replaceChildren(...(c ? c.questions : []).map(questionRow));
    const ended = status === "ended";
    for (const node of $("campaign-form").querySelectorAll("input, select, textarea, #question-add, #campaign-save")) {
      if (node.id !== "f-kind") node.disabled = ended || (node.dataset.act === "remove" && node.disabled) || (node.dataset.f === "kind" && node.disabled);
    }
    $("go-online").hidden = !c || !["draft", "paused"].includes(status);
    $("go-pause").hidden = !c || status !== "online";
    $("go-end").hidden = !c || ended;
    const problems = c ? c.problems : [];
    $("problems").hidden = !problems.length || ended;
    $("problems").querySelector("ul").replaceChildren(...problems.map((p) => el("li", {}, t("campaigns.problem." + p))));
    $("history").tBodies[0].replaceChildren(...(c ? c.history : []).map((h) =>
      el("tr", {}, el("td", {}, fmtTime(h.at, true)), el("td", {}, h.actor),
        el("td", {}, t("campaigns.action." + h.action) + (h.detail && h.detail.status ? " → " + t("campaigns.status." + h.detail.status) : "")))));
    for (const row of $("campaign-list").tBodies[0].rows) row.setAttribute("aria-selected", String(Boolean(c) && Number(row.dataset.id) === c.id));
    $("campaign-result").textContent = "";
    checkRule();
  }

  async function open(id) { show(await api("GET", `/api/campaigns/${id}`)); }

  // The target rule, checked a moment after the last key: valid or why not, and whom it reaches.
  let ruleTimer = null; let ruleSeq = 0;
  function checkRule() {
    clearTimeout(ruleTimer);
    ruleTimer = setTimeout(async () => {
      const seq = ++ruleSeq; const out = $("rule-check");
      try {
        const r = await api("POST", "/api/campaigns/target-check", { rule: $("f-rule").value });
        if (seq !== ruleSeq) return;
        if (r.valid) {
          out.className = "bo-check ok";
          out.textContent = (r.estimated ? t("campaigns.rule_ok_estimated") : t("campaigns.rule_ok")).replace("{n}", r.customers);
        } else { out.className = "bo-check bad"; out.textContent = t("campaigns.rule_bad") + " " + r.error; }
      } catch (err) { if (seq === ruleSeq) { out.className = "bo-check bad"; out.textContent = errText(err); } }
    }, 300);
  }

  async function save(ev) {
    ev.preventDefault();
    const out = $("campaign-result");
    try {
      const body = formBody();
      const c = current ? await api("PUT", `/api/campaigns/${current.id}`, body) : await api("POST", "/api/campaigns", body);
      await loadList();
      show(c);
      say(out, t("campaigns.saved"), true);
    } catch (err) { say(out, errText(err), false); }
  }

  async function lifecycle(status) {
    const out = $("campaign-result");
    try {
      const c = await api("PUT", `/api/campaigns/${current.id}/lifecycle`, { status });
      await loadList();
      show(c);
      say(out, t("campaigns.status." + c.status), true);
    } catch (err) { say(out, errText(err), false); }
  }

  // --- contact rules ---------------------------------------------------------------------------
  async function loadRules() {
    const data = await api("GET", "/api/campaign-rules");
    $("rules").tBodies[0].replaceChildren(...data.rules.map((r) => {
      const detail = r.kind === "frequency_cap"
        ? t("campaigns.cap_detail").replace("{n}", r.max_count).replace("{d}", r.window_days) + " · " + r.purposes.map((p) => t("campaigns.purpose." + p)).join(", ")
        : `${r.quiet_start}–${r.quiet_end} · ` + r.channels.map((c) => t("campaigns.channel." + c)).join(", ");
      const toggle = el("input", { type: "checkbox", checked: r.enabled || undefined, "aria-label": t("campaigns.rule_enabled"),
        onchange: async () => { try { await api("PATCH", `/api/campaign-rules/${r.id}`, { enabled: toggle.checked }); } catch (err) { say($("rules-result"), errText(err), false); } } });
      return el("tr", {}, el("td", {}, r.name), el("td", {}, t("campaigns.rule." + r.kind)), el("td", {}, detail), el("td", {}, toggle),
        el("td", {}, el("button", { type: "button", onclick: async () => { await api("DELETE", `/api/campaign-rules/${r.id}`); loadRules(); } }, t("campaigns.delete"))));
    }));
  }
  async function addRule(ev, body) {
    ev.preventDefault();
    try { await api("POST", "/api/campaign-rules", body); ev.target.reset(); say($("rules-result"), t("campaigns.saved"), true); await loadRules(); }
    catch (err) { say($("rules-result"), errText(err), false); }
  }

  // --- do-not-contact ----------------------------------------------------------------------------
  async function loadDnc() {
    const q = $("dnc-q").value.trim();
    const data = await api("GET", "/api/do-not-contact" + (q ? "?search=" + encodeURIComponent(q) : ""));
    $("dnc-total").textContent = t("campaigns.dnc_total").replace("{n}", data.total);
    $("dnc").tBodies[0].replaceChildren(...data.entries.map((e) => el("tr", {},
      el("td", {}, e.phone || "-"), el("td", {}, e.customer_name || (e.customer_id ? "#" + e.customer_id : "-")),
      el("td", {}, e.reason), el("td", {}, fmtTime(e.added_at, true)),
      el("td", {}, el("button", { type: "button", onclick: async () => { await api("DELETE", `/api/do-not-contact/${e.id}`); loadDnc(); } }, t("campaigns.remove"))))));
  }

  document.addEventListener("DOMContentLoaded", () => {
    $("campaign-new").addEventListener("click", () => show(null));
    $("question-add").addEventListener("click", () => $("questions").append(questionRow({ kind: "single", choices: [] })));
    $("f-rule").addEventListener("input", checkRule);
    $("campaign-form").addEventListener("submit", save);
    $("go-online").addEventListener("click", () => lifecycle("online"));
    $("go-pause").addEventListener("click", () => lifecycle("paused"));
    $("go-end").addEventListener("click", () => { if (confirm(t("campaigns.end_confirm"))) lifecycle("ended"); });
    $("cap-form").addEventListener("submit", (ev) => addRule(ev, {
      kind: "frequency_cap", name: $("cap-name").value.trim(), max_count: Number($("cap-max").value),
      window_days: Number($("cap-days").value), purposes: [$("cap-purpose").value] }));
    $("quiet-form").addEventListener("submit", (ev) => addRule(ev, {
      kind: "quiet_hours", name: $("quiet-name").value.trim(), quiet_start: $("quiet-start").value,
      quiet_end: $("quiet-end").value, channels: [$("quiet-channel").value] }));
    $("dnc-search").addEventListener("submit", (ev) => { ev.preventDefault(); loadDnc(); });
    $("dnc-form").addEventListener("submit", async (ev) => {
      ev.preventDefault();
      try {
        await api("POST", "/api/do-not-contact", { phone: $("dnc-phone").value.trim(), reason: $("dnc-reason").value.trim() });
        ev.target.reset(); say($("dnc-result"), t("campaigns.saved"), true); await loadDnc();
      } catch (err) { say($("dnc-result"), errText(err), false); }
    });
    loadList(); loadRules(); loadDnc();
  });
})();

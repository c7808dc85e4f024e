"use strict";
// The wallboard: coalesced "board" frames from the socket; threshold form; spy and force actions.
document.addEventListener("DOMContentLoaded", () => {
  const { t, api, el, connect, fmtSeconds } = H;
  const $ = (id) => document.getElementById(id);
  const pct = (x) => `${Math.round(x * 100)}%`;
  let chartAt = 0;
  let lastBoard = null;
  let formFilledFor = null;  // the group whose current policy the form shows
  // Policy fields: [input id, body field, shown as a percentage of a 0..1 fraction]
  const POLICY_FIELDS = [
    ["policy-max", "max_agents"], ["policy-percent", "max_percent"],
    ["policy-stop-waiting", "stop_waiting"], ["policy-resume-waiting", "resume_waiting"],
    ["policy-stop-longest", "stop_longest_wait_s"], ["policy-resume-longest", "resume_longest_wait_s"],
    ["policy-stop-sl", "stop_service_level", true], ["policy-resume-sl", "resume_service_level", true],
  ];

  // The form starts from the group's policy in force, so saving it changes only what was edited.
  function fillPolicyForm(force) {
    const group = $("policy-group").value;
    if (!lastBoard || (!force && formFilledFor === group)) return;
    const line = lastBoard.marketing.find((m) => m.group === group);
    if (!line) return;
    formFilledFor = group;
    $("policy-queues").value = line.queues.join(",");
    for (const [id, key, percent] of POLICY_FIELDS) {
      const v = line[key];
      $(id).value = v === null || v === undefined ? "" : (percent ? Math.round(v * 100) : v);
    }
  }
  $("policy-group").addEventListener("change", () => fillPolicyForm(true));
  let boardAt = Date.now();
  // Durations and waits grow between board frames (frames come only on changes): tick them here.
  setInterval(() => {
    if (document.body.classList.contains("stale")) return;  // a board not live counts nothing on
    const extra = (Date.now() - boardAt) / 1000;
    for (const cell of document.querySelectorAll("[data-seconds]")) {
      cell.textContent = fmtSeconds(Number(cell.dataset.seconds) + (cell.dataset.grows !== undefined ? extra : 0));
    }
  }, 1000);

  // A code as a person reads it: its word from the catalog, the code itself if it has none.
  const word = (prefix, value) => { const key = prefix + value; const w = t(key); return w === key ? value : w; };
  const SL_TARGET = 0.8;   // below it the service level shows red and raises an alert
  const STATES = ["available", "ringing", "on-call", "wrap-up", "paused", "outbound"];
  const SPIED = ["on-call", "outbound"];
  let spying = false;

  // The service level of the calls offered; none offered, none to show (not 100 % in green).
  const level = (within, offered) => (offered ? within / offered : null);
  const slText = (sl) => (sl === null ? "—" : pct(sl));
  const slClass = (sl) => (sl === null ? "muted" : sl < SL_TARGET ? "bad" : "good");

  function totals(board) {
    const sum = (key) => board.queues.reduce((n, q) => n + q[key], 0);
    const offered = sum("offered"), answered = sum("answered");
    const weighted = (key) => (answered ? board.queues.reduce((n, q) => n + q[key] * q.answered, 0) / answered : 0);
    const longest = Math.max(0, ...board.queues.map((q) => q.longest_wait_s));
    const sl = level(sum("answered_within_sl"), offered);
    $("t-waiting").textContent = sum("waiting");
    $("t-longest").replaceChildren(el("span", { "data-seconds": longest, "data-grows": sum("waiting") > 0 ? "" : null }, fmtSeconds(longest)));
    $("t-offered").textContent = offered;
    $("t-answered").textContent = answered;
    $("t-abandoned").textContent = sum("abandoned");
    $("t-sl").textContent = slText(sl);
    $("t-sl").className = slClass(sl);
    // AHT counts calls whose wrap-up is over: none yet, none to show.
    $("t-aht").textContent = weighted("aht_s") ? fmtSeconds(weighted("aht_s")) : "—";
    $("t-asa").textContent = answered ? fmtSeconds(weighted("asa_s")) : "—";
    $("t-callbacks").textContent = board.callbacks.length;
    const counts = Object.fromEntries(STATES.map((s) => [s, 0]));
    for (const a of board.agents) counts[a.state] = (counts[a.state] || 0) + 1;
    $("state-counts").replaceChildren(...STATES.map((s) =>
      el("span", { class: "state-count state-" + s, "data-state": s }, `${t("state." + s)} ${counts[s]}`)));
    const targets = [...new Set(board.queues.map((q) => q.service_level_s))];
    $("sl-note").textContent = t("board.sl_note").replace("{t}", targets.join("/")).replace("{window}", Math.round(board.window_s / 60));
  }

  // Alerts when a caller waits longer than the queue's service-level time, or the level falls.
  function alerts(board) {
    const out = [];
    for (const q of board.queues) {
      if (q.waiting && q.longest_wait_s > q.service_level_s) {
        out.push(t("board.alert_wait").replace("{queue}", q.queue).replace("{wait}", fmtSeconds(q.longest_wait_s)).replace("{t}", q.service_level_s));
      }
      const sl = level(q.answered_within_sl, q.offered);
      if (sl !== null && sl < SL_TARGET) out.push(t("board.alert_sl").replace("{queue}", q.queue).replace("{sl}", pct(sl)).replace("{target}", pct(SL_TARGET)));
    }
    $("alerts").replaceChildren(...out.map((text) => el("p", { class: "alert" }, text)));
    document.querySelector('[data-tile="longest"]').classList.toggle("alerting", board.queues.some((q) => q.waiting && q.longest_wait_s > q.service_level_s));
  }

  function spy(a, mode) {
    return async () => {
      if (spying) return;
      spying = true;
      const status = $("spy-status");
      status.className = "pending";
      status.textContent = t("spy.calling").replace("{mode}", t("supervisor." + mode)).replace("{agent}", a.name);
      for (const b of document.querySelectorAll("button.spy")) b.disabled = true;
      try {
        const result = await api("POST", `/api/supervisor/agents/${encodeURIComponent(a.agent)}/spy`, { mode });
        status.className = result.success ? "ok" : "error";
        status.textContent = result.message;
      } catch (e) { status.className = "error"; status.textContent = e.message; }
      spying = false;
      if (lastBoard) render(lastBoard);
    };
  }

  function render(board) {
    boardAt = Date.now();
    totals(board);
    alerts(board);
    $("queues").tBodies[0].replaceChildren(...board.queues.map((q) => {
      const sl = level(q.answered_within_sl, q.offered);
      const late = q.waiting && q.longest_wait_s > q.service_level_s;
      return el("tr", { "data-queue": q.queue, class: late ? "alerting" : "" }, el("td", {}, q.queue), el("td", { class: "waiting" }, q.waiting),
        el("td", { "data-seconds": q.longest_wait_s, "data-grows": q.waiting > 0 ? "" : null }, fmtSeconds(q.longest_wait_s)),
        el("td", {}, q.offered), el("td", {}, q.answered), el("td", {}, q.offered ? pct(q.abandon_rate) : "—"),
        el("td", { class: "sl " + slClass(sl) }, slText(sl)), el("td", {}, q.answered ? fmtSeconds(q.asa_s) : "—"), el("td", {}, q.aht_s ? fmtSeconds(q.aht_s) : "—"));
    }));
    $("waiting-count").textContent = board.waiting_calls.length ? `(${board.waiting_calls.length})` : "";
    $("waiting-calls").tBodies[0].replaceChildren(...board.waiting_calls.map((c) =>
      el("tr", { "data-call": c.call_id, class: c.priority > 0 ? "vip-row" : "" }, el("td", {}, c.queue),
        el("td", { "data-seconds": c.wait_s, "data-grows": "" }, fmtSeconds(c.wait_s)),
        el("td", {}, c.priority > 0 ? el("span", { class: "vip" }, "VIP") : ""), el("td", {}, c.caller))));
    $("waiting-calls").hidden = !board.waiting_calls.length;
    $("no-waiting").hidden = board.waiting_calls.length > 0;
    $("callbacks").tBodies[0].replaceChildren(...board.callbacks.map((c) =>
      el("tr", {}, el("td", {}, c.queue), el("td", {}, c.number), el("td", {}, word("callback.phase.", c.phase)), el("td", {}, c.attempts),
        el("td", { "data-seconds": c.wait_s, "data-grows": "" }, fmtSeconds(c.wait_s)))));
    $("callbacks").hidden = !board.callbacks.length;
    $("no-callbacks").hidden = board.callbacks.length > 0;
    // body may be a function: read at the click (the force-pause reason chosen then).
    const agentAction = (agent, path, body) => async () => {
      const sent = typeof body === "function" ? body() : body;
      try { await api("POST", `/api/supervisor/agents/${encodeURIComponent(agent)}/${path}`, sent); $("spy-status").textContent = ""; }
      catch (e) { $("spy-status").className = "error"; $("spy-status").textContent = e.message; }
    };
    $("agents").tBodies[0].replaceChildren(...board.agents.map((a) =>
      el("tr", { "data-agent": a.agent, "data-state": a.state }, el("td", {}, a.name), el("td", { class: "state-" + a.state }, t("state." + a.state), a.reason ? ` (${word("reason.", a.reason)})` : ""),
        el("td", { "data-seconds": a.seconds_in_state, "data-grows": true }, fmtSeconds(a.seconds_in_state)),
        el("td", {},
          ["listen", "whisper", "barge"].map((m) => el("button", { type: "button", class: "spy", "data-mode": m, disabled: spying || !SPIED.includes(a.state), title: SPIED.includes(a.state) ? null : t("spy.not_on_call"), onclick: spy(a, m) }, t("supervisor." + m))),
          el("button", { type: "button", onclick: agentAction(a.agent, "pause", () => ({ reason: $("force-reason").value })) }, t("supervisor.force_pause")),
          el("button", { type: "button", onclick: agentAction(a.agent, "logout") }, t("supervisor.force_logout"))))));
    $("marketing").replaceChildren(...board.marketing.map((m) =>
      el("span", { class: "marketing-line", "data-group": m.group },
        el("b", {}, m.group), ` ${t("supervisor.in_progress")}: `, el("span", { class: "marketing-count" }, m.marketing_agents),
        ` / ${t("supervisor.threshold")}: `, el("span", { class: "marketing-limit" }, m.limit), " · ",
        el("span", { class: m.gate_open ? "good" : "bad" }, m.gate_open ? t("supervisor.gate_open") : t("supervisor.gate_closed")))));
    lastBoard = board;
    fillPolicyForm(false);
    if (Date.now() - chartAt > 5000) { chartAt = Date.now(); $("sl-chart").src = "/supervisor/board.svg?t=" + chartAt; }
  }

  $("policy-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const num = (id) => ($(id).value === "" ? null : Number($(id).value));
    const body = { queues: $("policy-queues").value.split(",").map((s) => s.trim()).filter(Boolean) };
    for (const [id, key, percent] of POLICY_FIELDS) {
      const v = num(id);
      body[key] = v !== null && percent ? v / 100 : v;
    }
    try {
      render(await api("PUT", `/api/supervisor/marketing/${encodeURIComponent($("policy-group").value)}`, body));
      $("policy-result").textContent = "✓";
    } catch (e) { $("policy-result").textContent = e.message; }
  });

  connect((f) => { if (f.type === "board") render(f.board); });
});

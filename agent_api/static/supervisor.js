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
    const extra = (Date.now() - boardAt) / 1000;
    for (const cell of document.querySelectorAll("[data-seconds]")) {
      cell.textContent = fmtSeconds(Number(cell.dataset.seconds) + (cell.dataset.grows !== undefined ? extra : 0));
    }
  }, 1000);

  function render(board) {
    boardAt = Date.now();
    $("queues").tBodies[0].replaceChildren(...board.queues.map((q) =>
      el("tr", { "data-queue": q.queue }, el("td", {}, q.queue), el("td", { class: "waiting" }, q.waiting),
        el("td", { "data-seconds": q.longest_wait_s, "data-grows": q.waiting > 0 }, fmtSeconds(q.longest_wait_s)), el("td", { class: q.service_level < 0.8 ? "bad" : "" }, pct(q.service_level)),
        el("td", {}, pct(q.abandon_rate)))));
    // body may be a function: read at the click (the force-pause reason chosen then).
    const agentAction = (agent, path, body) => async () => {
      const sent = typeof body === "function" ? body() : body;
      try { await api("POST", `/api/supervisor/agents/${encodeURIComponent(agent)}/${path}`, sent); } catch (e) { alert(e.message); }
    };
    $("agents").tBodies[0].replaceChildren(...board.agents.map((a) =>
      el("tr", { "data-agent": a.agent }, el("td", {}, a.name), el("td", { class: "state-" + a.state }, t("state." + a.state), a.reason ? ` (${a.reason})` : ""),
        el("td", { "data-seconds": a.seconds_in_state, "data-grows": true }, fmtSeconds(a.seconds_in_state)),
        el("td", {},
          ["listen", "whisper", "barge"].map((m) => el("button", { type: "button", onclick: agentAction(a.agent, "spy", { mode: m }) }, t("supervisor." + m))),
          el("button", { type: "button", onclick: agentAction(a.agent, "pause", () => ({ reason: $("force-reason").value })) }, t("supervisor.force_pause")),
          el("button", { type: "button", onclick: agentAction(a.agent, "logout") }, t("supervisor.force_logout"))))));
    $("marketing").replaceChildren(...board.marketing.map((m) =>
      el("p", { class: "marketing-line", "data-group": m.group },
        el("b", {}, m.group), ` ${t("supervisor.in_progress")}: `, el("span", { class: "marketing-count" }, m.marketing_agents),
        ` / ${t("supervisor.threshold")}: `, el("span", { class: "marketing-limit" }, m.limit), " · ",
        m.gate_open ? t("supervisor.gate_open") : t("supervisor.gate_closed"))));
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

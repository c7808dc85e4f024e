"use strict";
// The agent desktop: state, screen-pops from the socket, call controls, wrap-up.
document.addEventListener("DOMContentLoaded", () => {
  const { t, api, el, connect, fmtSeconds, fmtTime } = H;
  const $ = (id) => document.getElementById(id);
  const pops = new Map();        // call_id → pop payload, only calls still live
  let wrapupCall = null;         // the call the wrap-up form is for
  const toWrapUp = new Map();    // call_id → pop: calls still to wrap up, oldest first
  let wrapupOffers = [];
  let wrapupTickets = [];
  // The server renders the pop section with this flag only when the recording API is there.
  const recordingControls = $("pop").dataset.recordingControls === "on";
  // Whether a call's recording is paused comes with the pop, "call" frames and every resync.
  const recordingErrors = new Map();  // call_id → the last failure, shown until the next try

  // A code as a person reads it: its word from the catalog, the code itself if it has none.
  const word = (prefix, value) => { const key = prefix + value; const w = t(key); return w === key ? value : w; };
  let status = null;   // the agent's state as the server last sent it
  let statusAt = 0;    // when it came: the timers count on from there
  const heldSince = new Map();  // call_id → when this page saw the call held
  const BUSY = ["ringing", "on-call", "outbound"];

  // Errors stay on the page (no alert box over a call) until the next action.
  function showError(message) {
    $("agent-error").textContent = message || "";
    $("agent-error").hidden = !message;
  }

  function showState(s) {
    if (!s) return;
    status = s; statusAt = Date.now();
    const st = s.state, busy = BUSY.includes(st);
    $("agent-state").textContent = t("state." + st);
    $("agent-state").dataset.state = st;
    $("agent-reason").textContent = s.reason ? word("reason.", s.reason) : "";
    // "Signed out by a restart: sign in again" is over once the agent is signed in again.
    if (st !== "logged-out" && $("agent-note").textContent === t("agent.signed_out_again")) $("agent-note").textContent = "";
    // Each button only when it can apply; Ready stays off while a wrap-up form is open.
    $("btn-login").disabled = st !== "logged-out" && st !== "unknown";
    $("btn-logout").disabled = st === "logged-out" || busy;
    $("btn-ready").disabled = st === "available" || st === "logged-out" || busy || (st === "wrap-up" && toWrapUp.size > 0);
    $("btn-pause").disabled = st === "logged-out" || busy || (st === "paused" && s.reason === $("pause-reason").value);
    $("btn-pause-after").hidden = !(busy || st === "wrap-up");
    $("btn-pause-after").setAttribute("aria-pressed", s.pause_after ? "true" : "false");
    $("btn-pause-after").textContent = t(s.pause_after ? "agent.pause_after_cancel" : "agent.pause_after");
    $("pause-after-note").textContent = s.pause_after ? t("agent.pause_after_set").replace("{reason}", word("reason.", s.pause_after)) : "";
    $("wrapup-extend").disabled = st !== "wrap-up" || Boolean(s.wrapup_extended);
    $("wrapup-extend").title = s.wrapup_extended ? t("wrapup.extended") : "";
    tick();
  }

  // Timers: time in the state (talk, wrap-up, pause), the wrap-up countdown, hold and ring times.
  function tick() {
    if (!status || document.body.classList.contains("stale")) return;  // a page not live counts nothing
    const passed = (Date.now() - statusAt) / 1000;
    $("state-timer").textContent = ["logged-out", "unknown"].includes(status.state) ? "" : fmtSeconds((status.state_s || 0) + passed);
    const countdown = $("wrapup-countdown");
    if (status.state === "wrap-up" && status.wrapup_left_s !== null && status.wrapup_left_s !== undefined) {
      const left = status.wrapup_left_s - passed;
      countdown.dataset.over = left < 0 ? "true" : "false";
      countdown.textContent = left >= 0 ? t("wrapup.left").replace("{time}", fmtSeconds(left))
        : t("wrapup.over").replace("{time}", fmtSeconds(-left));
    } else { countdown.textContent = ""; delete countdown.dataset.over; }
    $("wrapup-timer").hidden = !countdown.textContent;
    for (const node of document.querySelectorAll("[data-since]")) {
      node.textContent = t(node.dataset.label).replace("{time}", fmtSeconds((Date.now() - Number(node.dataset.since)) / 1000));
    }
  }
  setInterval(tick, 1000);

  // The ring: a sound, the card pulsing and the tab's title, until it is answered or gone.
  const pageTitle = document.title;
  let ringTimer = null;
  function ringAlert() {
    const ringing = [...pops.values()].some((p) => !p.answered && p.direction !== "outbound");
    document.title = ringing ? `☎ ${t("call.ringing")} · ${pageTitle}` : pageTitle;
    if (ringing && !ringTimer) { beep(); ringTimer = setInterval(beep, 2000); }
    if (!ringing && ringTimer) { clearInterval(ringTimer); ringTimer = null; }
  }
  let audio = null;
  function beep() {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      for (const [start, freq] of [[0, 880], [0.25, 660]]) {
        const osc = audio.createOscillator(), gain = audio.createGain();
        osc.frequency.value = freq; gain.gain.value = 0.08;
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + start); osc.stop(audio.currentTime + start + 0.2);
      }
    } catch (e) { /* no sound on this browser: the card and the title still ring */ }
  }

  function act(fn) {
    return async () => { try { showState(await fn()); showError(""); } catch (e) { showError(e.message); } };
  }
  // Another desk's extension (an account allowed to hot-desk): 202, and that phone rings with a
  // code on its display; the agent types it here and is logged in there.
  $("btn-login").addEventListener("click", async () => {
    try {
      const answer = await api("POST", "/api/agent/login", { extension: $("extension").value || null });
      if (answer && answer.expires_in_s !== undefined) {
        $("agent-note").textContent = t("agent.hot_desk_ringing").replace("{extension}", answer.extension);
        $("hot-desk").hidden = false;
        $("hot-desk-code").value = "";
        $("hot-desk-code").focus();
      } else {
        showState(answer);
      }
      showError("");
    } catch (e) { showError(e.message); }
  });
  $("btn-hot-desk").addEventListener("click", act(async () => {
    const status = await api("POST", "/api/agent/login/confirm", { code: $("hot-desk-code").value });
    $("hot-desk").hidden = true;
    $("agent-note").textContent = "";
    return status;
  }));
  $("btn-logout").addEventListener("click", act(() => api("POST", "/api/agent/logout")));
  $("btn-ready").addEventListener("click", act(() => api("POST", "/api/agent/ready")));
  $("btn-pause").addEventListener("click", act(() => api("POST", "/api/agent/pause", { reason: $("pause-reason").value })));
  $("pause-reason").addEventListener("change", () => showState(status));
  // Pause after this call (and its wrap-up), with the reason chosen beside it; pressed again, cancelled.
  $("btn-pause-after").addEventListener("click", act(() =>
    api("POST", "/api/agent/pause-after", { reason: status && status.pause_after ? "" : $("pause-reason").value })));
  $("wrapup-extend").addEventListener("click", act(() => api("POST", "/api/agent/wrapup/extend")));
  $("btn-dial").addEventListener("click", async () => {
    try { await api("POST", "/api/agent/dial", { number: $("dial-number").value }); showError(""); } catch (e) { showError(e.message); }
  });

  function control(callId, what, body) {
    return async () => {
      try { await api("POST", `/api/agent/calls/${encodeURIComponent(callId)}/${what}`, body); showError(""); } catch (e) { showError(e.message); }
    };
  }

  // Hold / Resume holds the call on the switch (docs/hold.md). The label follows the call's
  // "held" as the pop, "call" frames and every resync ("hello") carry it, so a reload still
  // offers Resume. Between the click and the switch's answer the button waits (at most 5 s).
  const holdPending = new Set();  // call ids whose hold or resume is on its way
  function holdButton(p) {
    const waiting = holdPending.has(p.call_id);
    return el("button", { type: "button", class: "hold", "data-held": p.held ? "true" : "false",
      "aria-pressed": p.held ? "true" : "false", disabled: !p.answered || waiting,
      onclick: async () => {
        holdPending.add(p.call_id); renderPops();
        setTimeout(() => { if (holdPending.delete(p.call_id)) renderPops(); }, 5000);
        try { await api("POST", `/api/agent/calls/${encodeURIComponent(p.call_id)}/hold`, { on: !p.held }); }
        catch (e) { holdPending.delete(p.call_id); renderPops(); showError(e.message); }
      } }, t(p.held ? "call.resume" : "call.hold"));
  }

  // Mute: the agent's microphone, on the switch (the caller stops hearing the agent, the agent
  // still hears the caller). The button follows "muted" as the pop, "call" frames and every
  // resync carry it; a hold lets the microphone go, so a held call has no mute to press.
  const mutePending = new Set();  // call ids whose mute or unmute is on its way
  function muteButton(p) {
    const muted = p.muted === true;
    return el("button", { type: "button", class: "mute" + (muted ? " is-muted" : ""), "data-muted": muted ? "true" : "false",
      "aria-pressed": muted ? "true" : "false", disabled: !p.answered || p.held || mutePending.has(p.call_id),
      onclick: async () => {
        mutePending.add(p.call_id); renderPops();
        try { await api("POST", `/api/agent/calls/${encodeURIComponent(p.call_id)}/mute`, { muted: !muted }); showError(""); }
        catch (e) { showError(e.message); }
        mutePending.delete(p.call_id); renderPops();
      } }, t(muted ? "call.unmute" : "call.mute"));
  }

  // The keypad: digits to the other party of an answered call (an IVR the agent reached).
  function keypad(p) {
    if (!p.answered) return null;
    const shown = el("output", { class: "dtmf-sent", "aria-live": "polite" });
    const press = (digit) => async () => {
      try {
        await api("POST", `/api/agent/calls/${encodeURIComponent(p.call_id)}/dtmf`, { digits: digit });
        shown.textContent += digit;
        showError("");
      } catch (e) { showError(e.message); }
    };
    return el("details", { class: "keypad" }, el("summary", {}, t("call.keypad")),
      el("div", { class: "keys" }, [..."123456789*0#"].map((d) => el("button", { type: "button", "data-digit": d, onclick: press(d) }, d))),
      shown);
  }

  function toggleRecording(callId) {
    return async (ev) => {
      const paused = pops.has(callId) && pops.get(callId).recording_paused === true;
      ev.currentTarget.disabled = true;
      try {
        await api("POST", `/api/recordings/calls/${encodeURIComponent(callId)}/${paused ? "resume" : "pause"}`);
        recordingErrors.delete(callId);
        if (pops.has(callId)) pops.get(callId).recording_paused = !paused;
      } catch (e) {
        if (pops.has(callId)) recordingErrors.set(callId, `${t(paused ? "recording.resume_failed" : "recording.pause_failed")}: ${e.message}`);
      }
      renderPops();
    };
  }

  function recordingToggle(p) {
    if (!recordingControls || !p.answered) return null;
    const paused = p.recording_paused === true;
    return [
      el("button", { type: "button", class: "recording-toggle", "aria-pressed": paused ? "true" : "false", onclick: toggleRecording(p.call_id) },
        t(paused ? "recording.resume" : "recording.pause")),
      el("span", { class: "recording-state", "data-state": paused ? "paused" : "on" }, t(paused ? "recording.paused" : "recording.on")),
    ];
  }

  function renderPops() {
    const box = $("pop");
    box.replaceChildren();
    ringAlert();
    if (!pops.size) { box.append(el("p", { id: "no-call" }, t("pop.none"))); return; }
    for (const p of pops.values()) box.append(popCard(p));
    tick();
  }

  // The caller's way through the IVR in words, in the page's language: each step by its kind
  // (a greeting, or a branch that changed nothing, says nothing worth reading).
  function ivrStep(s) {
    const put = (key, name, value) => t(key).replace(`{${name}}`, value);
    switch (s.kind) {
      case "business_hours": return t(s.result.startsWith("open") ? "ivr.step.open" : "ivr.step.closed");
      case "branch": return s.result === "else" ? null : t("ivr.step.routed");
      case "language": return put("ivr.step.language", "language", word("ivr.language.", s.result.split(" ")[0]));
      case "menu": return s.result ? t("ivr.step.no_choice") : put("ivr.step.pressed", "digits", s.digits);
      case "collect": return s.result ? t("ivr.step.invalid_number") : put("ivr.step.entered", "digits", s.digits);
      case "lookup":
        if (s.result === "not-found") return t("ivr.step.not_found");
        if (s.result === "unavailable") return t("ivr.step.unavailable");
        return put("ivr.step.looked_up", "status", word("ticket.status.", s.result));
      case "queue": return put("ivr.step.queued", "queue", s.result);
      case "callback": return t("ivr.step.callback");
      case "message": return t("ivr.step.message");
      case "transfer": return put("ivr.step.transferred", "number", s.result);
      case "hangup": return t("ivr.step.hung_up");
      case "guard": return t("ivr.step.too_many_turns");
      default: return null;
    }
  }
  const ivrWords = (p) => (p.ivr_steps || []).map(ivrStep).filter(Boolean).join(" › ");

  // What the agent knows of the caller, on the live card and on the wrap-up until it is saved.
  function callerDetails(p) {
    const c = p.customer;
    return [
      // An outbound call is the agent's own dial: the number dialed, no queue wait, no IVR.
      el("dl", {},
        el("dt", {}, t(p.direction === "outbound" ? "pop.dialed" : "pop.caller")), el("dd", {}, p.caller || "-"),
        c ? [el("dt", {}, t("pop.segment")), el("dd", {}, word("segment.", c.segment))] : null,
        p.direction === "outbound" ? null : [el("dt", {}, t("pop.wait")), el("dd", {}, fmtSeconds(p.wait_s || 0)),
          // What the caller pressed reads at a glance, and the way through the menu in words.
          el("dt", {}, t("pop.ivr_keys")), el("dd", { class: "ivr" },
            (p.ivr_keys || []).length ? p.ivr_keys.join(" → ") : t("pop.ivr_no_keys")),
          ivrWords(p) ? el("dt", {}, t("pop.ivr_path")) : null,
          ivrWords(p) ? el("dd", { class: "ivr-path" }, ivrWords(p)) : null]),
      el("h3", {}, t("pop.tickets")),
      el("ul", { class: "tickets" }, (p.tickets || []).map((k) => el("li", { class: "sla-" + k.sla }, `${k.number} ${k.subject} (${word("ticket.status.", k.status)}, ${word("sla.", k.sla)})`))),
      el("h3", {}, t("pop.contacts")),
      el("ul", { class: "contacts" }, (p.contacts || []).map((x) => el("li", {}, `${fmtTime(x.at, true)} ${word("channel.", x.channel)} ${word("disposition.", x.disposition)} ${x.note || ""} ${H.satisfaction(x.satisfaction, x.survey)}`.trimEnd()))),
      el("h3", {}, t("pop.offers")),
      p.offers && p.offers.length
        ? el("ul", { class: "offers" }, p.offers.map((o) => el("li", { class: "offer", "data-campaign": o.campaign_id }, el("b", {}, o.name), " ", o.offer_text || o.script)))
        : el("p", { class: "no-offer" }, t("pop.no_offer")),
    ];
  }

  function callTitle(p) {
    const c = p.customer;
    return [p.direction === "outbound" ? el("span", { class: "direction" }, t("call.outbound")) : null,
      c ? c.name : (p.caller || t("pop.new_caller")), c && c.vip_level ? el("span", { class: "vip" }, ` VIP${c.vip_level}`) : null];
  }

  // An unknown caller: create the customer beside the desktop (a new tab keeps this page's
  // socket), the number filled in; the wrap-up then finds them by it.
  function newCustomerLink(p) {
    return el("a", { class: "create-customer", href: "/customers?phone=" + encodeURIComponent(p.caller || ""), target: "_blank", rel: "noopener" }, t("pop.create_customer"));
  }

  // Consult transfer (docs/transfers.md): the agent rings another agent while the caller hears
  // music, then completes the transfer, cancels, or makes it a three-way call. The card follows
  // "consult" ("consulting", "conference") as the pop and "call" frames carry it; the consulted
  // agent's card says who consults them and leaves them only the hang-up.
  const consultPending = new Set();  // call ids whose consult step is on its way
  function consultStep(p, what, body) {
    return async () => {
      consultPending.add(p.call_id); renderPops();
      setTimeout(() => { if (consultPending.delete(p.call_id)) renderPops(); }, 5000);
      try { await api("POST", `/api/agent/calls/${encodeURIComponent(p.call_id)}/${what}`, body); showError(""); }
      catch (e) { consultPending.delete(p.call_id); renderPops(); showError(e.message); }
    };
  }
  function consulted(p) { return Boolean(p.consult_from) && Boolean(p.consult); }
  function consultBlock(p) {
    const waiting = consultPending.has(p.call_id);
    if (consulted(p)) {
      return el("p", { class: "consult-cue", role: "status" },
        t(p.consult === "conference" ? "call.in_conference" : "call.consulted_by").replace("{agent}", p.consult_from));
    }
    if (p.consult === "conference") {
      return el("p", { class: "consult-cue", role: "status" }, t("call.in_conference_with").replace("{target}", p.consult_target));
    }
    if (p.consult === "consulting") {
      return el("div", { class: "consult consulting" },
        el("p", { class: "consult-cue", role: "status" }, t("call.consulting").replace("{target}", p.consult_target)),
        el("button", { type: "button", class: "consult-complete", disabled: waiting, onclick: consultStep(p, "consult/complete") }, t("call.consult_complete")),
        el("button", { type: "button", class: "consult-cancel", disabled: waiting, onclick: consultStep(p, "consult/cancel") }, t("call.consult_cancel")),
        el("button", { type: "button", class: "consult-conference", disabled: waiting, onclick: consultStep(p, "consult/conference") }, t("call.consult_conference")));
    }
    const target = el("input", { size: 8, class: "consult-target", placeholder: t("call.consult_target"), list: "transfer-agents", "aria-label": t("call.consult_target") });
    return el("div", { class: "consult" }, target,
      el("button", { type: "button", class: "consult-start", disabled: !p.answered || p.held || waiting,
        onclick: () => consultStep(p, "consult", { target: target.value.trim() })() }, t("call.consult")));
  }

  function popCard(p) {
    const c = p.customer;
    const busy = Boolean(p.consult);  // hold, mute and blind transfer wait for the consult's end
    const transferKind = el("select", {}, el("option", { value: "agent" }, t("call.transfer_agent")),
      el("option", { value: "queue" }, t("call.transfer_queue")), el("option", { value: "number" }, t("call.transfer_number")));
    // The target's suggestions follow the kind: agents by extension, queues by name, none for a number.
    const transferTarget = el("input", { size: 10, class: "transfer-target", placeholder: t("call.transfer_target"), list: "transfer-agents" });
    transferKind.addEventListener("change", () => {
      const list = { agent: "transfer-agents", queue: "transfer-queues" }[transferKind.value];
      if (list) transferTarget.setAttribute("list", list); else transferTarget.removeAttribute("list");
      transferTarget.inputMode = transferKind.value === "number" ? "tel" : "text";
      transferTarget.value = "";
    });
    const ringing = !p.answered;
    if (p.held && !heldSince.has(p.call_id)) heldSince.set(p.call_id, Date.now());
    if (!p.held) heldSince.delete(p.call_id);
    return el("article", { class: "pop" + (ringing ? " ringing" : ""), "data-call": p.call_id, "data-answered": p.answered ? "true" : null },
      el("h2", { class: "customer-name" }, callTitle(p)),
      c ? null : newCustomerLink(p),
      ringing ? el("p", { class: "ring-cue", role: "status", "data-since": Date.parse(p.rung_at) || Date.now(), "data-label": p.direction === "outbound" ? "call.dialing_for" : "call.ringing_for" }) : null,
      p.held && !consulted(p) ? el("p", { class: "hold-cue", role: "status", "data-since": heldSince.get(p.call_id), "data-label": "call.held_for" }) : null,
      p.muted && !p.held ? el("p", { class: "mute-cue", role: "status" }, t("call.muted")) : null,
      el("div", { class: "controls" },
        busy ? null : holdButton(p),
        busy ? null : muteButton(p),
        el("button", { type: "button", class: "hangup", onclick: control(p.call_id, "hangup") }, t("call.hangup")),
        busy ? null : transferKind, busy ? null : transferTarget,
        busy ? null : el("button", { type: "button", class: "transfer", disabled: !p.answered, onclick: () => control(p.call_id, "transfer", { kind: transferKind.value, target: transferTarget.value })() }, t("call.transfer")),
        consulted(p) ? null : recordingToggle(p)),
      p.answered ? consultBlock(p) : null,
      busy ? null : keypad(p),
      recordingErrors.has(p.call_id) ? el("p", { class: "recording-error error", role: "alert" }, recordingErrors.get(p.call_id)) : null,
      callerDetails(p),
      c && c.phones && c.phones.length ? el("div", { class: "phones" }, c.phones.map((n) =>
        el("button", { type: "button", class: "dial-customer", onclick: async () => { try { await api("POST", "/api/agent/dial", { number: n }); showError(""); } catch (e) { showError(e.message); } } }, `${t("call.dial")} ${n}`))) : null);
  }

  // Calls to wrap up wait their turn: a form being filled in is never replaced by another call.
  function queueWrapup(callId, pop) {
    if (!toWrapUp.has(callId)) toWrapUp.set(callId, pop || { call_id: callId });
    if (!wrapupCall) openWrapup(callId, toWrapUp.get(callId));
    else showWaiting();
  }

  function nextWrapup() {
    const next = toWrapUp.entries().next();
    if (next.done) { wrapupCall = null; $("wrapup").hidden = true; showState(status); return; }
    openWrapup(next.value[0], next.value[1]);
  }

  function showWaiting() {
    const more = toWrapUp.size - (wrapupCall ? 1 : 0);
    $("wrapup-call").textContent = more > 0 ? t("wrapup.more").replace("{count}", more) : "";
  }

  function openWrapup(callId, pop) {
    wrapupCall = callId;
    wrapupOffers = (pop && pop.offers) || [];
    wrapupTickets = (pop && pop.tickets) || [];
    $("ticket-update").hidden = !wrapupTickets.length;
    $("update-ticket-id").replaceChildren(...wrapupTickets.map((k) => el("option", { value: k.id }, `${k.number} ${k.subject}`)));
    $("wrapup").hidden = false;
    $("wrapup").dataset.call = callId;
    // Titled with the customer and the time of the call, and their card stays until it is saved.
    const p = pop || { call_id: callId };
    $("wrapup-who").replaceChildren(...callTitle(p).filter(Boolean), p.rung_at ? ` · ${fmtTime(p.rung_at)}` : "");
    $("wrapup-card").replaceChildren(...callerDetails(p).filter(Boolean));
    showWaiting();
    showState(status);
    $("wrapup-result").textContent = "";
    $("notes").value = draft(callId);
    $("offer-outcome").hidden = !wrapupOffers.length;
    $("offer-list").replaceChildren(...wrapupOffers.map(offerResult));
  }

  // One outcome per offer the pop showed ("not presented" until the agent says otherwise), with
  // that offer's questions; an accepted offer needs its required answers (the server checks them).
  const OUTCOMES = ["not_presented", "accepted", "declined", "later", "not_suitable"];
  function offerResult(o) {
    const outcome = el("select", { class: "outcome", "aria-label": `${t("wrapup.offer_outcome")}: ${o.name}` },
      OUTCOMES.map((v) => el("option", { value: v }, t(`outcome.${v}`))));
    const questions = el("div", { class: "questions" }, (o.questions || []).map(questionField));
    const markRequired = () => {
      for (const f of questions.querySelectorAll("[data-required='1']:not(fieldset)")) f.required = outcome.value === "accepted";
    };
    outcome.addEventListener("change", markRequired);
    return el("fieldset", { class: "offer-result", "data-campaign": o.campaign_id }, el("legend", {}, o.name), outcome, questions);
  }

  function questionField(q) {
    const attrs = { "data-question": q.id, "data-kind": q.kind, "data-required": q.required ? "1" : "0" };
    const text = q.required ? [q.text, el("span", { class: "required" }, ` (${t("wrapup.required")})`)] : [q.text];
    if (q.kind === "single") {
      return el("label", {}, ...text, " ", el("select", attrs, el("option", { value: "" }, "-"), q.choices.map((c) => el("option", { value: c }, c))));
    }
    if (q.kind === "multiple") {
      return el("fieldset", attrs, el("legend", {}, ...text),
        q.choices.map((c) => el("label", {}, el("input", { type: "checkbox", value: c }), c)));
    }
    if (q.kind === "scale") {
      return el("label", {}, ...text, " ", el("input", { ...attrs, type: "number", min: q.scale_min, max: q.scale_max, size: 4 }));
    }
    return el("label", {}, ...text, " ", el("input", { ...attrs, maxlength: 200 }));
  }

  function answers(questions) {
    const out = {};
    for (const field of questions.querySelectorAll("[data-question]")) {
      const kind = field.dataset.kind;
      if (kind === "multiple") {
        const picked = [...field.querySelectorAll("input:checked")].map((c) => c.value);
        if (picked.length) out[field.dataset.question] = picked;
      } else if (field.value !== "") {
        out[field.dataset.question] = kind === "scale" ? Number(field.value) : field.value;
      }
    }
    return out;
  }

  // One ticket per wrap-up: a new one, or an update of one the pop showed.
  function ticketChoice(ev) {
    if (ev && ev.target.checked) ($(ev.target.id === "new-ticket" ? "update-ticket" : "new-ticket")).checked = false;
    $("ticket-fields").hidden = !$("new-ticket").checked;
    $("update-fields").hidden = !$("update-ticket").checked;
  }
  $("new-ticket").addEventListener("change", ticketChoice);
  $("update-ticket").addEventListener("change", ticketChoice);
  // The notes typed so far stay with this tab until the wrap-up is saved or given up: a reload
  // (or a browser that crashed) finds them again beside the form the server kept.
  const DRAFT = "hotline.wrapup-notes.";
  const draft = (callId) => { try { return sessionStorage.getItem(DRAFT + callId) || ""; } catch (e) { return ""; } };
  const forget = (callId) => { try { sessionStorage.removeItem(DRAFT + callId); } catch (e) { /* none kept */ } };
  $("notes").addEventListener("input", () => {
    if (!wrapupCall) return;
    try { sessionStorage.setItem(DRAFT + wrapupCall, $("notes").value); } catch (e) { /* storage full or off */ }
  });

  // Save waits for the server's answer, and the form of the next call to wrap up cannot be saved
  // in its first second: a double-click on Save files one call, never the next one unseen.
  let saveBlockedUntil = 0;
  function blockSave(ms) {
    saveBlockedUntil = Date.now() + ms;
    $("wrapup-save").disabled = true;
    setTimeout(() => { if (Date.now() >= saveBlockedUntil) $("wrapup-save").disabled = false; }, ms);
  }
  function unblockSave() { saveBlockedUntil = 0; $("wrapup-save").disabled = false; }
  $("wrapup-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!wrapupCall || Date.now() < saveBlockedUntil) return;
    const body = { disposition: $("disposition").value, notes: $("notes").value, ready: true };
    body.offers = [...$("offer-list").querySelectorAll("fieldset.offer-result")].map((f) => {
      const outcome = f.querySelector("select.outcome").value;
      return { campaign_id: Number(f.dataset.campaign), outcome, answers: outcome === "not_presented" ? {} : answers(f.querySelector(".questions")) };
    });
    if ($("new-ticket").checked) body.new_ticket = { kind: $("ticket-kind").value, subject: $("ticket-subject").value || $("disposition").value };
    else if ($("update-ticket").checked && $("update-ticket-id").value) {
      body.ticket_update = { ticket_id: Number($("update-ticket-id").value), note: $("update-note").value || $("disposition").value, resolve: $("update-resolve").checked };
    }
    blockSave(30000);
    try {
      const done = await api("POST", `/api/agent/calls/${encodeURIComponent(wrapupCall)}/wrapup`, body);
      $("agent-note").textContent = `${t("wrapup.saved")} ${$("wrapup-who").textContent}` + (done.ticket_number ? ` · ${done.ticket_number}` : "");
      forget(wrapupCall);
      $("wrapup-form").reset();
      ticketChoice();
      toWrapUp.delete(wrapupCall);
      wrapupCall = null;
      nextWrapup();
      if (wrapupCall) blockSave(1000); else unblockSave();
    } catch (e) { $("wrapup-result").textContent = e.message; unblockSave(); }
  });

  // Giving a call's wrap-up up records nothing for it; the server keeps it until saved or this.
  $("wrapup-discard").addEventListener("click", async () => {
    if (!wrapupCall || !confirm(t("wrapup.discard_confirm"))) return;
    try {
      await api("DELETE", `/api/agent/calls/${encodeURIComponent(wrapupCall)}/wrapup`);
      forget(wrapupCall);
      $("wrapup-form").reset();
      ticketChoice();
      toWrapUp.delete(wrapupCall);
      wrapupCall = null;
      nextWrapup();
      if (wrapupCall) blockSave(1000);
    } catch (e) { $("wrapup-result").textContent = e.message; }
  });

  connect((f) => {
    if (f.type === "hello") {
      // Signed in before the connection dropped, signed out now (the server restarted, or a
      // supervisor logged the agent out): say so plainly instead of leaving it to be noticed.
      const before = status && status.state;
      if (before && before !== "logged-out" && f.status && f.status.state === "logged-out") {
        $("agent-note").textContent = t("agent.signed_out_again");
      }
      pops.clear();
      for (const p of f.pops || []) pops.set(p.call_id, p);
      showState(f.status);
      // The calls still to wrap up, with what their pops showed (offers, tickets), after a reload too.
      toWrapUp.clear();
      for (const w of f.wrapups || []) toWrapUp.set(w.call_id, w);
      if (wrapupCall && toWrapUp.has(wrapupCall)) showWaiting(); else nextWrapup();
      showState(f.status);
      renderPops();
    } else if (f.type === "pop") {
      pops.set(f.call_id, f); renderPops();
    } else if (f.type === "call") {
      const p = pops.get(f.call_id);
      if (p) { if (p.held !== f.held) holdPending.delete(f.call_id); p.answered = f.answered; p.held = f.held; renderPops(); }
      if (p && "recording_paused" in f) { p.recording_paused = f.recording_paused; renderPops(); }
      if (p && "muted" in f) { p.muted = f.muted; renderPops(); }
      if (p && "consult" in f) {
        if (p.consult !== f.consult) consultPending.delete(f.call_id);
        p.consult = f.consult; p.consult_target = f.consult_target; renderPops();
      }
    } else if (f.type === "ended") {
      const p = pops.get(f.call_id);
      pops.delete(f.call_id); recordingErrors.delete(f.call_id); mutePending.delete(f.call_id); consultPending.delete(f.call_id); renderPops();
      heldSince.delete(f.call_id);
      if (f.wrapup !== false) queueWrapup(f.call_id, p);
      showState(status);
    } else if (f.type === "state") {
      showState(f);
    }
  });
});

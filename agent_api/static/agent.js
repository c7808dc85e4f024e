"use strict";
// The agent desktop: state, screen-pops from the socket, call controls, wrap-up.
document.addEventListener("DOMContentLoaded", () => {
  const { t, api, el, connect, fmtSeconds } = H;
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

  function showState(s) {
    if (!s) return;
    $("agent-state").textContent = t("state." + s.state);
    $("agent-state").dataset.state = s.state;
    $("agent-reason").textContent = s.reason || "";
  }

  function act(fn) {
    return async () => { try { showState(await fn()); } catch (e) { alert(e.message); } };
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
    } catch (e) { alert(e.message); }
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
  $("btn-dial").addEventListener("click", async () => {
    try { await api("POST", "/api/agent/dial", { number: $("dial-number").value }); } catch (e) { alert(e.message); }
  });

  function control(callId, what, body) {
    return async () => {
      try { await api("POST", `/api/agent/calls/${encodeURIComponent(callId)}/${what}`, body); } catch (e) { alert(e.message); }
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
        catch (e) { holdPending.delete(p.call_id); renderPops(); alert(e.message); }
      } }, t(p.held ? "call.resume" : "call.hold"));
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
    if (!pops.size) { box.append(el("p", { id: "no-call" }, t("pop.none"))); return; }
    for (const p of pops.values()) box.append(popCard(p));
  }

  // An unknown caller: create the customer beside the desktop (a new tab keeps this page's
  // socket), the number filled in; the wrap-up then finds them by it.
  function newCustomerLink(p) {
    return el("a", { class: "create-customer", href: "/customers?phone=" + encodeURIComponent(p.caller || ""), target: "_blank", rel: "noopener" }, t("pop.create_customer"));
  }

  function popCard(p) {
    const c = p.customer;
    const title = c ? c.name : t("pop.new_caller");
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
    return el("article", { class: "pop", "data-call": p.call_id, "data-answered": p.answered ? "true" : null },
      el("h2", { class: "customer-name" }, p.direction === "outbound" ? el("span", { class: "direction" }, t("call.outbound")) : null, title, c && c.vip_level ? el("span", { class: "vip" }, ` VIP${c.vip_level}`) : null),
      c ? null : newCustomerLink(p),
      el("dl", {},
        el("dt", {}, t("pop.caller")), el("dd", {}, p.caller || "-"),
        c ? [el("dt", {}, t("pop.segment")), el("dd", {}, c.segment)] : null,
        el("dt", {}, t("pop.wait")), el("dd", {}, fmtSeconds(p.wait_s)),
        el("dt", {}, t("pop.ivr_path")), el("dd", { class: "ivr" }, (p.ivr_path || []).join(" › ") || "-")),
      el("div", { class: "controls" },
        holdButton(p),
        el("button", { type: "button", class: "hangup", onclick: control(p.call_id, "hangup") }, t("call.hangup")),
        transferKind, transferTarget,
        el("button", { type: "button", onclick: () => control(p.call_id, "transfer", { kind: transferKind.value, target: transferTarget.value })() }, t("call.transfer")),
        recordingToggle(p)),
      recordingErrors.has(p.call_id) ? el("p", { class: "recording-error error", role: "alert" }, recordingErrors.get(p.call_id)) : null,
      el("h3", {}, t("pop.tickets")),
      el("ul", { class: "tickets" }, (p.tickets || []).map((k) => el("li", { class: "sla-" + k.sla }, `${k.number} ${k.subject} (${t("ticket.status." + k.status)}, ${t("sla." + k.sla)})`))),
      el("h3", {}, t("pop.contacts")),
      el("ul", { class: "contacts" }, (p.contacts || []).map((x) => el("li", {}, `${x.at.slice(0, 16).replace("T", " ")} ${x.channel} ${x.disposition} ${x.note}`))),
      el("h3", {}, t("pop.offers")),
      p.offers && p.offers.length
        ? el("ul", { class: "offers" }, p.offers.map((o) => el("li", { class: "offer", "data-campaign": o.campaign_id }, el("b", {}, o.name), " ", o.offer_text || o.script)))
        : el("p", { class: "no-offer" }, t("pop.no_offer")),
      c && c.phones && c.phones.length ? el("div", { class: "phones" }, c.phones.map((n) =>
        el("button", { type: "button", class: "dial-customer", onclick: async () => { try { await api("POST", "/api/agent/dial", { number: n }); } catch (e) { alert(e.message); } } }, `${t("call.dial")} ${n}`))) : null);
  }

  // Calls to wrap up wait their turn: a form being filled in is never replaced by another call.
  function queueWrapup(callId, pop) {
    if (!toWrapUp.has(callId)) toWrapUp.set(callId, pop || { call_id: callId });
    if (!wrapupCall) openWrapup(callId, toWrapUp.get(callId));
    else showWaiting();
  }

  function nextWrapup() {
    const next = toWrapUp.entries().next();
    if (next.done) { wrapupCall = null; $("wrapup").hidden = true; return; }
    openWrapup(next.value[0], next.value[1]);
  }

  function showWaiting() {
    const more = toWrapUp.size - (wrapupCall ? 1 : 0);
    $("wrapup-call").textContent = (wrapupCall || "") + (more > 0 ? ` (+${more})` : "");
  }

  function openWrapup(callId, pop) {
    wrapupCall = callId;
    wrapupOffers = (pop && pop.offers) || [];
    wrapupTickets = (pop && pop.tickets) || [];
    $("ticket-update").hidden = !wrapupTickets.length;
    $("update-ticket-id").replaceChildren(...wrapupTickets.map((k) => el("option", { value: k.id }, `${k.number} ${k.subject}`)));
    $("wrapup").hidden = false;
    showWaiting();
    $("wrapup-result").textContent = "";
    $("offer-outcome").hidden = !wrapupOffers.length;
    $("offer-campaign").replaceChildren(...wrapupOffers.map((o) => el("option", { value: o.campaign_id }, o.name)));
    $("offer-campaign").hidden = wrapupOffers.length < 2;
    showQuestions();
  }

  // The questions of the chosen offer, each answered the way its kind asks (the server checks them).
  function showQuestions() {
    const offer = wrapupOffers.find((o) => String(o.campaign_id) === $("offer-campaign").value);
    $("questions").replaceChildren(...((offer && offer.questions) || []).map(questionField));
  }
  $("offer-campaign").addEventListener("change", showQuestions);

  function questionField(q) {
    const attrs = { "data-question": q.id, "data-kind": q.kind };
    if (q.kind === "single") {
      return el("label", {}, q.text, " ", el("select", attrs, el("option", { value: "" }, "-"), q.choices.map((c) => el("option", { value: c }, c))));
    }
    if (q.kind === "multiple") {
      return el("fieldset", attrs, el("legend", {}, q.text),
        q.choices.map((c) => el("label", {}, el("input", { type: "checkbox", value: c }), c)));
    }
    if (q.kind === "scale") {
      return el("label", {}, q.text, " ", el("input", { ...attrs, type: "number", min: q.scale_min, max: q.scale_max, size: 4 }));
    }
    return el("label", {}, q.text, " ", el("input", { ...attrs, maxlength: 200 }));
  }

  function answers() {
    const out = {};
    for (const field of $("questions").querySelectorAll("[data-question]")) {
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
  $("wrapup-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!wrapupCall) return;
    const body = { disposition: $("disposition").value, notes: $("notes").value, ready: true };
    if (wrapupOffers.length && $("outcome").value) {
      body.offer = { campaign_id: Number($("offer-campaign").value), outcome: $("outcome").value, answers: answers() };
    }
    if ($("new-ticket").checked) body.new_ticket = { kind: $("ticket-kind").value, subject: $("ticket-subject").value || $("disposition").value };
    else if ($("update-ticket").checked && $("update-ticket-id").value) {
      body.ticket_update = { ticket_id: Number($("update-ticket-id").value), note: $("update-note").value || $("disposition").value, resolve: $("update-resolve").checked };
    }
    try {
      const done = await api("POST", `/api/agent/calls/${encodeURIComponent(wrapupCall)}/wrapup`, body);
      $("agent-note").textContent = `${t("wrapup.saved")} ${wrapupCall}` + (done.ticket_number ? ` · ${done.ticket_number}` : "");
      $("wrapup-form").reset();
      ticketChoice();
      toWrapUp.delete(wrapupCall);
      wrapupCall = null;
      nextWrapup();
    } catch (e) { $("wrapup-result").textContent = e.message; }
  });

  // Giving a call's wrap-up up records nothing for it; the server keeps it until saved or this.
  $("wrapup-discard").addEventListener("click", async () => {
    if (!wrapupCall || !confirm(t("wrapup.discard_confirm"))) return;
    try {
      await api("DELETE", `/api/agent/calls/${encodeURIComponent(wrapupCall)}/wrapup`);
      $("wrapup-form").reset();
      ticketChoice();
      toWrapUp.delete(wrapupCall);
      wrapupCall = null;
      nextWrapup();
    } catch (e) { $("wrapup-result").textContent = e.message; }
  });

  connect((f) => {
    if (f.type === "hello") {
      pops.clear();
      for (const p of f.pops || []) pops.set(p.call_id, p);
      showState(f.status);
      // The calls still to wrap up, with what their pops showed (offers, tickets), after a reload too.
      toWrapUp.clear();
      for (const w of f.wrapups || []) toWrapUp.set(w.call_id, w);
      if (wrapupCall && toWrapUp.has(wrapupCall)) showWaiting(); else nextWrapup();
      renderPops();
    } else if (f.type === "pop") {
      pops.set(f.call_id, f); renderPops();
    } else if (f.type === "call") {
      const p = pops.get(f.call_id);
      if (p) { if (p.held !== f.held) holdPending.delete(f.call_id); p.answered = f.answered; p.held = f.held; renderPops(); }
      if (p && "recording_paused" in f) { p.recording_paused = f.recording_paused; renderPops(); }
    } else if (f.type === "ended") {
      const p = pops.get(f.call_id);
      pops.delete(f.call_id); recordingErrors.delete(f.call_id); renderPops();
      if (f.wrapup !== false) queueWrapup(f.call_id, p);
    } else if (f.type === "state") {
      showState(f);
    }
  });
});

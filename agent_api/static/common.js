"use strict";
// Shared helpers: messages, the JSON API with the CSRF header, the self-healing WebSocket.
(function () {
  const catalog = JSON.parse(document.getElementById("i18n").textContent || "{}");
  const t = (key) => catalog[key] || key;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = () => (csrfMeta ? csrfMeta.content : "");

  async function api(method, path, body) {
    // Errors come back in the page's language (the server's catalog; agent_api/i18n/errors.py).
    const headers = { "Accept": "application/json", "X-Hotline-Lang": document.documentElement.lang || "zh-CN" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRF-Token"] = csrf();
    const res = await fetch(path, {
      method, headers, credentials: "same-origin",
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (res.status === 401 && location.pathname !== "/login") { location.href = "/login"; }
    const data = res.status === 204 ? null : await res.json().catch(() => null);
    if (!res.ok) {
      const err = new Error((data && data.message) || t("error.generic"));
      err.status = res.status; err.data = data;
      throw err;
    }
    return data;
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") node.className = v;
      else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) {
      if (c === null || c === undefined) continue;
      node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return node;
  }

  // One socket; on close it comes back with growing delays (1 s … 15 s), and every (re)connect
  // starts with a "hello" frame that replaces whatever the page showed.
  function connect(onFrame) {
    const status = document.getElementById("ws-status");
    let delay = 1000;
    function open() {
      const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/ws");
      ws.onopen = () => { delay = 1000; if (status) { status.textContent = t("ws.connected"); status.className = "ws ok"; } };
      ws.onmessage = (msg) => {
        try {
          const f = JSON.parse(msg.data);
          // "hello" replaces all the page showed: from here on it is live again.
          if (f.type === "hello") document.body.classList.remove("stale");
          onFrame(f);
        } catch (e) { console.error(e); }
      };
      ws.onclose = async (ev) => {
        // 1008: the session was ended (logged out, expired, a newer login, account changed):
        // log in again; the login form says why.
        if (ev.code === 1008) { location.href = "/login" + (ev.reason ? "?why=" + encodeURIComponent(ev.reason) : ""); return; }
        // Whatever the page shows is no longer live: it is marked stale until the next "hello".
        document.body.classList.add("stale");
        // 4429: this session or user has as many pages open as the server allows; try now and then.
        const tooMany = ev.code === 4429;
        if (status) { status.textContent = t(tooMany ? "ws.too_many" : "ws.reconnecting"); status.className = "ws down"; }
        // A refused handshake (a session the server no longer knows) closes as 1006 like a network
        // loss: ask the server whether this session still stands; 401 goes to the login form.
        if (!tooMany) {
          try {
            const res = await fetch("/api/session", { credentials: "same-origin", headers: { "Accept": "application/json" } });
            if (res.status === 401) { location.href = "/login?why=session-expired"; return; }
          } catch (e) { /* the server is away: keep trying */ }
        }
        setTimeout(open, tooMany ? 30000 : delay);
        delay = Math.min(delay * 2, 15000);
      };
    }
    open();
  }

  function fmtSeconds(s) {
    s = Math.max(0, Math.round(s));
    const m = Math.floor(s / 60);
    return m ? `${m}:${String(s % 60).padStart(2, "0")}` : `${s}s`;
  }

  // Times as a person reads them: in the center's time zone (the page's data-tz), not the browser's.
  const zone = () => (document.body && document.body.dataset.tz) || undefined;
  function fmtTime(iso, withDate, withSeconds) {
    if (!iso) return "-";
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    const opts = { timeZone: zone(), hour12: false, hour: "2-digit", minute: "2-digit" };
    if (withDate) Object.assign(opts, { year: "numeric", month: "2-digit", day: "2-digit" });
    if (withSeconds) opts.second = "2-digit";
    try { return new Intl.DateTimeFormat("sv-SE", opts).format(d); }
    catch (e) { return new Intl.DateTimeFormat("sv-SE", { ...opts, timeZone: undefined }).format(d); }
  }

  // A call's post-call survey (docs/survey.md): its score in the ticket page's words, "not rated"
  // when the caller did not answer, nothing while an SMS survey still waits or none was asked.
  function satisfaction(score, survey) {
    if (score) return t("contact.satisfaction").replace("{n}", score).replace("{label}", t("score." + score));
    return survey === "unanswered" ? t("contact.unrated") : "";
  }

  window.H = { t, api, el, connect, fmtSeconds, fmtTime, satisfaction };
  document.addEventListener("DOMContentLoaded", () => {
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", async () => {
      try { await api("DELETE", "/api/session"); } finally { location.href = "/login"; }
    });
  });
})();

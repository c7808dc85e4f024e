"use strict";
// Shared helpers: messages, the JSON API with the CSRF header, the self-healing WebSocket.
(function () {
  const catalog = JSON.parse(document.getElementById("i18n").textContent || "{}");
  const t = (key) => catalog[key] || key;
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');
  const csrf = () => (csrfMeta ? csrfMeta.content : "");

  async function api(method, path, body) {
    const headers = { "Accept": "application/json" };
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
      ws.onmessage = (msg) => { try { onFrame(JSON.parse(msg.data)); } catch (e) { console.error(e); } };
      ws.onclose = (ev) => {
        // 1008: the session was ended (logged out, expired, a newer login, account changed):
        // log in again; the login form says why.
        if (ev.code === 1008) { location.href = "/login" + (ev.reason ? "?why=" + encodeURIComponent(ev.reason) : ""); return; }
        // 4429: this session or user has as many pages open as the server allows; try now and then.
        const tooMany = ev.code === 4429;
        if (status) { status.textContent = t(tooMany ? "ws.too_many" : "ws.reconnecting"); status.className = "ws down"; }
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

  window.H = { t, api, el, connect, fmtSeconds };
  document.addEventListener("DOMContentLoaded", () => {
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", async () => {
      try { await api("DELETE", "/api/session"); } finally { location.href = "/login"; }
    });
  });
})();

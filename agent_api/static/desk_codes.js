"use strict";
// Dispositions and pause reasons per queue: list, add, rename, reorder, turn off.
(function () {
  const { t, api, el } = window.H;
  function errText(err) {
    const key = err.data && err.data.error ? "codes.error." + err.data.error : "";
    return key && t(key) !== key ? t(key) + " (" + err.data.message + ")" : err.message;
  }
  async function load() {
    const data = await api("GET", "/api/admin/desk-codes");
    for (const kind of ["disposition", "pause"]) {
      const body = document.querySelector(`#codes-${kind} tbody`);
      body.replaceChildren(...data.codes.filter((c) => c.kind === kind).map((c) => {
        const zh = el("input", { value: c.label_zh, maxlength: 100, "aria-label": t("codes.label_zh") });
        const en = el("input", { value: c.label_en, maxlength: 100, "aria-label": t("codes.label_en") });
        const pos = el("input", { type: "number", min: 0, max: 1000, value: c.position, "aria-label": t("codes.position") });
        const on = el("input", { type: "checkbox", checked: c.enabled || undefined, "aria-label": t("codes.enabled") });
        const result = el("span", { "aria-live": "polite" });
        const save = el("button", { type: "button", onclick: async () => {
          try {
            await api("PATCH", `/api/admin/desk-codes/${c.id}`, { label_zh: zh.value, label_en: en.value, position: Number(pos.value), enabled: on.checked });
            result.textContent = t("codes.saved"); result.className = "note";
          } catch (err) { result.textContent = errText(err); result.className = "error"; }
        } }, t("codes.save"));
        return el("tr", { "data-code": c.code, class: c.enabled ? "" : "bo-done" }, el("td", {}, c.code), el("td", {}, c.queue || t("codes.every_queue")),
          el("td", {}, zh), el("td", {}, en), el("td", {}, pos), el("td", {}, on), el("td", {}, save, " ", result));
      }));
    }
  }
  document.addEventListener("DOMContentLoaded", () => {
    for (const form of document.querySelectorAll("form.code-add")) {
      form.addEventListener("submit", async (ev) => {
        ev.preventDefault();
        const f = new FormData(form); const out = form.querySelector(".result");
        try {
          await api("POST", "/api/admin/desk-codes", { kind: form.dataset.kind, code: f.get("code"), queue: f.get("queue"),
            label_zh: f.get("label_zh"), label_en: f.get("label_en"), position: Number(f.get("position") || 0) });
          form.reset(); out.textContent = t("codes.saved"); out.className = "result note"; await load();
        } catch (err) { out.textContent = errText(err); out.className = "result error"; }
      });
    }
    load();
  });
})();

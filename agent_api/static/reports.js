"use strict";
// The custom report builder: pick a source, its fields appear from the catalog; run asks the server
// for the rendered table and chart; export downloads the whole result; save keeps the definition.
(function () {
  const { t, api, el } = window.H;
  const $ = (id) => document.getElementById(id);
  const csrf = () => (document.querySelector('meta[name="csrf-token"]') || {}).content || "";
  const NUMERIC = new Set(["int", "float", "seconds", "percent"]);
  const LIST_OPS = new Set(["in", "not_in", "between"]);
  let sources = [];
  let savedId = null;
  let page = 1;
  const PAGE_SIZE = 50;

  const source = () => sources.find((s) => s.name === $("c-source").value) || sources[0];
  const fieldOf = (name) => source().fields.find((f) => f.name === name);
  const options = (items, selected) => items.map(([v, label]) => el("option", { value: v, selected: v === selected }, label));

  function renderSource(def) {
    const src = source();
    const grains = src.grains;
    $("c-grain").replaceChildren(el("option", { value: "" }, t("reports.grain.none")),
      ...options(grains.map((g) => [g, t("reports.grain." + g)]), def ? def.grain : "day"));
    const dims = src.fields.filter((f) => f.dimension && f.name !== src.time_field);
    $("c-dimensions").replaceChildren(...dims.map((f) => el("label", { class: "check" },
      el("input", { type: "checkbox", class: "c-dim", value: f.name, checked: def ? def.dims.includes(f.name) : false }), " ", f.label)));
    $("c-measures").replaceChildren();
    $("c-filters").replaceChildren();
    const measures = def ? def.measures : [{ fn: "count" }];
    for (const m of measures) addMeasure(m);
    for (const c of def ? def.filters : []) addFilter(c);
  }

  function measureFields(fn) {
    return source().fields.filter((f) => f.aggregations.includes(fn));
  }

  function addMeasure(m) {
    m = m || { fn: "count" };
    const fns = ["count", "sum", "avg", "min", "max", "count_distinct", "rate"];
    const fn = el("select", { class: "m-fn" }, ...options(fns.map((x) => [x, t("reports.fn." + x)]), m.fn));
    const field = el("select", { class: "m-field" });
    const where = el("span", { class: "m-where" });
    const label = el("input", { class: "m-label", size: 12, maxlength: 100, placeholder: t("reports.custom.label"), value: m.label || "" });
    const row = el("div", { class: "bar measure" }, fn, field, where, label,
      el("button", { type: "button", class: "remove", onclick: () => row.remove(), "aria-label": t("reports.custom.remove") }, "×"));
    function refresh(initial) {
      const needsField = !["count", "rate"].includes(fn.value);
      field.hidden = !needsField;
      field.replaceChildren(...options(measureFields(fn.value).map((f) => [f.name, f.label]), initial ? m.field : field.value));
      where.replaceChildren();
      if (fn.value === "rate") {
        const cond = (initial && m.where && m.where[0]) || {};
        const filterable = source().fields.filter((f) => f.filter);
        where.append(t("reports.custom.where"), " ",
          el("select", { class: "w-field" }, ...options(filterable.map((f) => [f.name, f.label]), cond.field)),
          " = ", el("input", { class: "w-value", size: 10, value: cond.value === undefined ? "" : String(cond.value) }));
      }
    }
    fn.addEventListener("change", () => refresh(false));
    refresh(true);
    $("c-measures").append(row);
  }

  function addFilter(c) {
    c = c || {};
    const filterable = source().fields.filter((f) => f.filter);
    const field = el("select", { class: "f-field" }, ...options(filterable.map((f) => [f.name, f.label]), c.field));
    const op = el("select", { class: "f-op" });
    const value = el("input", { class: "f-value", size: 16, value: c.value === undefined ? "" : (Array.isArray(c.value) ? c.value.join(",") : String(c.value)) });
    // A yes/no field is picked, not typed ("true" was the only word it understood).
    const flag = el("select", { class: "f-flag", hidden: true }, ...options([["true", t("reports.yes")], ["false", t("reports.no")]], String(c.value === false ? "false" : "true")));
    flag.addEventListener("change", () => { value.value = flag.value; });
    const row = el("div", { class: "bar filter" }, field, op, value, flag,
      el("button", { type: "button", class: "remove", onclick: () => row.remove(), "aria-label": t("reports.custom.remove") }, "×"));
    function refresh(initial) {
      const f = fieldOf(field.value);
      const ops = f ? f.operators : [];
      op.replaceChildren(...options(ops.map((o) => [o, t("reports.op." + o)]), initial ? c.op : op.value));
      const isFlag = Boolean(f && f.flag);
      flag.hidden = !isFlag;
      value.hidden = isFlag;
      if (isFlag) value.value = flag.value;
    }
    field.addEventListener("change", () => refresh(false));
    refresh(true);
    $("c-filters").append(row);
  }

  function typed(fieldName, raw) {
    const f = fieldOf(fieldName);
    const text = raw.trim();
    if (text === "true" || text === "false") return text === "true";
    if (f && NUMERIC.has(f.type) && text !== "" && !Number.isNaN(Number(text))) return Number(text);
    return text;
  }

  function definition() {
    const src = source();
    const dimensions = [];
    if ($("c-grain").value) dimensions.push({ field: src.time_field, grain: $("c-grain").value });
    for (const box of document.querySelectorAll(".c-dim:checked")) dimensions.push({ field: box.value });
    const measures = [...document.querySelectorAll("#c-measures .measure")].map((row) => {
      const m = { fn: row.querySelector(".m-fn").value };
      if (!["count", "rate"].includes(m.fn)) m.field = row.querySelector(".m-field").value;
      if (m.fn === "rate") {
        const wf = row.querySelector(".w-field").value;
        m.where = [{ field: wf, op: "eq", value: typed(wf, row.querySelector(".w-value").value) }];
      }
      const label = row.querySelector(".m-label").value.trim();
      if (label) m.label = label;
      return m;
    });
    const filters = [...document.querySelectorAll("#c-filters .filter")].map((row) => {
      const field = row.querySelector(".f-field").value;
      const op = row.querySelector(".f-op").value;
      const raw = row.querySelector(".f-value").value;
      const value = LIST_OPS.has(op) ? raw.split(",").filter((v) => v.trim()).map((v) => typed(field, v)) : typed(field, raw);
      return { field, op, value };
    });
    return { source: src.name, date_from: $("c-from").value, date_to: $("c-to").value, dimensions, measures, filters };
  }

  function showError(err) {
    const field = err.data && err.data.details && err.data.details.field;
    $("c-error").textContent = err.message + (field ? ` (${field})` : "");
  }

  let runs = 0;  // only the latest run's answer is shown, whatever order the answers come in

  async function run(ev) {
    if (ev) ev.preventDefault();
    $("c-error").textContent = "";
    const mine = ++runs;
    const res = await fetch("/reports/custom/preview", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ definition: definition(), page, page_size: PAGE_SIZE }),
    });
    if (mine !== runs) return;
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      const err = new Error((data && data.message) || t("error.generic"));
      err.data = data;
      showError(err);
      return;
    }
    const html = await res.text();
    if (mine !== runs) return;
    const box = $("c-result");
    box.innerHTML = html;  // rendered and escaped by the server's template
    box.hidden = false;
    const prev = $("page-prev"), next = $("page-next");
    if (prev) prev.addEventListener("click", () => { page = Math.max(1, page - 1); run(); });
    if (next) next.addEventListener("click", () => { page += 1; run(); });
  }

  async function exportAs(format) {
    $("c-error").textContent = "";
    const res = await fetch("/api/reports/custom/export", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf() },
      body: JSON.stringify({ definition: definition(), format }),
    });
    if (!res.ok) {
      const data = await res.json().catch(() => null);
      const err = new Error((data && data.message) || t("error.generic"));
      err.data = data;
      showError(err);
      return;
    }
    const blob = await res.blob();
    const match = /filename="([^"]+)"/.exec(res.headers.get("Content-Disposition") || "");
    const link = el("a", { href: URL.createObjectURL(blob), download: match ? match[1] : "report." + format });
    document.body.append(link);
    link.click();
    setTimeout(() => { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  function saveBody() {
    const kind = $("s-kind").value;
    return {
      name: $("s-name").value.trim(),
      definition: definition(),
      shared_roles: [...document.querySelectorAll(".s-role:checked")].map((b) => b.value),
      schedule: {
        kind,
        weekday: kind === "weekly" ? Number($("s-weekday").value) : null,
        hour: Number($("s-hour").value || 8),
        recipients: $("s-recipients").value.split(/[,;\s]+/).filter(Boolean),
      },
    };
  }

  async function save(asNew) {
    $("s-result").textContent = "";
    try {
      const saved = savedId && !asNew
        ? await api("PUT", `/api/reports/saved/${savedId}`, saveBody())
        : await api("POST", "/api/reports/saved", saveBody());
      savedId = saved.id;
      $("builder").dataset.saved = String(saved.id);
      $("saved-name").textContent = "· " + saved.name;
      $("s-save-new").hidden = false;
      $("s-result").textContent = t("reports.custom.saved_ok") + " #" + saved.id;
      history.replaceState(null, "", "/reports/custom?saved=" + saved.id);
    } catch (err) {
      const fields = err.data && err.data.details && err.data.details.fields;
      $("s-result").textContent = err.message + (fields ? ": " + fields.map((f) => `${f.loc.join(".")} ${f.msg}`).join("; ") : "");
      $("s-result").className = "error";
    }
  }

  function loadSaved(saved) {
    const d = saved.definition;
    $("c-source").value = d.source;
    $("c-from").value = d.date_from || "";
    $("c-to").value = d.date_to || "";
    const src = source();
    const timeDim = (d.dimensions || []).find((x) => x.field === src.time_field);
    renderSource({
      grain: timeDim ? timeDim.grain : "",
      dims: (d.dimensions || []).filter((x) => x.field !== src.time_field).map((x) => x.field),
      measures: d.measures || [], filters: d.filters || [],
    });
    $("saved-name").textContent = "· " + saved.name;
    if ($("s-name")) {
      $("s-name").value = saved.name;
      for (const box of document.querySelectorAll(".s-role")) box.checked = saved.shared_roles.includes(box.value);
      $("s-kind").value = saved.schedule.kind;
      $("s-weekday-label").hidden = saved.schedule.kind !== "weekly";
      if (saved.schedule.weekday !== null) $("s-weekday").value = String(saved.schedule.weekday);
      $("s-hour").value = String(saved.schedule.hour);
      $("s-recipients").value = saved.schedule.recipients.join(", ");
      $("s-save-new").hidden = !saved.may_change;
      if (!saved.may_change) { savedId = null; $("s-save-new").hidden = true; }
    }
  }

  document.addEventListener("DOMContentLoaded", async () => {
    const builder = $("builder");
    const today = builder.dataset.today;
    const weekAgo = new Date(Date.parse(today + "T00:00:00Z") - 6 * 86400000).toISOString().slice(0, 10);
    $("c-from").value = weekAgo;
    $("c-to").value = today;
    sources = (await api("GET", "/api/reports/catalog")).sources;
    $("c-source").replaceChildren(...options(sources.map((s) => [s.name, s.label]), sources[0] && sources[0].name));
    $("c-source").addEventListener("change", () => renderSource(null));
    renderSource(null);
    $("c-add-measure").addEventListener("click", () => addMeasure(null));
    $("c-add-filter").addEventListener("click", () => addFilter(null));
    $("custom-form").addEventListener("submit", (ev) => { page = 1; run(ev); });
    $("c-export-csv").addEventListener("click", () => exportAs("csv"));
    $("c-export-xlsx").addEventListener("click", () => exportAs("xlsx"));
    if ($("save-form")) {
      $("save-form").addEventListener("submit", (ev) => { ev.preventDefault(); save(false); });
      $("s-save-new").addEventListener("click", () => save(true));
      $("s-kind").addEventListener("change", () => { $("s-weekday-label").hidden = $("s-kind").value !== "weekly"; });
    }
    if (builder.dataset.saved) {
      try {
        const saved = await api("GET", `/api/reports/saved/${builder.dataset.saved}`);
        savedId = saved.may_change ? saved.id : null;
        if (saved.problem) {
          $("saved-name").textContent = "· " + saved.name;
          $("c-error").textContent = saved.problem;  // the catalog changed: build it again and save
        } else {
          loadSaved(saved);
          await run();
        }
      } catch (err) { showError(err); }
    }
    builder.dataset.ready = "yes";
  });
})();

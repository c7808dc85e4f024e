"use strict";
// What the customer, ticket and field pages share: errors in the page's language, times, the SLA.
(function () {
  const { t } = window.H;
  const lang = document.documentElement.lang || "zh-CN";

  // An API error by its stable id in the catalog, else the server's own message.
  function errorText(err) {
    const id = err && err.data && err.data.error;
    const key = "error." + id;
    const text = id ? t(key) : key;
    return text !== key ? text : (err && err.message) || t("error.generic");
  }

  // Times read in the center's time zone (the SLA's days are its days), whatever the browser's.
  const tzMeta = document.querySelector('meta[name="center-tz"]');
  const timeZone = (tzMeta && tzMeta.content) || undefined;
  const when = (iso) => (iso ? new Date(iso).toLocaleString(lang, { dateStyle: "short", timeStyle: "short", timeZone }) : "");

  // Time left to the deadline, or how long past it: "2d 4h" / "-5h".
  function left(dueIso, now) {
    let ms = new Date(dueIso) - (now || new Date());
    const sign = ms < 0 ? "-" : "";
    ms = Math.abs(ms);
    const h = Math.floor(ms / 3600000);
    return sign + (h >= 24 ? `${Math.floor(h / 24)}${t("time.d")} ${h % 24}${t("time.h")}` : `${h}${t("time.h")} ${Math.floor(ms / 60000) % 60}${t("time.m")}`);
  }

  const label = (prefix, value) => (value ? t(prefix + value) : "");
  // A step's note as the CRM stores it ("satisfaction 4. …"), with the score in the page's words.
  function stepNote(note) {
    const scored = /^satisfaction ([1-5])\.\s*([\s\S]*)$/.exec(note || "");
    return scored ? `${t("tk.satisfaction")} ${scored[1]}${scored[2] ? " · " + scored[2] : ""}` : note || "";
  }
  window.CRM = { errorText, when, left, label, stepNote };
})();

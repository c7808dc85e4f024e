"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  // Why the last session ended, when a page was sent here by its socket (common.js).
  const why = new URLSearchParams(location.search).get("why");
  const note = document.getElementById("login-note");
  if (why && H.t("login.why." + why) !== "login.why." + why) {
    note.textContent = H.t("login.why." + why);
    note.hidden = false;
  }
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.hidden = true;
    try {
      await H.api("POST", "/api/session", {
        username: document.getElementById("username").value,
        password: document.getElementById("password").value,
      });
      location.href = "/";
    } catch (e) {
      const wait = e.data && e.data.details ? e.data.details.retry_after_s : null;
      error.textContent = e.status !== 429 ? H.t("login.failed")
        : wait ? H.t("login.throttled_for").replace("{s}", wait) : H.t("login.throttled");
      error.hidden = false;
    }
  });
});

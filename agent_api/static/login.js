"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
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
      error.textContent = e.status === 429 ? H.t("login.throttled") : H.t("login.failed");
      error.hidden = false;
    }
  });
});

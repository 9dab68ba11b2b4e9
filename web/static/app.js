// nhiscope dashboard: small progressive enhancements (no inline script; CSP 'self').
// - filter selects marked data-autosubmit submit their form on change;
// - buttons marked data-confirm ask before submitting;
// - script errors and CSP violations are counted on <html data-js-errors> (browser tests read it).
(function () {
  "use strict";
  var root = document.documentElement;
  root.dataset.jsErrors = "0";
  function fault() { root.dataset.jsErrors = String(Number(root.dataset.jsErrors) + 1); }
  window.addEventListener("error", fault);
  document.addEventListener("securitypolicyviolation", fault);
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("select[data-autosubmit]").forEach(function (el) {
      el.addEventListener("change", function () { if (el.form) { el.form.requestSubmit(); } });
    });
    document.querySelectorAll("[data-confirm]").forEach(function (el) {
      el.addEventListener("click", function (ev) {
        if (!window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); }
      });
    });
    root.dataset.ready = "1";
  });
})();

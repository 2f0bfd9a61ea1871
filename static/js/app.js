// Small behaviours that CSP forbids inline: confirm dialogs and auto-submitting selects.
document.addEventListener("click", function (ev) {
  var el = ev.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); ev.stopPropagation(); }
}, true);
document.addEventListener("change", function (ev) {
  var el = ev.target.closest("[data-autosubmit]");
  if (el && el.form && !el.form.hasAttribute("hx-get")) { el.form.requestSubmit(); }
});
// Forms marked data-disable-on-submit send once: their submit buttons are disabled while the
// request runs (a double click on the client's "Submit" must not send twice).
document.addEventListener("submit", function (ev) {
  var form = ev.target;
  if (!form.matches("[data-disable-on-submit]") || ev.defaultPrevented) { return; }
  if (form.getAttribute("data-submitting")) { ev.preventDefault(); return; }
  form.setAttribute("data-submitting", "1");
  window.setTimeout(function () {  // after the browser has collected the submitter's value
    form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) { b.disabled = true; });
  }, 0);
});
window.addEventListener("pageshow", function (ev) {  // back from the page cache: usable again
  if (!ev.persisted) { return; }
  document.querySelectorAll("form[data-submitting]").forEach(function (form) {
    form.removeAttribute("data-submitting");
    form.querySelectorAll("button[type=submit], button:not([type])").forEach(function (b) { b.disabled = false; });
  });
});

// Small behaviours that CSP forbids inline: confirm dialogs and auto-submitting selects.
document.addEventListener("click", function (ev) {
  var el = ev.target.closest("[data-confirm]");
  if (el && !window.confirm(el.getAttribute("data-confirm"))) { ev.preventDefault(); ev.stopPropagation(); }
}, true);
document.addEventListener("change", function (ev) {
  var el = ev.target.closest("[data-autosubmit]");
  if (el && el.form && !el.form.hasAttribute("hx-get")) { el.form.requestSubmit(); }
});

// "Copy to clipboard" buttons: data-copy="#field" copies that field's text. The Clipboard API
// needs a secure context (https or localhost); on plain HTTP the field is selected and
// execCommand("copy") is tried, else the status line tells the user to press Ctrl+C.
document.addEventListener("click", function (ev) {
  var button = ev.target.closest("[data-copy]");
  if (!button) { return; }
  var field = document.querySelector(button.getAttribute("data-copy"));
  var status = button.parentElement.querySelector(".copy-status");
  if (!field) { return; }
  function say(ok) {
    if (status) { status.textContent = status.getAttribute(ok ? "data-copied" : "data-copy-failed"); }
    button.classList.toggle("copied", ok);
  }
  function fallback() {
    field.focus();
    field.select();
    var ok = false;
    try { ok = document.execCommand("copy"); } catch (e) { ok = false; }
    say(ok);
  }
  if (navigator.clipboard && window.isSecureContext) {
    navigator.clipboard.writeText(field.value).then(function () { say(true); }, fallback);
  } else {
    fallback();
  }
});

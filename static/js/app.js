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
// htmx errors. A refused (403), missing (404), conflicting (409), rate-limited (429) or failed (5xx)
// request shows the server's message (errors/_message.html, or a page's [data-message]) in the
// #toasts region of base.html; a network failure, or an answer without a message, shows the region's
// own texts. 422 (an invalid form) is swapped in place (htmx-config in base.html) and never comes here.
(function () {
  var MAX_TOASTS = 3;

  function region() { return document.getElementById("toasts"); }

  function serverMessage(xhr) {
    var body = xhr && xhr.responseText;
    if (!body || !body.trim()) { return null; }
    var found = new DOMParser().parseFromString(body, "text/html").querySelector("[data-message]");
    if (!found || !found.textContent.trim()) { return null; }
    var message = document.importNode(found, true);
    message.removeAttribute("role");  // the region itself is the live region
    message.querySelectorAll("h1, h2, h3, h4, h5, h6").forEach(function (heading) {  // no page heading here
      var title = document.createElement("strong");
      title.className = "toast-title";
      title.textContent = heading.textContent;
      heading.replaceWith(title);
    });
    return message;
  }

  function ownMessage(title, text) {
    var message = document.createElement("div");
    if (title) {
      var strong = document.createElement("strong");
      strong.className = "toast-title";
      strong.textContent = title;
      message.appendChild(strong);
    }
    var p = document.createElement("p");
    p.textContent = text;
    message.appendChild(p);
    return message;
  }

  function showToast(message) {
    var box = region();
    if (!box) { return; }
    var key = message.textContent.replace(/\s+/g, " ").trim();
    box.querySelectorAll(".toast").forEach(function (toast) {  // the same error again (polling): once, anew
      if (toast.getAttribute("data-key") === key) { toast.remove(); }
    });
    message.className = "toast-body";  // the page's classes (card, ...) do not apply in a toast
    var close = document.createElement("button");
    close.type = "button";
    close.className = "toast-close";
    close.setAttribute("data-dismiss-toast", "");
    close.setAttribute("aria-label", box.getAttribute("data-dismiss-label") || "Dismiss");
    close.textContent = "\u00d7";
    var toast = document.createElement("div");
    toast.className = "toast";
    toast.setAttribute("data-key", key);
    toast.append(message, close);
    box.appendChild(toast);
    while (box.children.length > MAX_TOASTS) { box.firstElementChild.remove(); }
  }

  document.addEventListener("htmx:responseError", function (ev) {
    var xhr = ev.detail.xhr;
    var box = region();
    showToast(serverMessage(xhr) || ownMessage(String(xhr.status), box ? box.getAttribute("data-empty-error") : ""));
  });
  ["htmx:sendError", "htmx:timeout"].forEach(function (name) {
    document.addEventListener(name, function () {
      var box = region();
      showToast(ownMessage("", box ? box.getAttribute("data-network-error") : ""));
    });
  });
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest("[data-dismiss-toast]");
    if (button) { button.closest(".toast").remove(); }
  });
  document.addEventListener("htmx:beforeHistorySave", function () {  // a restored page starts without old errors
    var box = region();
    if (box) { box.replaceChildren(); }
  });
}());

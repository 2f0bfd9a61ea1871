// Live character counters under text answers (_macros/questionnaire.html): "123 / 4000", marked
// when the textarea's maxlength is reached. The words come from the page, in the questionnaire's language.
(function () {
  function update(textarea) {
    var count = document.getElementById(textarea.getAttribute("data-char-counter"));
    if (!count) { return; }
    var limit = parseInt(count.getAttribute("data-limit"), 10);
    var length = textarea.value.length;  // what maxlength measures
    var full = length >= limit;
    count.textContent = length + " / " + limit;
    count.classList.toggle("at-limit", full);
    var note = count.parentNode.querySelector(".char-full");
    if (note) {  // a live region: it speaks only when the limit is reached, not on every key
      var text = full ? note.getAttribute("data-text") : "";
      if (note.textContent !== text) { note.textContent = text; }
    }
  }

  function updateAll(root) {
    (root || document).querySelectorAll("textarea[data-char-counter]").forEach(update);
  }

  document.addEventListener("input", function (ev) {
    if (ev.target.matches && ev.target.matches("textarea[data-char-counter]")) { update(ev.target); }
  });
  document.addEventListener("htmx:load", function (ev) { updateAll(ev.target); });  // swapped-in forms
  window.addEventListener("pageshow", function () { updateAll(); });  // values the browser restored
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { updateAll(); });
  } else {
    updateAll();
  }
}());

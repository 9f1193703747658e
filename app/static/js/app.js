// Behaviour that used to sit in on* attributes: the Content-Security-Policy runs
// scripts from this site's files only (script-src 'self'), never inline handlers.
(function () {
  "use strict";

  // <button data-confirm="…"> (or <form data-confirm="…">): ask before submitting.
  document.addEventListener("submit", function (event) {
    var button = event.submitter;
    var message =
      (button && button.getAttribute("data-confirm")) || event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) event.preventDefault();
  });

  // <select data-navigate="/url?name="> : picking an option opens that URL with the value.
  document.addEventListener("change", function (event) {
    var target = event.target;
    var base = target.getAttribute && target.getAttribute("data-navigate");
    if (base !== null && base !== undefined && base !== "") {
      window.location.href = base + encodeURIComponent(target.value);
    }
  });

  // <button data-print>: print the page.
  document.addEventListener("click", function (event) {
    var target = event.target.closest && event.target.closest("[data-print]");
    if (target) window.print();
  });
})();

// The roll-up tree: expand a unit's children in place; collapsing hides the whole branch.
(function () {
  "use strict";
  var table = document.getElementById("tree");
  if (!table) return;
  function rows(parent) {
    return table.querySelectorAll('tr[data-parent="' + parent + '"]');
  }
  function setOpen(button, open) {
    var unit = button.getAttribute("data-toggle-unit");
    button.setAttribute("aria-expanded", open ? "true" : "false");
    button.textContent = open ? "▾" : "▸";
    rows(unit).forEach(function (row) {
      row.hidden = !open;
      if (!open) {
        var child = row.querySelector("[data-toggle-unit]");
        if (child) setOpen(child, false);
      }
    });
  }
  table.addEventListener("click", function (event) {
    var button = event.target.closest("[data-toggle-unit]");
    if (!button) return;
    setOpen(button, button.getAttribute("aria-expanded") !== "true");
  });
  var all = document.querySelector("[data-expand-all]");
  if (all) {
    all.addEventListener("click", function () {
      var open = all.getAttribute("data-open") !== "1";
      table.querySelectorAll("[data-toggle-unit]").forEach(function (b) {
        if (open) setOpen(b, true);
      });
      if (!open) {
        table.querySelectorAll('tr[data-depth="1"] [data-toggle-unit]').forEach(function (b) {
          setOpen(b, false);
        });
      }
      all.setAttribute("data-open", open ? "1" : "0");
      all.textContent = open ? "全部收起" : "全部展开";
    });
  }
})();

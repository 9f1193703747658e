// Select-all for lists with bulk actions (the Content-Security-Policy allows no inline script).
// <input type="checkbox" data-select-all="NAME">: ticking it ticks every enabled checkbox named
// NAME on the page, clearing it clears them; it shows ticked when all are, mixed when some are.
// <span data-selected-count="NAME">: says how many are ticked.
(function () {
  "use strict";

  function boxes(name) {
    var all = document.querySelectorAll('input[type="checkbox"][name="' + name + '"]');
    return Array.prototype.filter.call(all, function (box) {
      return !box.disabled;
    });
  }

  function show(name) {
    var list = boxes(name);
    var ticked = list.filter(function (box) {
      return box.checked;
    }).length;
    var masters = document.querySelectorAll('[data-select-all="' + name + '"]');
    for (var i = 0; i < masters.length; i += 1) {
      masters[i].checked = list.length > 0 && ticked === list.length;
      masters[i].indeterminate = ticked > 0 && ticked < list.length;
      masters[i].disabled = list.length === 0;
    }
    var counts = document.querySelectorAll('[data-selected-count="' + name + '"]');
    for (var j = 0; j < counts.length; j += 1) {
      counts[j].textContent = ticked ? "已选 " + ticked + " 项" : "";
    }
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (!target || target.type !== "checkbox") return;
    var name = target.getAttribute("data-select-all");
    if (name) {
      var list = boxes(name);
      for (var i = 0; i < list.length; i += 1) list[i].checked = target.checked;
      show(name);
    } else if (target.name && document.querySelector('[data-select-all="' + target.name + '"]')) {
      show(target.name);
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    // the browser may have kept ticks from before (back button): show them
    var masters = document.querySelectorAll("[data-select-all]");
    for (var i = 0; i < masters.length; i += 1) show(masters[i].getAttribute("data-select-all"));
  });
})();

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

// A background job's page (<div data-job="/jobs/ID.json">): ask for its state every
// second and show it — state, rows done of total, the bar, the message, the result's
// download or page — until the job has ended; open the result page by itself when the
// job says so (an import's check). Everything it writes is text, never HTML.
(function () {
  "use strict";

  var STATE_CLASSES = {
    queued: "text-bg-secondary",
    running: "text-bg-primary",
    done: "text-bg-success",
    failed: "text-bg-danger",
    cancelled: "text-bg-warning",
  };

  function countText(s) {
    if (s.total) return "已处理 " + s.done + " / " + s.total + "（" + (s.percent || 0) + "%）";
    return s.done ? "已处理 " + s.done : "";
  }

  function link(cls, href, text, testid) {
    var a = document.createElement("a");
    a.className = cls;
    a.href = href;
    a.textContent = text;
    a.setAttribute("data-testid", testid);
    return a;
  }

  function show(card, s) {
    var state = card.querySelector("[data-job-state]");
    if (state) {
      state.textContent = s.state_label;
      state.className = "badge " + (STATE_CLASSES[s.state] || "text-bg-secondary");
    }
    var count = card.querySelector("[data-job-count]");
    if (count) count.textContent = countText(s);
    var pct = s.percent === null || s.percent === undefined ? 0 : s.percent;
    var progress = card.querySelector("[data-job-progress]");
    if (progress) progress.setAttribute("aria-valuenow", String(pct));
    var bar = card.querySelector("[data-job-bar]");
    if (bar) {
      bar.className = "progress-bar pct-" + pct;
      if (!s.finished) bar.classList.add("progress-bar-striped", "progress-bar-animated");
      if (s.failed) bar.classList.add("bg-danger");
    }
    var message = card.querySelector("[data-job-message]");
    if (message) {
      message.textContent = s.message || "";
      message.classList.toggle("text-danger", !!s.failed);
    }
    var result = card.querySelector("[data-job-result]");
    if (result && s.finished) {
      result.textContent = "";
      if (s.download_url) result.appendChild(link("btn btn-danger", s.download_url, "下载 " + s.download_name, "job-download"));
      if (s.link_url) result.appendChild(link("btn btn-outline-danger", s.link_url, s.link_text, "job-link"));
    }
    var cancel = card.querySelector("[data-job-cancel]");
    if (cancel && !s.cancellable) cancel.remove();
  }

  function watch(card) {
    var url = card.getAttribute("data-job");
    var failures = 0;
    function tick() {
      fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
        .then(function (response) {
          if (!response.ok) throw new Error(String(response.status));
          return response.json();
        })
        .then(function (s) {
          failures = 0;
          show(card, s);
          if (s.finished) {
            if (s.follow && s.link_url) window.location.assign(s.link_url);
            return;
          }
          window.setTimeout(tick, 1000);
        })
        .catch(function () {
          failures += 1; // the server restarting, a lost connection: keep asking, more slowly
          window.setTimeout(tick, Math.min(30000, 1000 * Math.pow(2, failures)));
        });
    }
    window.setTimeout(tick, 1000);
  }

  document.addEventListener("DOMContentLoaded", function () {
    var cards = document.querySelectorAll("[data-job]");
    for (var i = 0; i < cards.length; i += 1) watch(cards[i]);
  });
})();

// Discussion (讨论): ticking a person in the @mention list adds "@username " to the
// comment being written (the server takes the ticked ids as well, so nothing depends on it).
(function () {
  "use strict";
  document.addEventListener("change", function (event) {
    var box = event.target;
    var name = box.getAttribute && box.getAttribute("data-mention");
    if (!name || !box.checked || !box.form) return;
    var text = box.form.querySelector("[data-mention-target]");
    if (text && text.value.indexOf("@" + name) === -1) {
      text.value = (text.value && !/\s$/.test(text.value) ? text.value + " " : text.value) + "@" + name + " ";
    }
  });
})();

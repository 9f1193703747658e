// 工作上墙: rotate the panels, refresh the data in place, never show a login form.
(function () {
  "use strict";
  var body = document.body;
  var rotate = Math.max(5, parseInt(body.getAttribute("data-rotate"), 10) || 20) * 1000;
  var refresh = Math.max(10, parseInt(body.getAttribute("data-refresh"), 10) || 300) * 1000;
  var current = 0;
  var status = document.getElementById("wall-status");

  function panels() {
    return document.querySelectorAll("#wall-panels .wall-panel");
  }
  function show(index) {
    var list = panels();
    if (!list.length) return;
    current = ((index % list.length) + list.length) % list.length;
    list.forEach(function (p, i) { p.hidden = i !== current; });
    var dots = "";
    for (var i = 0; i < list.length; i++) dots += i === current ? "●" : "○";
    document.getElementById("wall-dots").textContent = dots;
    document.getElementById("wall-page").textContent = list[current].getAttribute("data-title") || "";
    body.setAttribute("data-panel", String(current));
  }

  function reload() {
    fetch(window.location.href, { cache: "no-store", credentials: "omit", headers: { Accept: "text/html" } })
      .then(function (resp) {
        return resp.text().then(function (html) { return { status: resp.status, html: html }; });
      })
      .then(function (r) {
        var doc = new DOMParser().parseFromString(r.html, "text/html");
        if (r.status === 404 || r.status === 410) {
          document.body.innerHTML = doc.body.innerHTML;
          clearInterval(rotateTimer);
          clearInterval(refreshTimer);
          return;
        }
        var fresh = doc.getElementById("wall-panels");
        if (r.status !== 200 || !fresh) throw new Error("status " + r.status);
        document.getElementById("wall-panels").innerHTML = fresh.innerHTML;
        document.getElementById("wall-clock").textContent = doc.getElementById("wall-clock").textContent;
        status.textContent = "";
        body.setAttribute("data-refreshed", String((parseInt(body.getAttribute("data-refreshed"), 10) || 0) + 1));
        show(current);
      })
      .catch(function () {
        // Keep showing the last figures; say so, and try again at the next refresh.
        status.textContent = "（网络中断，显示的是上次数据）";
      });
  }

  var button = document.getElementById("wall-fullscreen");
  if (button && document.documentElement.requestFullscreen) {
    button.addEventListener("click", function () {
      document.documentElement.requestFullscreen().then(function () { button.hidden = true; }, function () {});
    });
    document.addEventListener("fullscreenchange", function () { button.hidden = !!document.fullscreenElement; });
  } else if (button) {
    button.hidden = true;
  }

  show(0);
  var rotateTimer = setInterval(function () { show(current + 1); }, rotate);
  var refreshTimer = setInterval(reload, refresh);
})();

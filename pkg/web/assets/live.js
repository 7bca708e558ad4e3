// Live updates of a taskset page over Server-Sent Events; the page works
// without it. When the taskset ends, the page is read again whole.
(function () {
  var box = document.getElementById("progress");
  if (!box || !window.EventSource || box.dataset.final === "true") return;
  var id = box.dataset.taskset;
  var es = new EventSource("/api/v1/tasksets/" + encodeURIComponent(id) + "/events");
  // A form sent from this page (cancel) is already on its way to the
  // next page: reading this one again would cancel that navigation.
  var leaving = false;
  document.addEventListener("submit", function () { leaving = true; es.close(); });
  function set(id, text) { var e = document.getElementById(id); if (e) e.textContent = text; }
  function fmt(s) {
    if (s === null || s === undefined) return "unknown";
    if (s < 60) return Math.round(s) + "s";
    var m = Math.floor(s / 60), r = Math.round(s % 60);
    return m + "m" + (r < 10 ? "0" : "") + r + "s";
  }
  es.addEventListener("progress", function (ev) {
    var p = JSON.parse(ev.data);
    var banner = document.getElementById("redis-error");
    if (banner) banner.hidden = true;
    set("status", p.status || "waiting");
    set("verdict", p.verdict);
    set("done", p.done); set("total", p.total); set("failed", p.failed); set("running", p.running);
    set("eta", p.final ? "-" : fmt(p.eta_sec));
    set("line", p.line);
    var bar = document.getElementById("bar");
    if (bar) { bar.max = p.total; bar.value = p.done; }
    if (p.final) { es.close(); if (!leaving) window.location.reload(); }
  });
  es.addEventListener("redis-error", function (ev) {
    var banner = document.getElementById("redis-error");
    if (banner) { set("redis-error-text", ev.data); banner.hidden = false; }
  });
})();

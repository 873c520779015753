// Keeps [data-poll] regions current without a reload: every data-every seconds the region's
// URL is fetched and its HTML swapped in (htmx-style polling, no build step). A 401 means
// the session ended: reloading lands on the login page, which says it timed out.
// While the server cannot be reached or answers 503 (Temporal down), a banner above the
// region says so with the time of its last good data; the next good answer removes it.
var BACKGROUND = {"X-Ecoplan-Background": "1"};  // a request no person made: keeps no session open
(function () {
  function two(n) { return (n < 10 ? "0" : "") + n; }
  function stale(el, on) {
    var banner = el.previousElementSibling;
    var has = banner && banner.classList.contains("stale-banner");
    if (!on) { if (has) { banner.remove(); } return; }
    if (!has) {
      banner = document.createElement("p");
      banner.className = "stale-banner";
      banner.setAttribute("role", "alert");
      el.parentNode.insertBefore(banner, el);
    }
    var t = new Date(parseInt(el.dataset.updated || el.dataset.loaded, 10));
    banner.textContent = "指挥系统后台暂时无法连接，正在重试… 以下为 " + two(t.getHours()) + ":" +
      two(t.getMinutes()) + ":" + two(t.getSeconds()) + " 的数据，可能已过时";
  }
  function poll(el) {
    var every = Math.max(1, parseFloat(el.dataset.every) || 5) * 1000;
    el.dataset.loaded = String(Date.now());
    function tick() {
      fetch(el.dataset.poll, {credentials: "same-origin", cache: "no-store", headers: BACKGROUND})
        .then(function (r) {
          if (r.status === 401) { window.location.reload(); return null; }
          if (r.status >= 500) { stale(el, true); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          if (html !== null) { el.innerHTML = html; el.dataset.updated = String(Date.now()); stale(el, false); }
        })
        .catch(function () { stale(el, true); /* unreachable: try again next tick */ })
        .then(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }
  // A form with data-preview: as one types, the form's fields go to that URL and the answer
  // (an HTML fragment: the 附表1 level and its reasons) replaces #grading. Without
  // JavaScript the form still works; the level is then shown on the incident's page.
  function preview(form) {
    var target = form.querySelector("#grading"), timer = null;
    function ask() {
      var q = new URLSearchParams(new FormData(form));
      q.delete("csrf_token");
      fetch(form.dataset.preview + "?" + q.toString(), {credentials: "same-origin", cache: "no-store"})
        .then(function (r) { return r.ok ? r.text() : null; })
        .then(function (html) { if (html !== null) { target.innerHTML = html; } })
        .catch(function () {});
    }
    form.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(ask, 250); });
    form.addEventListener("change", function () { clearTimeout(timer); timer = setTimeout(ask, 50); });
  }
  // Typing is use: while a person types in a form, the session is told so at most once a
  // minute (/session/alive), so that an unattended page times out (GB/T 22239-2019 8.1.4.1 b)
  // but a long opinion being written does not.
  var told = 0;
  function typing() {
    if (Date.now() - told < 60000) { return; }
    told = Date.now();
    fetch("/session/alive", {credentials: "same-origin", cache: "no-store"}).catch(function () {});
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form").forEach(function (f) { f.addEventListener("input", typing); });
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("form[data-preview]").forEach(preview);
  });
})();

// Keeps [data-poll] regions current without a reload: every data-every seconds the region's
// URL is fetched and its HTML swapped in (htmx-style polling, no build step). A 401 means
// the session ended: reloading lands on the login page.
(function () {
  function poll(el) {
    var every = Math.max(1, parseFloat(el.dataset.every) || 5) * 1000;
    function tick() {
      fetch(el.dataset.poll, {credentials: "same-origin", cache: "no-store"})
        .then(function (r) {
          if (r.status === 401) { window.location.reload(); return null; }
          return r.ok ? r.text() : null;
        })
        .then(function (html) {
          if (html !== null) { el.innerHTML = html; el.dataset.updated = String(Date.now()); }
        })
        .catch(function () { /* offline for a moment: try again next tick */ })
        .then(function () { setTimeout(tick, every); });
    }
    setTimeout(tick, every);
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
  });
})();

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
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("form[data-preview]").forEach(preview);
  });
})();

// Keeps [data-poll] regions current without a reload: every data-every seconds the region's
// URL is fetched and its HTML swapped in (htmx-style polling, no build step). A 401 means
// the session ended: reloading lands on the login page, which says it timed out (a form
// typed into on the page is kept first, and is back after the login: see keep below).
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
          if (r.status === 401) { keepTyped(); window.location.reload(); return null; }
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
  function typing(ev) {
    if (ev && ev.currentTarget) { ev.currentTarget.dataset.typed = String(Date.now()); }
    if (Date.now() - told < 60000) { return; }
    told = Date.now();
    fetch("/session/alive", {credentials: "same-origin", cache: "no-store"}).catch(function () {});
  }
  // What was typed survives a session that ended: a form sent after the time-out lands on the
  // login page, and the page the login leads back to gets the form's fields again. A form's
  // fields (never a password, a file or the CSRF token) are kept in this tab's sessionStorage
  // as it is sent; the next page of this site that is not a login page takes them: it puts
  // them back when the person came through a login, and forgets them otherwise (the form was
  // taken, or refused with what was typed already on the page).
  var KEPT = "ecoplan.kept-form";
  function which(form) { return form.dataset.action || form.getAttribute("action"); }
  function keepable(e) {
    return e.name && e.name !== "csrf_token" && e.name !== "next" &&
      ["password", "file", "hidden", "submit", "button"].indexOf(e.type) < 0;
  }
  function keep(form) {
    var fields = [];
    Array.prototype.forEach.call(form.elements, function (e) {
      if (keepable(e)) { fields.push([e.name, e.value, e.type === "checkbox" || e.type === "radio" ? e.checked : null]); }
    });
    try {
      sessionStorage.setItem(KEPT, JSON.stringify({form: which(form), page: location.pathname, at: Date.now(),
                                                   user: document.body.dataset.user || "", fields: fields}));
    } catch (err) { /* storage off: nothing kept, as before */ }
  }
  function keepTyped() {  // the form typed into last, before the page goes to the login
    var last = null;
    document.querySelectorAll("form[method=post][data-typed]").forEach(function (f) {
      if (!last || +f.dataset.typed > +last.dataset.typed) { last = f; }
    });
    if (last) { keep(last); }
  }
  function restore() {
    var raw = null;
    try { raw = sessionStorage.getItem(KEPT); } catch (err) { return; }
    if (!raw || document.querySelector("form[action^='/login']")) { return; }  // a login page passes it on
    sessionStorage.removeItem(KEPT);
    var from = document.referrer ? new URL(document.referrer) : null;
    var viaLogin = from && (from.origin !== location.origin || from.pathname.indexOf("/login") === 0);
    var kept = JSON.parse(raw);
    // Only for the person who typed it (a shared desk: another's login gets an empty form).
    if (!viaLogin || kept.page !== location.pathname || kept.user !== (document.body.dataset.user || "") ||
        Date.now() - kept.at > 13 * 3600 * 1000) { return; }  // older than any session (12 h): stale
    var form = Array.prototype.find.call(document.querySelectorAll("form[method=post]"), function (f) { return which(f) === kept.form; });
    if (!form) { return; }
    kept.fields.forEach(function (k) {
      Array.prototype.forEach.call(form.elements, function (e) {
        if (e.name !== k[0] || !keepable(e)) { return; }
        if (k[2] === null) { e.value = k[1]; } else if (e.value === k[1]) { e.checked = k[2]; }
      });
    });
    var box = form.closest("details");
    if (box) { box.open = true; }
    var note = document.createElement("p");
    note.className = "restored";
    note.setAttribute("role", "status");
    note.textContent = "登录超时前填写的内容已恢复，尚未提交：请核对后再提交。";
    form.insertBefore(note, form.firstChild);
    form.scrollIntoView({block: "center"});
    form.dispatchEvent(new Event("change"));  // the grading preview follows the restored values
  }
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[method=post]").forEach(function (f) {
      var to = f.getAttribute("action") || "";
      if (to.indexOf("/login") !== 0 && to !== "/logout") { f.addEventListener("submit", function () { keep(f); }); }
    });
    document.querySelectorAll("form").forEach(function (f) { f.addEventListener("input", typing); });
    document.querySelectorAll("[data-poll]").forEach(poll);
    document.querySelectorAll("form[data-preview]").forEach(preview);
    restore();  // last: the restored values reach the preview set up above
  });
})();

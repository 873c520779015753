// The navigation's 我的待办 count: fetched after the page is shown (ecoplan/web/routes/todo.py
// /todo/count), so that no page waits for the to-do's queries.
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("todo-count");
  if (!el) { return; }
  fetch("/todo/count", {credentials: "same-origin", cache: "no-store", headers: {"X-Ecoplan-Background": "1"}})
    .then(function (r) { return r.ok ? r.text() : ""; })
    .then(function (n) { el.textContent = n; })
    .catch(function () {});
});

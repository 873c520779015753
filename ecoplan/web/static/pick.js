// People are chosen, not typed (issue 22): a select of people (select[data-search], the leads at
// dispatch, the approving 总指挥) gets a filter before it. Typing part of a 姓名 or a username
// hides the other choices and picks the first that matches; the select itself is what the
// form sends, so the page works the same without this script.
document.addEventListener("DOMContentLoaded", function () {
  var selects = document.querySelectorAll("select[data-search]");
  Array.prototype.forEach.call(selects, function (sel) {
    var box = document.createElement("input");
    box.type = "search";
    box.className = "pick-filter";
    box.placeholder = sel.getAttribute("data-search");
    box.setAttribute("aria-label", sel.getAttribute("data-search"));
    box.setAttribute("data-for", sel.name);
    sel.parentNode.insertBefore(box, sel);
    box.addEventListener("input", function () {
      var q = box.value.trim().toLowerCase(), first = null;
      Array.prototype.forEach.call(sel.options, function (o) {
        if (!o.value) { return; }  // 请选择 / 本人批准 stay
        var match = !q || o.textContent.toLowerCase().indexOf(q) >= 0 || o.value.toLowerCase().indexOf(q) >= 0;
        o.hidden = !match;
        if (match && first === null) { first = o; }
      });
      if (q && first !== null && (sel.selectedIndex < 0 || sel.options[sel.selectedIndex].hidden || !sel.value)) {
        sel.value = first.value;
      }
    });
  });
});

// The help centre's search: the ranking (knowledgeSearch, the layer's
// templates/_knowledge_search.js, which the web form's suggestions share) is written before
// this in assets/search.js; it reads this language's search.json, built with the articles.
// No server: the list of articles is filtered and reordered in place, so it also works
// without this file.
(function () {
  "use strict";
  var form = document.querySelector("form.search");
  var input = document.getElementById("q");
  var list = document.getElementById("articles");
  var status = document.getElementById("status");
  if (!form || !input || !list || !window.fetch) return;
  var items = {};
  Array.prototype.forEach.call(list.children, function (li) { items[li.dataset.slug] = li; });
  var order = Array.prototype.slice.call(list.children);
  var index = null;

  function show() {
    var query = input.value.trim();
    if (!query || !index) {
      order.forEach(function (li) { li.hidden = false; list.appendChild(li); });
      status.textContent = "";
      return;
    }
    var results = knowledgeSearch.rank(index, query);
    order.forEach(function (li) { li.hidden = true; });
    results.forEach(function (r) { var li = items[r.slug]; if (li) { li.hidden = false; list.appendChild(li); } });
    status.textContent = results.length ? status.dataset.some.replace("{count}", results.length) : status.dataset.none;
  }

  fetch(form.dataset.index).then(function (r) { return r.json(); }).then(function (data) {
    index = knowledgeSearch.prepare(data);
    var initial = new URLSearchParams(location.search).get("q");
    if (initial) input.value = initial;
    show();
  });
  input.addEventListener("input", show);
  form.addEventListener("submit", function (event) { event.preventDefault(); show(); });
})();

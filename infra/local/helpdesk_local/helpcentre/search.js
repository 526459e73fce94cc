// The help centre's search: BM25 over the fuzzy layer of the knowledge base's index
// (character trigrams of each word, single Han characters; helpdesk/knowledge/tokens.py
// `grams`), read from this language's search.json, built with the articles. No server: the
// list of articles is filtered and reordered in place, so it also works without this file.
(function () {
  "use strict";
  var form = document.querySelector("form.search");
  var input = document.getElementById("q");
  var list = document.getElementById("articles");
  var status = document.getElementById("status");
  if (!form || !input || !list || !window.fetch) return;
  var HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff";
  var TOKEN = new RegExp("[" + HAN + "]+|[^\\P{L}" + HAN + "][\\p{L}\\p{M}]*|\\d+", "gu");
  var HAN_RUN = new RegExp("^[" + HAN + "]+$", "u");
  var items = {};
  Array.prototype.forEach.call(list.children, function (li) { items[li.dataset.slug] = li; });
  var order = Array.prototype.slice.call(list.children);
  var index = null;

  function grams(text, stop, stopHan) {
    var found = [];
    var tokens = text.normalize("NFKC").toLowerCase().replace(/ё/g, "е").match(TOKEN) || [];
    tokens.forEach(function (token) {
      if (HAN_RUN.test(token)) {
        Array.from(token).forEach(function (ch) { if (stopHan.indexOf(ch) < 0) found.push(ch); });
      } else if (!/^\d+$/.test(token) && !stop.has(token) && token.length >= 3) {
        var padded = "#" + token + "#";
        for (var i = 0; i + 3 <= padded.length; i++) found.push(padded.slice(i, i + 3));
      }
    });
    return found;
  }

  function prepare(data) {
    var n = data.grams.length, df = {}, lengths = [], total = 0;
    data.grams.forEach(function (counts) {
      var length = 0;
      Object.keys(counts).forEach(function (g) { df[g] = (df[g] || 0) + 1; length += counts[g]; });
      lengths.push(length); total += length;
    });
    var idf = {};
    Object.keys(df).forEach(function (g) { idf[g] = Math.log(1 + (n - df[g] + 0.5) / (df[g] + 0.5)); });
    return { data: data, idf: idf, lengths: lengths, average: total / Math.max(n, 1),
             stop: new Set(data.stop), stopHan: data.stop_han };
  }

  function rank(query) {
    var q = Array.from(new Set(grams(query, index.stop, index.stopHan)));
    // A gram no article has weighs as much as the rarest one could: "биткоин" shares "бит"
    // with "разбитый", but most of its grams are nowhere, so it matches nothing.
    var possible = 0, unknown = Math.log(1 + (index.data.grams.length + 0.5) / 0.5);
    q.forEach(function (g) { possible += g in index.idf ? index.idf[g] : unknown; });
    var k1 = index.data.k1, b = index.data.b, results = [];
    index.data.grams.forEach(function (counts, i) {
      var score = 0, matched = 0;
      var norm = k1 * (1 - b + b * index.lengths[i] / index.average);
      q.forEach(function (g) {
        var tf = counts[g] || 0;
        if (tf) { score += index.idf[g] * tf * (k1 + 1) / (tf + norm); matched += index.idf[g]; }
      });
      // Half the query's telling grams must be in the article: a few shared letters are not a match.
      if (score > 0 && matched >= 0.5 * possible) results.push({ slug: index.data.articles[i].slug, score: score });
    });
    results.sort(function (a, b) { return b.score - a.score; });
    return results;
  }

  function show() {
    var query = input.value.trim();
    if (!query || !index) {
      order.forEach(function (li) { li.hidden = false; list.appendChild(li); });
      status.textContent = "";
      return;
    }
    var results = rank(query);
    order.forEach(function (li) { li.hidden = true; });
    results.forEach(function (r) { var li = items[r.slug]; if (li) { li.hidden = false; list.appendChild(li); } });
    status.textContent = results.length ? status.dataset.some.replace("{count}", results.length) : status.dataset.none;
  }

  fetch(form.dataset.index).then(function (r) { return r.json(); }).then(function (data) {
    index = prepare(data);
    var initial = new URLSearchParams(location.search).get("q");
    if (initial) input.value = initial;
    show();
  });
  input.addEventListener("input", show);
  form.addEventListener("submit", function (event) { event.preventDefault(); show(); });
})();

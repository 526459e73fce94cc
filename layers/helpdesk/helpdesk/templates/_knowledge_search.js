/* The knowledge base's search in the browser, shared by the help centre (its
   assets/search.js) and the web form's suggestions: BM25 over the fuzzy layer of the
   desk's index (character trigrams of each word, single Han characters; the same split as
   helpdesk/knowledge/tokens.py `grams`), from one language's search data
   (helpdesk.knowledge.index.search_layer). No server, no library. */
var knowledgeSearch = (function () {
  "use strict";
  var HAN = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff";
  var TOKEN = new RegExp("[" + HAN + "]+|[^\\P{L}" + HAN + "][\\p{L}\\p{M}]*|\\d+", "gu");
  var HAN_RUN = new RegExp("^[" + HAN + "]+$", "u");

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

  /* The search data with its document frequencies summed, ready to rank. */
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

  /* The articles that match ``query``, best first: [{slug, position, score}]. */
  function rank(index, query) {
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
      if (score > 0 && matched >= 0.5 * possible) {
        results.push({ slug: index.data.articles[i].slug, position: i, score: score });
      }
    });
    results.sort(function (a, b) { return b.score - a.score; });
    return results;
  }

  return { prepare: prepare, rank: rank };
})();

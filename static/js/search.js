// Offline search: the same normalization, matching and ranking as the server's (search.py),
// run on the saved index when the page came from the phone.
(function () {
  "use strict";
  var root = document.documentElement;
  var list = document.getElementById("search-results");
  if (root.getAttribute("data-offline-saved") === null || !list) return;
  var query = new URLSearchParams(window.location.search).get("q") || "";
  query = query.trim().slice(0, 200);
  if (!query) return;
  var lang = root.lang;
  var NO_SPACE = /^[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\uaa60-\uaa7f]/;

  function normalize(text) {
    return text.toLowerCase().normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/đ/g, "d").normalize("NFC").split(/\s+/).filter(Boolean).join(" ");
  }
  function escape(text) { return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }
  function pattern(term) {
    return NO_SPACE.test(term) ? new RegExp(escape(term), "g")
      : new RegExp("(?<![\\p{L}\\p{N}])" + escape(term), "gu");
  }
  function count(re, field) { var m = field.match(re); return m ? m.length : 0; }

  function run(index) {
    var words = [];
    normalize(query).split(" ").forEach(function (w) { if (w && words.indexOf(w) < 0) words.push(w); });
    var patterns = words.map(pattern);
    var hits = [];
    index.docs.forEach(function (doc) {
      var score = 0;
      for (var i = 0; i < patterns.length; i++) {
        var counts = [count(patterns[i], doc[4]), count(patterns[i], doc[5]), count(patterns[i], doc[6])];
        if (!counts[0] && !counts[1] && !counts[2]) return;
        counts[2] = Math.min(counts[2], index.body_hits_cap);
        score += index.weights[0] * counts[0] + index.weights[1] * counts[1] + index.weights[2] * counts[2];
      }
      hits.push({ kind: doc[0], key: doc[1], title: doc[2], summary: doc[3], score: score });
    });
    // Python sorts by (-score, title) comparing code points; so do we.
    hits.sort(function (a, b) {
      return b.score - a.score || (a.title < b.title ? -1 : a.title > b.title ? 1 : 0);
    });
    return hits.slice(0, index.limit);
  }

  function render(hits) {
    list.textContent = "";
    hits.forEach(function (hit) {
      var item = document.createElement("li");
      item.className = "card";
      var link = document.createElement("a");
      link.href = hit.kind === "article" ? "/" + lang + "/articles/" + hit.key + "/"
        : "/" + lang + "/services/" + hit.key;
      link.textContent = hit.title;
      item.appendChild(link);
      if (hit.summary) {
        var summary = document.createElement("p");
        summary.textContent = hit.summary;
        item.appendChild(summary);
      }
      list.appendChild(item);
    });
    var countNote = document.getElementById("search-count");
    if (countNote) {
      var form = hits.length === 1 ? "data-one" : "data-other";
      countNote.textContent = countNote.getAttribute(form).replace("{num}", String(hits.length));
    }
    var input = document.getElementById("search-q");
    if (input) input.value = query;
    list.setAttribute("data-offline-results", "true");
  }

  fetch("/api/search/" + lang + ".json").then(function (response) { return response.json(); })
    .then(function (index) { render(run(index)); });
})();

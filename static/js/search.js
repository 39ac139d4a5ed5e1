// Offline search: the same folding, Zawgyi reading, matching, corridor order, grouping and pages
// as the server's (hub/content/search.py and text.py), run on the saved index when the page
// came from the phone. Character classes, the Zawgyi model and its rules come from the index.
(function () {
  "use strict";
  var root = document.documentElement;
  var box = document.getElementById("search-results");
  if (root.getAttribute("data-offline-saved") === null || !box) return;
  var params = new URLSearchParams(window.location.search);
  var lang = root.lang;
  var CORRIDOR = 0, ELSEWHERE = 2;

  function cls(body, flags) { return new RegExp("[" + body + "]", flags); }
  function escape(text) { return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"); }

  function Text(spec) {
    var zeroWidth = cls(spec.zero_width, "g");
    var space = new RegExp("[" + spec.whitespace + "]+", "g");
    var marks = cls(spec.latin_marks, "g");
    this.myanmar = cls(spec.myanmar, "");
    var zeros = Array.from(spec.digit_zeros).map(function (zero) { return zero.charCodeAt(0); });
    function digits(text) {
      return text.replace(/[^\x00-\x7f]/g, function (ch) {
        var code = ch.charCodeAt(0);
        for (var i = 0; i < zeros.length; i++) {
          if (code >= zeros[i] && code < zeros[i] + 10) return String(code - zeros[i]);
        }
        return ch;
      });
    }
    this.visible = function (text) { return text.replace(zeroWidth, ""); };
    this.trim = function (text) {
      return this.visible(text).replace(space, " ").replace(/^ +| +$/g, "");
    };
    this.fold = function (text) {
      var folded = digits(this.visible(text)).normalize("NFKD").toLowerCase()
        .replace(marks, "").replace(/đ/g, "d").normalize("NFC");
      return folded.replace(space, " ").replace(/^ +| +$/g, "");
    };
  }

  // Zawgyi: myanmartools' Markov model (log-likelihood ratios of character pairs) read as the
  // library reads it, then paraencoder's ordered rewrite rules.
  function Zawgyi(model) {
    var states = {};
    Array.from(model.chars).forEach(function (ch, i) { states[ch] = i + 1; });
    var size = model.rows.length;
    var params = new Float64Array(size * size);
    model.rows.forEach(function (row, i) {
      if (!row) return;
      var base = Math.fround(row[0]);
      for (var j = 0; j < size; j++) params[i * size + j] = base;
      for (var k = 1; k < row.length; k += 2) {
        params[i * size + row[k]] = row[k + 1] === null ? NaN : Math.fround(row[k + 1]);
      }
    });
    var rules = model.rules.map(function (rule) { return [new RegExp(rule[0], "g"), rule[1]]; });
    function state(ch) { return ch === null ? 0 : states[ch] || 0; }
    this.probability = function (text) {
      var chars = [null].concat(Array.from(text), [null]);
      var total = 0, any = false;
      for (var i = 0; i + 1 < chars.length; i++) {
        var value = params[state(chars[i]) * size + state(chars[i + 1])];
        if (!isNaN(value)) { total += value; any = true; }
      }
      if (!any) return -Infinity;
      if (total >= 0) { var z = Math.exp(-total); return z / (z + 1); }
      return 1 / (1 + Math.exp(total));
    };
    this.toUnicode = function (text) {
      if (this.probability(text) <= model.threshold) return text;
      rules.forEach(function (rule) { text = text.replace(rule[0], rule[1]); });
      return text;
    };
  }

  function tier(kind, places, origin, destination) {
    if (!origin && !destination) return CORRIDOR;
    if (kind === "article") {
      if (!places.length) return 1;
      return places.indexOf(origin) >= 0 || places.indexOf(destination) >= 0 ? CORRIDOR : ELSEWHERE;
    }
    var country = places[0], serves = places.slice(1);
    if (destination && country === destination &&
        (!serves.length || !origin || serves.indexOf(origin) >= 0)) return CORRIDOR;
    if (origin && country === origin && serves.indexOf(origin) >= 0) return CORRIDOR;
    return ELSEWHERE;
  }

  // Python compares str by code point; so do we (plain < compares UTF-16 units).
  function compare(a, b) {
    var x = Array.from(a), y = Array.from(b);
    for (var i = 0; i < Math.min(x.length, y.length); i++) {
      var d = x[i].codePointAt(0) - y[i].codePointAt(0);
      if (d) return d;
    }
    return x.length - y.length;
  }

  function search(index, text, zawgyi, query, origin, destination) {
    var typed = text.visible(query);
    if (zawgyi && text.myanmar.test(typed)) typed = zawgyi.toUnicode(typed);
    var words = [];
    text.fold(typed).split(" ").forEach(function (w) { if (w && words.indexOf(w) < 0) words.push(w); });
    if (!words.length) return [];
    var noSpace = new RegExp("^[" + index.no_space + "]");
    var patterns = words.map(function (w) {
      return [w, noSpace.test(w) ? new RegExp(escape(w), "g")
        : new RegExp("(?<![\\p{L}\\p{N}])" + escape(w), "gu")];
    });
    var hits = [];
    index.docs.forEach(function (doc) {
      var score = 0;
      for (var i = 0; i < patterns.length; i++) {
        var counts = [4, 5, 6].map(function (f) {
          if (doc[f].indexOf(patterns[i][0]) < 0) return 0;
          var m = doc[f].match(patterns[i][1]);
          return m ? m.length : 0;
        });
        if (!counts[0] && !counts[1] && !counts[2]) return;
        counts[2] = Math.min(counts[2], index.body_hits_cap);
        score += index.weights[0] * counts[0] + index.weights[1] * counts[1] +
          index.weights[2] * counts[2];
      }
      hits.push({ kind: doc[0], key: doc[1], title: doc[2], summary: doc[3], score: score,
        tier: tier(doc[0], doc[7], origin, destination) });
    });
    hits.sort(function (a, b) {
      return a.tier - b.tier || b.score - a.score || compare(a.title, b.title) ||
        compare(a.kind, b.kind) || compare(a.key, b.key);
    });
    return hits;
  }

  function pageNumber(raw, maxDigits) {
    if (raw === null || raw === "") return 1;
    if (!new RegExp("^[0-9]{1," + maxDigits + "}$").test(raw)) return null;
    var number = parseInt(raw, 10);
    return number >= 1 ? number : null;
  }

  // As Python's urllib.parse.quote_plus (Jinja's urlencode): only A-Z a-z 0-9 _ . - ~ stay.
  function quote(text) {
    return encodeURIComponent(text).replace(/[!'()*]/g, function (c) {
      return "%" + c.charCodeAt(0).toString(16).toUpperCase();
    }).replace(/%20/g, "+");
  }

  function render(index, query) {
    var text = new Text(index.text);
    var zawgyi = index.zawgyi ? new Zawgyi(index.zawgyi) : null;
    var trimmed = Array.from(text.trim(params.get("q") || "")).slice(0, 200).join("");
    var everywhere = params.get("all") === "1";
    var origin = box.getAttribute("data-origin") || null;
    var destination = box.getAttribute("data-destination") || null;
    var digits = (document.getElementById("search-digits") || {}).textContent || "0123456789";
    function local(n) {
      return String(n).replace(/[0-9]/g, function (d) { return digits.charAt(+d); });
    }
    function url(page, all) {
      var parts = [];
      if (all) parts.push("all=1");
      if (page > 1) parts.push("page=" + page);
      parts.push("q=" + quote(trimmed));
      return "/" + lang + "/search?" + parts.join("&");
    }
    function show(id, visible) {
      var node = document.getElementById(id);
      if (node) node.hidden = !visible;
      return node;
    }
    if (!trimmed) return;
    var raw = pageNumber(params.get("page"), index.max_page_digits);
    var number = raw || 1;
    var all = search(index, text, zawgyi, trimmed, origin, destination);
    var shown = everywhere ? all : all.filter(function (h) { return h.tier !== ELSEWHERE; });
    var pages = Math.max(1, Math.ceil(shown.length / index.per_page));
    var exists = raw !== null && number <= pages;
    var chosen = exists ? shown.slice((number - 1) * index.per_page, number * index.per_page) : [];

    ["service", "article"].forEach(function (kind) {
      var section = show("search-" + kind + "s", chosen.some(function (h) { return h.kind === kind; }));
      var list = section.querySelector("ul");
      list.textContent = "";
      chosen.filter(function (h) { return h.kind === kind; }).forEach(function (hit) {
        var item = document.createElement("li");
        item.className = "card";
        var link = document.createElement("a");
        link.className = "hit";
        link.href = kind === "article" ? "/" + lang + "/articles/" + hit.key
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
    });
    var count = document.getElementById("search-count");
    if (count) {
      var form = shown.length === 1 ? "data-one" : "data-other";
      count.textContent = count.getAttribute(form).replace("{num}", local(shown.length));
    }
    show("search-scope", !!(origin || destination));
    show("search-scope-mine", !everywhere);
    show("search-scope-every", everywhere);
    document.getElementById("search-scope-all").href = url(1, true);
    document.getElementById("search-scope-only").href = url(1, false);
    show("search-missing", !exists);
    document.getElementById("search-first").href = url(1, everywhere);
    show("search-pages", exists && pages > 1);
    var prev = show("search-prev", number > 1);
    prev.href = url(number - 1, everywhere);
    var next = show("search-next", number < pages);
    next.href = url(number + 1, everywhere);
    var label = document.getElementById("search-page");
    label.textContent = label.getAttribute("data-template").replace("{page}", local(number))
      .replace("{pages}", local(pages));
    var input = document.getElementById("search-q");
    if (input) input.value = trimmed;
    box.setAttribute("data-offline-results", "true");
  }

  fetch("/api/search/" + lang + ".json").then(function (response) { return response.json(); })
    .then(function (index) { render(index); });
})();

// Save for offline: download every page of the reader's locale and corridor into the phone,
// revalidating what is already saved with its ETag instead of downloading it again.
(function () {
  "use strict";
  var box = document.getElementById("pack");
  if (!box || !window.caches || !window.fetch) return;
  var PACK = "hub-pack-1";
  var lang = document.documentElement.lang;
  var key = "hub-pack:" + lang;
  var button = document.getElementById("pack-save");
  var progress = document.getElementById("pack-progress");
  var status = document.getElementById("pack-status");
  box.hidden = false;

  // In the page's own digits: Intl falls back to 0-9 where the browser lacks Burmese.
  function megabytes(bytes) {
    var format = new Intl.NumberFormat(lang, {
      style: "unit", unit: "megabyte", maximumFractionDigits: 1
    });
    return window.Hub.localDigits(format.format(bytes / 1e6));
  }

  function describe() {
    var meta = null;
    try { meta = JSON.parse(localStorage.getItem(key) || "null"); } catch (error) { meta = null; }
    if (!meta) return Promise.resolve();
    var when = window.Hub.formatDate(new Date(meta.savedOn));
    var text = box.getAttribute("data-saved").replace("{date}", when);
    var estimate = navigator.storage && navigator.storage.estimate
      ? navigator.storage.estimate() : Promise.resolve(null);
    return estimate.then(function (usage) {
      if (usage && typeof usage.usage === "number") {
        text += " " + box.getAttribute("data-used").replace("{size}", megabytes(usage.usage));
      }
      status.textContent = text;
      status.setAttribute("data-saved-on", meta.savedOn);
    });
  }

  // A 304 confirms the saved copy as of its Date, so the copy takes that date, as an HTTP cache
  // updates a stored response from a 304 (RFC 9111, 4.3.4). Stored again, it is also the newest
  // entry: the worker opens the latest saved home page for "/" offline.
  function freshen(cache, url, old, confirmation) {
    var date = confirmation.headers.get("date");
    return old.blob().then(function (body) {
      var headers = new Headers(old.headers);
      if (date) headers.set("date", date);
      return cache.put(url, new Response(body, {
        status: old.status, statusText: old.statusText, headers: headers
      }));
    });
  }

  function save() {
    button.disabled = true;
    var cache;
    return Promise.all([
      caches.open(PACK),
      fetch(box.getAttribute("data-manifest"), { credentials: "same-origin" })
        .then(function (response) { return response.json(); })
    ]).then(function (results) {
      cache = results[0];
      var manifest = results[1];
      var paths = manifest.paths.map(function (entry) { return entry.url; });
      var done = 0, fetched = 0, kept = 0;
      progress.max = paths.length;
      progress.value = 0;
      progress.hidden = false;
      // One after another: gentle on a weak connection, and progress means something.
      return paths.reduce(function (previous, url) {
        return previous.then(function () {
          var old;
          return cache.match(url, { ignoreVary: true }).then(function (found) {
            old = found;
            var headers = {};
            var etag = old && old.headers.get("etag");
            if (etag) headers["If-None-Match"] = etag;
            return fetch(url, { headers: headers, credentials: "same-origin", cache: "no-store" });
          }).then(function (response) {
            if (response.status === 304) { kept += 1; return freshen(cache, url, old, response); }
            if (!response.ok) throw new Error(url + " " + response.status);
            fetched += 1;
            return cache.put(url, response);
          }).then(function () {
            done += 1;
            progress.value = done;
          });
        });
      }, Promise.resolve()).then(function () {
        var meta = { savedOn: new Date().toISOString(), from: manifest.from, to: manifest.to,
                     paths: paths, fetched: fetched, kept: kept };
        localStorage.setItem(key, JSON.stringify(meta));
        box.setAttribute("data-fetched", String(fetched));
        box.setAttribute("data-kept", String(kept));
        return navigator.storage && navigator.storage.persist ? navigator.storage.persist() : false;
      });
    }).then(describe, function () {
      status.textContent = box.getAttribute("data-failed");
    }).then(function () { button.disabled = false; });
  }

  button.addEventListener("click", save);
  describe();
})();

// The home page's "new since your last visit" mark: the home page is the same for everyone
// (and kept by the response cache), so the newest alert of her corridor is asked for apart,
// and compared with the newest one her alerts page showed (static/js/alerts.js keeps it).
(function () {
  "use strict";
  var mark = document.getElementById("alerts-new");
  if (!mark || !window.fetch) return;
  var seen = "";
  try { seen = window.localStorage.getItem("hub-alerts-seen") || ""; } catch (error) { /* blocked */ }
  fetch(mark.getAttribute("data-src"), { credentials: "same-origin" })
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (data) {
      if (data && data.newest && data.newest > seen) mark.hidden = false;
    }, function () {});
})();

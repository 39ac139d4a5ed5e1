// Progressive enhancement only: every control works as a plain link without this file.
(function () {
  "use strict";
  var root = document.documentElement;

  // Quick exit: replace() keeps this page out of the Back button's history. The pages
  // opened before it are still there, so a per-tab flag (sessionStorage lives as long as
  // the tab) marks the exit, and a page reached by Back while it is set leaves at once.
  var exit = document.querySelector("[data-quick-exit]");
  var EXITED = "hub-exited";
  function setExited(on) {
    try {
      if (on) window.sessionStorage.setItem(EXITED, "1");
      else window.sessionStorage.removeItem(EXITED);
    } catch (error) { /* storage blocked: the exit itself still works */ }
  }
  function exited() {
    try { return window.sessionStorage.getItem(EXITED) === "1"; } catch (error) { return false; }
  }
  function navigationType() {
    var entries = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType("navigation") : [];
    return entries.length ? entries[0].type : "";
  }
  function leave(event) {
    if (event) event.preventDefault();
    setExited(true);
    window.location.replace(exit.href);
  }
  function leaveUnseen() {
    root.style.display = "none";
    leave();
  }
  if (exit) {
    var arrival = navigationType();
    // Back or Forward re-fetched this page: after an exit it must not be seen again.
    if (arrival === "back_forward" && exited()) leaveUnseen();
    // A typed address or a followed link is a deliberate visit: the hub works again.
    else if (arrival === "navigate") setExited(false);
    window.addEventListener("pageshow", function (event) {
      // The same for a page restored whole from the back-forward cache.
      if (event.persisted && exited()) leaveUnseen();
    });
    exit.addEventListener("click", leave);
    var lastEscape = 0;
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape" || event.repeat) return;
      // An input method uses Escape to cancel what is being composed (229: still composing).
      if (event.isComposing || event.keyCode === 229) return;
      var now = Date.now();
      if (now - lastEscape < 1000) leave(event);
      lastEscape = now;
    });
  }

  // Dates in the reader's language; where the browser's Intl lacks it (Khmer and Burmese in
  // some builds), the server's CLDR month names and pattern stand in. Either way the digits are
  // the page's own, as the server wrote them in #hub-digits (Myanmar digits on Burmese pages).
  function localDigits(text) {
    var own = (document.getElementById("hub-digits") || {}).textContent || "0123456789";
    return text.replace(/[0-9]/g, function (digit) { return own.charAt(Number(digit)); });
  }
  function formatDate(date) {
    var intl = window.Intl && Intl.DateTimeFormat.supportedLocalesOf([root.lang]).length;
    var text;
    if (intl) {
      // Gregorian, like the server's dates (Thai would otherwise count Buddhist-era years).
      var options = { dateStyle: "long", timeStyle: "short", calendar: "gregory" };
      text = new Intl.DateTimeFormat(root.lang, options).format(date);
    } else {
      var note = document.getElementById("offline-note");
      var months = note.getAttribute("data-months").split("|");
      text = note.getAttribute("data-date").replace("{d}", String(date.getDate()))
        .replace("{y}", String(date.getFullYear())).replace("{MMMM}", months[date.getMonth()]);
    }
    return localDigits(text);
  }
  window.Hub = { formatDate: formatDate, localDigits: localDigits };

  function show(id, date) {
    var note = document.getElementById(id);
    if (!note) return;
    if (date) {
      var text = note.getAttribute("data-saved");
      note.querySelector("span").textContent = text.replace("{date}", formatDate(date));
    }
    note.hidden = false;
  }

  // Offline is visible: a copy from the phone carries the time it was saved.
  var saved = root.getAttribute("data-offline-saved");
  if (saved !== null) show("offline-note", saved ? new Date(saved) : null);
  window.addEventListener("offline", function () { show("offline-note"); });

  var worker = root.getAttribute("data-service-worker");
  if (!worker || !("serviceWorker" in navigator)) return;
  var reloading = false;
  navigator.serviceWorker.addEventListener("controllerchange", function () {
    if (reloading) window.location.reload();
  });
  var offered = false;
  function offerReload(registration) {
    if (offered) return;
    offered = true;
    show("update-note");
    document.getElementById("update-reload").addEventListener("click", function () {
      reloading = true;
      if (registration.waiting) registration.waiting.postMessage("skip-waiting");
    });
  }
  navigator.serviceWorker.getRegistration("/").then(function (existing) {
    return existing || navigator.serviceWorker.register(worker, { scope: "/" });
  }).then(function (registration) {
    function watch(incoming) {
      if (!incoming) return;
      incoming.addEventListener("statechange", function () {
        if (incoming.state === "installed" && navigator.serviceWorker.controller) {
          offerReload(registration);
        }
      });
    }
    // A new version waits until the reader chooses to reload: never a swap mid-read.
    if (registration.waiting && navigator.serviceWorker.controller) offerReload(registration);
    // The browser's own check on navigating may have found the new version before this ran:
    // its updatefound is gone, so the worker still installing is watched too.
    watch(registration.installing);
    registration.addEventListener("updatefound", function () { watch(registration.installing); });
    if (navigator.onLine) registration.update().catch(function () {});
  });
})();

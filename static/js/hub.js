// Progressive enhancement only: every control works as a plain link without this file.
(function () {
  "use strict";
  var root = document.documentElement;

  // Quick exit: replace() keeps this page out of the Back button's history.
  var exit = document.querySelector("[data-quick-exit]");
  function leave(event) {
    if (event) event.preventDefault();
    window.location.replace(exit.href);
  }
  if (exit) {
    exit.addEventListener("click", leave);
    var lastEscape = 0;
    document.addEventListener("keydown", function (event) {
      if (event.key !== "Escape") return;
      var now = Date.now();
      if (now - lastEscape < 1000) leave(event);
      lastEscape = now;
    });
  }

  function show(id, date) {
    var note = document.getElementById(id);
    if (!note) return;
    if (date) {
      var text = note.getAttribute("data-saved");
      var when = new Intl.DateTimeFormat(root.lang, { dateStyle: "long", timeStyle: "short" });
      note.querySelector("span").textContent = text.replace("{date}", when.format(date));
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
  function offerReload(registration) {
    var button = document.getElementById("update-reload");
    show("update-note");
    button.addEventListener("click", function () {
      reloading = true;
      if (registration.waiting) registration.waiting.postMessage("skip-waiting");
    });
  }
  navigator.serviceWorker.getRegistration("/").then(function (existing) {
    return existing || navigator.serviceWorker.register(worker, { scope: "/" });
  }).then(function (registration) {
    // A new version waits until the reader chooses to reload: never a swap mid-read.
    if (registration.waiting && navigator.serviceWorker.controller) offerReload(registration);
    registration.addEventListener("updatefound", function () {
      var incoming = registration.installing;
      incoming.addEventListener("statechange", function () {
        if (incoming.state === "installed" && navigator.serviceWorker.controller) {
          offerReload(registration);
        }
      });
    });
    if (navigator.onLine) registration.update().catch(function () {});
  });
})();

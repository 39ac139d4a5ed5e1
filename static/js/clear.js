// "Clear everything from this phone": what the browser keeps for this site, then the server's
// Clear-Site-Data answer at the link's address removes the rest (and cookies, which are HttpOnly).
(function () {
  "use strict";
  var link = document.getElementById("clear-everything");
  if (!link) return;
  function settle(promise) { return promise.then(function () {}, function () {}); }
  function forgetSubscription() {
    return caches.open("push-subscription").then(function (cache) {
      return cache.match("/.push-subscription");
    }).then(function (response) {
      return response ? response.json() : null;
    }).then(function (record) {
      if (!record || !window.fetch) return null;
      return fetch("/api/subscriptions/" + encodeURIComponent(record.id), {
        method: "DELETE",
        credentials: "omit",
        keepalive: true,
        headers: { authorization: "Bearer " + record.token }
      });
    }).catch(function () {});
  }
  link.addEventListener("click", function (event) {
    event.preventDefault();
    var steps = [];
    try { localStorage.clear(); sessionStorage.clear(); } catch (error) { /* storage blocked */ }
    if (window.caches) {
      // The hub's copy of this phone's alert subscription goes first (static/js/alerts.js
      // keeps its id and token in Cache Storage), then every cache with that record.
      steps.push(settle(forgetSubscription().then(function () {
        return caches.keys();
      }).then(function (names) {
        return Promise.all(names.map(function (name) { return caches.delete(name); }));
      })));
    }
    if ("serviceWorker" in navigator) {
      steps.push(settle(navigator.serviceWorker.getRegistrations().then(function (registrations) {
        return Promise.all(registrations.map(function (registration) {
          var unsubscribe = registration.pushManager
            ? settle(registration.pushManager.getSubscription().then(function (subscription) {
                return subscription && subscription.unsubscribe();
              }))
            : Promise.resolve();
          // An alert still in the notification tray goes too (its text, when not discreet).
          var shown = registration.getNotifications
            ? settle(registration.getNotifications().then(function (notifications) {
                notifications.forEach(function (notification) { notification.close(); });
              }))
            : Promise.resolve();
          return Promise.all([unsubscribe, shown]).then(function () {
            return registration.unregister();
          });
        }));
      })));
    }
    Promise.all(steps).then(function () { window.location.replace(link.href); });
  });
})();

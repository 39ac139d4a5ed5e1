// The alerts page: what it lists counts as seen (static/js/alerts-new.js marks what is newer on
// the home page), and the form that turns alerts on or off for this phone. The alerts
// themselves are plain HTML.
(function () {
  "use strict";
  var SEEN = "hub-alerts-seen";
  // Where the phone keeps its subscription's id and token (and the choices made), in Cache
  // Storage so the service worker can read it too; "clear everything" deletes it.
  var RECORD_CACHE = "push-subscription";
  var RECORD_URL = "/.push-subscription";

  function seen() {
    try { return window.localStorage.getItem(SEEN) || ""; } catch (error) { return ""; }
  }

  // The alerts page: what it lists now counts as seen.
  var list = document.querySelector("[data-newest]");
  if (list) {
    var newest = list.getAttribute("data-newest");
    try {
      if (newest && newest > seen()) window.localStorage.setItem(SEEN, newest);
    } catch (error) { /* storage blocked: the mark stays */ }
  }

  var form = document.getElementById("push-form");
  if (!form) return;
  var needsScript = document.getElementById("push-needs-script");
  if (needsScript) needsScript.hidden = true;
  var status = document.getElementById("push-status");
  var subscribeButton = document.getElementById("push-subscribe");
  var stopButton = document.getElementById("push-stop");
  var supported = "serviceWorker" in navigator && "PushManager" in window &&
    "Notification" in window && window.caches && window.fetch;
  if (!supported) {
    // Safari on an iPhone offers push only to the app added to the home screen (iOS 16.4+).
    var inSafariTab = navigator.standalone === false;
    document.getElementById(inSafariTab ? "push-install" : "push-unsupported").hidden = false;
    return;
  }
  form.hidden = false;

  function say(name) {
    status.textContent = form.getAttribute("data-" + name);
    status.hidden = false;
  }

  function loadRecord() {
    return caches.open(RECORD_CACHE)
      .then(function (cache) { return cache.match(RECORD_URL); })
      .then(function (response) { return response ? response.json() : null; })
      .catch(function () { return null; });
  }

  function saveRecord(record) {
    return caches.open(RECORD_CACHE).then(function (cache) {
      return cache.put(RECORD_URL, new Response(JSON.stringify(record), {
        headers: { "content-type": "application/json" }
      }));
    });
  }

  function dropRecord() {
    return caches.delete(RECORD_CACHE);
  }

  function keyBytes(text) {
    var padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
    var raw = window.atob(padded);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
    return bytes;
  }

  function choices() {
    var topics = [];
    var boxes = form.querySelectorAll("input[name=topics]");
    for (var i = 0; i < boxes.length; i++) if (boxes[i].checked) topics.push(boxes[i].value);
    return {
      locale: form.getAttribute("data-locale"),
      origin: form.getAttribute("data-origin"),
      destination: form.getAttribute("data-destination"),
      topics: topics,
      discreet: form.querySelector("input[name=discreet]").checked
    };
  }

  function show(data) {
    var boxes = form.querySelectorAll("input[name=topics]");
    for (var i = 0; i < boxes.length; i++) boxes[i].checked = data.topics.indexOf(boxes[i].value) >= 0;
    form.querySelector("input[name=discreet]").checked = data.discreet;
  }

  function send(method, url, token, body) {
    var headers = { "content-type": "application/json" };
    if (token) headers.authorization = "Bearer " + token;
    return fetch(url, {
      method: method,
      headers: headers,
      credentials: "omit",
      body: body ? JSON.stringify(body) : undefined
    });
  }

  function on(isOn) {
    stopButton.hidden = !isOn;
  }

  var api = form.getAttribute("data-api");

  // Store this browser's subscription with her choices: a change of the one the hub knows
  // (which also confirms it), or a new one when the hub has none (expired, or never sent).
  function store(subscription, record, wanted) {
    var body = {
      subscription: subscription.toJSON(),
      locale: wanted.locale,
      origin: wanted.origin,
      destination: wanted.destination,
      topics: wanted.topics,
      discreet: wanted.discreet
    };
    var update = record
      ? send("PUT", api + "/" + encodeURIComponent(record.id), record.token, body)
      : Promise.resolve(null);
    return update.then(function (response) {
      if (response && response.ok) return record;
      if (response && response.status !== 401) throw new Error("refused " + response.status);
      return send("POST", api, null, body).then(function (created) {
        if (!created.ok) throw new Error("refused " + created.status);
        return created.json();
      });
    }).then(function (answer) {
      var kept = {
        id: answer.id,
        token: answer.token,
        key: form.getAttribute("data-key"),
        choices: wanted
      };
      return saveRecord(kept).then(function () { return kept; });
    });
  }

  var ready = navigator.serviceWorker.ready;

  // Opened again: confirm the subscription with the hub (Apple's service accepts messages for
  // subscriptions long gone, so the hub forgets those not confirmed for a while).
  Promise.all([ready, loadRecord()]).then(function (found) {
    var registration = found[0];
    var record = found[1];
    return registration.pushManager.getSubscription().then(function (subscription) {
      if (!subscription) {
        if (record) {
          return send("DELETE", api + "/" + encodeURIComponent(record.id), record.token)
            .catch(function () {}).then(dropRecord);
        }
        return null;
      }
      var wanted = record && record.choices ? record.choices : choices();
      // Her corridor and language are the page's now; the topics and discretion hers.
      wanted.locale = choices().locale;
      wanted.origin = choices().origin;
      wanted.destination = choices().destination;
      return store(subscription, record, wanted).then(function () {
        show(wanted);
        on(true);
        say("subscribed");
      });
    });
  }).catch(function () {});

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var wanted = choices();
    if (!wanted.topics.length) {
      say("no-topics");
      return;
    }
    subscribeButton.disabled = true;
    Notification.requestPermission().then(function (permission) {
      if (permission !== "granted") {
        say("denied");
        return null;
      }
      return ready.then(function (registration) {
        return registration.pushManager.getSubscription().then(function (existing) {
          return existing || registration.pushManager.subscribe({
            userVisibleOnly: true,
            applicationServerKey: keyBytes(form.getAttribute("data-key"))
          });
        });
      }).then(function (subscription) {
        return loadRecord().then(function (record) {
          return store(subscription, record, wanted);
        });
      }).then(function () {
        on(true);
        say("subscribed");
      });
    }).catch(function () {
      say("failed");
    }).then(function () {
      subscribeButton.disabled = false;
    });
  });

  stopButton.addEventListener("click", function () {
    stopButton.disabled = true;
    Promise.all([ready, loadRecord()]).then(function (found) {
      var record = found[1];
      var gone = record
        ? send("DELETE", api + "/" + encodeURIComponent(record.id), record.token)
        : Promise.resolve();
      return gone.then(function () {
        return found[0].pushManager.getSubscription();
      }).then(function (subscription) {
        return subscription && subscription.unsubscribe();
      }).then(dropRecord);
    }).then(function () {
      on(false);
      say("stopped");
    }, function () {
      say("failed");
    }).then(function () {
      stopButton.disabled = false;
    });
  });
})();

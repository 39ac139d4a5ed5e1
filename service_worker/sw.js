/* The hub's service worker. The server writes CONFIG (version, shell, locales) below. */
/* CONFIG */
"use strict";

const VERSION = CONFIG.version;
const SHELL = "hub-shell-" + VERSION;
const PAGES = "hub-pages-" + VERSION;
// Saved packs outlive versions: they are revalidated with ETags, never thrown away whole.
const PACK = "hub-pack-1";
const PAGES_LIMIT = 60;
const NETWORK_TIMEOUT = 3000;
const REGISTERED_LOCALE = new URL(self.location.href).searchParams.get("locale");
const HOME_LOCALE = CONFIG.locales.indexOf(REGISTERED_LOCALE) >= 0 ? REGISTERED_LOCALE : "en";

function localeOf(url) {
  const first = url.pathname.split("/")[1];
  return CONFIG.locales.indexOf(first) >= 0 ? first : HOME_LOCALE;
}

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches.open(SHELL).then((cache) =>
      cache.addAll(
        CONFIG.shell.concat([
          "/" + HOME_LOCALE + "/unavailable",
          "/" + HOME_LOCALE + "/",
          "/" + HOME_LOCALE + "/help",
          "/" + HOME_LOCALE + "/search",
        ])
      )
    )
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((names) =>
        Promise.all(
          names
            .filter((name) => name.startsWith("hub-") && name !== SHELL && name !== PAGES && name !== PACK)
            .map((name) => caches.delete(name))
        )
      )
      .then(() => self.clients.claim())
  );
});

self.addEventListener("message", (event) => {
  // The page asks for this only when the reader chose to reload: never a silent swap.
  if (event.data === "skip-waiting") self.skipWaiting();
});

async function trim(cache) {
  const keys = await cache.keys();
  for (let i = 0; i < keys.length - PAGES_LIMIT; i++) await cache.delete(keys[i]);
}

async function remember(request, response) {
  const copy = response.clone();
  const pages = await caches.open(PAGES);
  await pages.put(request, copy);
  await trim(pages);
  // Keep a saved pack current while the reader browses online.
  const pack = await caches.open(PACK);
  if (await pack.match(request, { ignoreVary: true })) await pack.put(request, response.clone());
}

// Mark a copy from the phone so the page can say it is offline and when it was saved.
async function markSaved(response) {
  if (!(response.headers.get("content-type") || "").startsWith("text/html")) return response;
  const saved = response.headers.get("date") || "";
  const text = await response.text();
  const marked = text.replace("<html ", '<html data-offline-saved="' + saved.replace(/"/g, "") + '" ');
  return new Response(marked, { status: response.status, headers: response.headers });
}

async function fromPhone(request) {
  return caches.match(request, { ignoreVary: true });
}

// Whether a network answer is worth keeping for next time.
function keepable(response) {
  return response.ok && response.type === "basic";
}

// Network first, as Workbox's NetworkFirst with networkTimeoutSeconds: once NETWORK_TIMEOUT has
// passed, a copy on the phone answers if there is one. With none, the request in flight is
// still awaited: on a slow line the page is on its way, and "Not saved on this phone" would be
// wrong. Only a failed request with nothing saved gets `fallback`. Whoever answers, a good
// network answer, however late, is stored; waitUntil is called during the event's dispatch,
// while it is still allowed, and keeps the worker alive until the copy is written.
async function networkFirst(event, saved, fallback) {
  const request = event.request;
  const network = fetch(request);
  event.waitUntil(
    network.then(
      (response) => (keepable(response) ? remember(request, response.clone()) : undefined),
      () => undefined
    )
  );
  let timer;
  const late = new Promise((resolve) => {
    timer = setTimeout(resolve, NETWORK_TIMEOUT, null);
  });
  try {
    const first = await Promise.race([network, late]);
    if (first) return first;
    const copy = await saved(request);
    return copy || (await network);
  } catch (error) {
    const copy = await saved(request);
    return copy || fallback(request);
  } finally {
    clearTimeout(timer);
  }
}

// The home page locale of a saved copy's URL, or null for any other page.
function homeLocale(request) {
  const path = new URL(request.url).pathname;
  const locale = path.split("/")[1];
  return path === "/" + locale + "/" && CONFIG.locales.indexOf(locale) >= 0 ? locale : null;
}

// `/` is a redirect the server decides from her locale cookie or her languages; offline, her
// saved home page stands in. The pack she saved comes first, then pages she read, then what the
// worker installed. Within a cache the newest copy wins: the latest `Date`, and of equal dates
// the one stored last (a cache lists its entries in the order they were put).
async function savedHome() {
  for (const name of [PACK, PAGES, SHELL]) {
    if (!(await caches.has(name))) continue;
    const cache = await caches.open(name);
    let best = null;
    for (const request of await cache.keys()) {
      const locale = homeLocale(request);
      if (!locale) continue;
      const response = await cache.match(request, { ignoreVary: true });
      const date = Date.parse((response && response.headers.get("date")) || "") || 0;
      if (!best || date >= best.date) best = { locale: locale, date: date };
    }
    if (best) return "/" + best.locale + "/";
  }
  return null;
}

// What the phone holds for a page: its own copy, marked as such.
async function savedPage(request) {
  const url = new URL(request.url);
  if (url.pathname === "/") {
    const home = await savedHome();
    return home ? Response.redirect(home, 302) : null;
  }
  let cached = await fromPhone(request);
  if (!cached && /\/articles\/[^/]+$/.test(url.pathname)) {
    // Packs saved before articles lost their trailing slash hold them under the old address.
    cached = await caches.match(url.pathname + "/", { ignoreVary: true });
  }
  if (!cached && url.pathname.endsWith("/search")) {
    // Offline search runs in the page, on the saved search page and index.
    cached = await caches.match(url.pathname, { ignoreSearch: true, ignoreVary: true });
  }
  return cached ? markSaved(cached) : null;
}

// Nothing saved and no network: the offline page in the page's language.
async function unavailable(request) {
  const url = new URL(request.url);
  let cached = await caches.match("/" + localeOf(url) + "/unavailable", { ignoreVary: true });
  if (!cached) cached = await caches.match("/" + HOME_LOCALE + "/unavailable", { ignoreVary: true });
  return cached ? markSaved(cached) : Response.error();
}

function page(event) {
  return networkFirst(event, savedPage, unavailable);
}

function data(event) {
  return networkFirst(event, fromPhone, () => Response.error());
}

async function asset(request) {
  const cached = await fromPhone(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) {
    const shell = await caches.open(SHELL);
    await shell.put(request, response.clone());
  }
  return response;
}

// The consoles and signing in (hub/console_guard.py's CONSOLE_PREFIXES): one person's pages,
// left to the network untouched, never copied into a cache on the phone.
const CONSOLE_PREFIXES = ["/login", "/logout", "/invitation", "/account", "/admin", "/leaders"];

function isConsole(url) {
  return CONSOLE_PREFIXES.some((prefix) => url.pathname === prefix || url.pathname.startsWith(prefix + "/"));
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (isConsole(url)) return;
  if (url.pathname === "/sw.js" || url.pathname.endsWith("/clear")) return;
  // A subscription is read with its token, never from a copy; the record is the worker's own.
  if (url.pathname.startsWith("/api/subscriptions") || url.pathname === RECORD_URL) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(asset(request));
  } else if (request.mode === "navigate") {
    event.respondWith(page(event));
  } else if (url.pathname.startsWith("/api/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(data(event));
  }
});

// -- Alerts -----------------------------------------------------------------------------------
// The phone's subscription record (id, token, choices), written by static/js/alerts.js.
const RECORD_CACHE = "push-subscription";
const RECORD_URL = "/.push-subscription";

function shellIcon(name) {
  const pattern = new RegExp("^/static/icons/" + name + "\\.[0-9a-f]+\\.png$");
  return CONFIG.shell.find((url) => pattern.test(url)) || undefined;
}

// Only a path of this site: a message cannot send the phone elsewhere.
function alertPath(url) {
  return typeof url === "string" && url.startsWith("/") && !url.startsWith("//") ? url : "/";
}

// The payload is hub/push/payload.py's message: when discreet, its title and body are the
// neutral name and line, and nothing of the alert is shown on the lock screen.
self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch (error) {
    data = {};
  }
  const discreet = data.discreet !== false;
  const options = {
    body: typeof data.body === "string" ? data.body : "",
    icon: shellIcon(discreet ? "discreet-192" : "hub-192"),
    lang: typeof data.locale === "string" ? data.locale : "",
    data: { url: alertPath(data.url) },
  };
  if (typeof data.tag === "string" && data.tag) {
    // A correction has the same tag: it replaces the notification, and says so again.
    options.tag = data.tag;
    options.renotify = true;
  }
  // A message without a title shows none: the site's own name could be seen on a lock screen.
  const title = typeof data.title === "string" ? data.title : "";
  event.waitUntil(self.registration.showNotification(title, options));
});

// A window of the hub already open shows the alert (focused when the browser allows it);
// else a new one opens on it.
async function openAlert(url) {
  const target = new URL(url, self.location.origin);
  const windows = await self.clients.matchAll({ type: "window" });
  const open = windows.find((client) => new URL(client.url).pathname === target.pathname) || windows[0];
  if (open && "navigate" in open) {
    const shown = await open.navigate(target.href);
    if (shown) return shown.focus().catch(() => shown);
  }
  return self.clients.openWindow(target.href);
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = alertPath(event.notification.data && event.notification.data.url);
  event.waitUntil(openAlert(url));
});

async function readRecord() {
  const cache = await caches.open(RECORD_CACHE);
  const response = await cache.match(RECORD_URL);
  return response ? response.json() : null;
}

function keyBytes(text) {
  const padded = (text + "===".slice((text.length + 3) % 4)).replace(/-/g, "+").replace(/_/g, "/");
  return Uint8Array.from(atob(padded), (c) => c.charCodeAt(0));
}

// The push service changed the subscription (expired, keys rotated): subscribe again and tell
// the hub with the token the page was given, so alerts keep coming.
async function resubscribe(event) {
  const record = await readRecord();
  if (!record || !record.choices) return;
  const subscription =
    event.newSubscription ||
    (await self.registration.pushManager.subscribe({
      userVisibleOnly: true,
      applicationServerKey: keyBytes(record.key),
    }));
  await fetch("/api/subscriptions/" + encodeURIComponent(record.id), {
    method: "PUT",
    credentials: "omit",
    headers: { "content-type": "application/json", authorization: "Bearer " + record.token },
    body: JSON.stringify(Object.assign({ subscription: subscription.toJSON() }, record.choices)),
  });
}

self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(resubscribe(event).catch(() => undefined));
});

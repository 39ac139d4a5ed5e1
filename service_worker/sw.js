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

function withTimeout(promise, ms) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("timeout")), ms);
    promise.then(
      (value) => { clearTimeout(timer); resolve(value); },
      (error) => { clearTimeout(timer); reject(error); }
    );
  });
}

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

async function page(event) {
  const request = event.request;
  const url = new URL(request.url);
  try {
    const response = await withTimeout(fetch(request), NETWORK_TIMEOUT);
    if (response.ok && response.type === "basic") event.waitUntil(remember(request, response.clone()));
    return response;
  } catch (error) {
    let cached = await fromPhone(request);
    if (!cached && url.pathname.endsWith("/search")) {
      // Offline search runs in the page, on the saved search page and index.
      cached = await caches.match(url.pathname, { ignoreSearch: true, ignoreVary: true });
    }
    if (!cached) cached = await caches.match("/" + localeOf(url) + "/unavailable", { ignoreVary: true });
    if (!cached) cached = await caches.match("/" + HOME_LOCALE + "/unavailable", { ignoreVary: true });
    return cached ? markSaved(cached) : Response.error();
  }
}

async function data(event) {
  try {
    const response = await withTimeout(fetch(event.request), NETWORK_TIMEOUT);
    if (response.ok) event.waitUntil(remember(event.request, response.clone()));
    return response;
  } catch (error) {
    const cached = await fromPhone(event.request);
    return cached || Response.error();
  }
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

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (url.pathname === "/sw.js" || url.pathname.endsWith("/clear")) return;
  if (url.pathname.startsWith("/static/")) {
    event.respondWith(asset(request));
  } else if (request.mode === "navigate") {
    event.respondWith(page(event));
  } else if (url.pathname.startsWith("/api/") || url.pathname === "/manifest.webmanifest") {
    event.respondWith(data(event));
  }
});

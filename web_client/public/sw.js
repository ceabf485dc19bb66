// Atelier's service worker: keeps the app shell so a reload without a network shows the app
// (with its offline notice) instead of the browser's error page.
// - Pages: network first, always. A deploy is seen on the next load; the cached copy of the
//   shell is used only when the network fails.
// - /assets/: their names carry a content hash, so a cached copy is never stale.
// - Everything else (/api, /files) goes to the network untouched: data is never served from here.
const SHELL_CACHE = "atelier-shell-v1";
const ASSET_CACHE = "atelier-assets-v1";
const SHELL_KEY = "/";
// Served by the services behind the gateway, not by the app: never intercepted (Django admin
// pages are HTML too, and must never be kept as the app's shell).
const NOT_THE_APP = /^\/(api|admin|files|healthz|readyz|metrics)(\/|$)/;
// Hashed files of past deploys pile up; the oldest go beyond this many.
const MAX_ASSETS = 80;

const OFFLINE_PAGE = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Offline · Atelier</title></head>
<body style="font-family: system-ui, sans-serif; max-width: 36rem; margin: 3rem auto; padding: 0 1rem">
<h1>You are offline</h1><p data-testid="offline-page">Atelier needs a connection to open for the first time.
Reload this page when you are back online.</p></body></html>`;

async function cacheShellAndItsAssets() {
  const response = await fetch(SHELL_KEY, { cache: "no-cache" });
  if (!response.ok) return;
  const html = await response.clone().text();
  const shell = await caches.open(SHELL_CACHE);
  await shell.put(SHELL_KEY, response);
  const assets = [...new Set(html.match(/\/assets\/[^"'\s)]+/g) ?? [])];
  const cache = await caches.open(ASSET_CACHE);
  await Promise.all(assets.map((url) => cache.match(url).then((hit) => hit ?? cache.add(url)).catch(() => undefined)));
}

async function trimAssets() {
  const cache = await caches.open(ASSET_CACHE);
  const keys = await cache.keys(); // oldest first
  await Promise.all(keys.slice(0, Math.max(0, keys.length - MAX_ASSETS)).map((key) => cache.delete(key)));
}

self.addEventListener("install", (event) => {
  event.waitUntil(cacheShellAndItsAssets().catch(() => undefined).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  const current = new Set([SHELL_CACHE, ASSET_CACHE]);
  event.waitUntil(
    caches.keys()
      .then((names) => Promise.all(names.filter((name) => !current.has(name)).map((name) => caches.delete(name))))
      .then(() => self.clients.claim()),
  );
});

async function page(request) {
  try {
    const response = await fetch(request);
    // Every page of the app is the same index.html; keep the newest for offline use.
    if (response.ok && (response.headers.get("content-type") ?? "").startsWith("text/html")) {
      const copy = response.clone();
      caches.open(SHELL_CACHE).then((cache) => cache.put(SHELL_KEY, copy)).then(trimAssets).catch(() => undefined);
    }
    return response;
  } catch {
    const cached = await caches.match(SHELL_KEY, { cacheName: SHELL_CACHE });
    return cached ?? new Response(OFFLINE_PAGE, { status: 503, headers: { "Content-Type": "text/html; charset=utf-8" } });
  }
}

async function asset(request) {
  const cache = await caches.open(ASSET_CACHE);
  const cached = await cache.match(request);
  if (cached) return cached;
  const response = await fetch(request);
  if (response.ok) cache.put(request, response.clone()).catch(() => undefined);
  return response;
}

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || NOT_THE_APP.test(url.pathname)) return;
  if (request.mode === "navigate") event.respondWith(page(request));
  else if (url.pathname.startsWith("/assets/")) event.respondWith(asset(request));
});

/** Registers public/sw.js in production builds only: in development Vite serves modules that
 * change on every edit, and a worker caching them would only get in the way. */
export function registerServiceWorker(): void {
  if (!import.meta.env.PROD || !("serviceWorker" in navigator)) return;
  window.addEventListener("load", () => {
    // Offline support is an extra: a browser that refuses the worker still runs the app.
    navigator.serviceWorker.register("/sw.js").catch(() => undefined);
  });
}

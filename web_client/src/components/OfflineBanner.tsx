import { useOnline } from "../hooks/useOnline";

/** Shown while the browser is offline, so a failed request reads as the connection, not a fault. */
export function OfflineBanner() {
  const online = useOnline();
  if (online) return null;
  return (
    <p className="banner banner-warning offline-banner" role="status" data-testid="offline-banner">
      You are offline. Atelier loads your images and takes new work again as soon as the connection is back.
    </p>
  );
}

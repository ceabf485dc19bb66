import { useEffect, useState } from "react";

/**
 * The current time in ms, refreshed every second: for good without `until`, else until that
 * moment has passed (a countdown that then stands still). A new `until` (fresh data) takes the
 * time again at once, so what was computed against an older clock is never kept.
 */
export function useNow(until?: number): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    setNow(Date.now());
    if (until !== undefined && !(until > Date.now())) return;
    const timer = setInterval(() => {
      const current = Date.now();
      setNow(current);
      if (until !== undefined && current >= until) clearInterval(timer);
    }, 1000);
    return () => clearInterval(timer);
  }, [until]);
  return now;
}

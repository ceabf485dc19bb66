import { isUnavailable } from "../api";

export function Loading({ what }: { what: string }) {
  return (
    <p className="muted" role="status" aria-live="polite">
      Loading {what}…
    </p>
  );
}

/** A load failure, told the way a person needs it: missing feature vs. a real error. */
export function LoadError({ error, what }: { error: unknown; what: string }) {
  if (isUnavailable(error)) {
    return (
      <p className="banner banner-info" role="status" data-testid="unavailable">
        {what} is not available on this server yet.
      </p>
    );
  }
  return (
    <p className="banner banner-error" role="alert" data-testid="load-error">
      Could not load {what.toLowerCase()}: {error instanceof Error ? error.message : "unknown error"}
    </p>
  );
}

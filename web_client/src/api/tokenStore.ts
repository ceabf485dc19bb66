// Where the browser keeps the session: the refresh token in localStorage, so every tab and a
// reload share one session; the access token in this tab's memory only, so a script that reads
// storage finds nothing it can call the API with directly. auth rotates refresh tokens and
// revokes the whole session when a rotated one is used again, so tabs renew one at a time
// (`exclusive`, a Web Lock) and each reads the newest refresh token when its turn comes.
// auth sets no HttpOnly cookie: its API takes and returns tokens in JSON bodies.
import type { Tokens } from "./types";
import type { TokenStore } from "./client";

const REFRESH_KEY = "atelier.refresh";
const RENEWAL_LOCK = "atelier.renewal";

/** The session id a token names (auth keeps it across rotations), or null when unreadable. */
export function sessionIdOf(token: string): string | null {
  try {
    const payload = token.split(".")[1];
    if (!payload) return null;
    const text = atob(payload.replace(/-/g, "+").replace(/_/g, "/"));
    const sid = (JSON.parse(text) as { sid?: unknown }).sid;
    return typeof sid === "string" ? sid : null;
  } catch {
    return null;
  }
}

export interface SharedTokenStore extends TokenStore {
  /** Calls `listener` when another tab logs in, logs out or rotates the refresh token. */
  subscribe(listener: () => void): () => void;
}

export function browserTokenStore(
  storage: Storage = window.localStorage,
  locks: LockManager | undefined = typeof navigator !== "undefined" ? navigator.locks : undefined,
): SharedTokenStore {
  let access: string | null = null;
  const read = () => {
    try {
      return storage.getItem(REFRESH_KEY);
    } catch {
      return null; // storage blocked (privacy settings): the session lasts as long as the page
    }
  };
  return {
    get(): Tokens | null {
      const refresh = read();
      if (!refresh) {
        access = null;
        return null;
      }
      // Another tab may have logged out and in again: this tab's access token then belongs to an
      // ended session, and the empty one makes the client renew before its next call.
      if (access && sessionIdOf(access) !== sessionIdOf(refresh)) access = null;
      return { access: access ?? "", refresh };
    },
    set(tokens) {
      access = tokens?.access || null;
      try {
        if (tokens) storage.setItem(REFRESH_KEY, tokens.refresh);
        else storage.removeItem(REFRESH_KEY);
      } catch {
        // Blocked storage: nothing to share with other tabs.
      }
    },
    exclusive(task) {
      return locks ? locks.request(RENEWAL_LOCK, task) : task();
    },
    subscribe(listener) {
      const onStorage = (event: StorageEvent) => {
        if (event.key === REFRESH_KEY || event.key === null) listener();
      };
      window.addEventListener("storage", onStorage);
      return () => window.removeEventListener("storage", onStorage);
    },
  };
}

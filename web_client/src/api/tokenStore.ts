// Where the browser keeps the session: the refresh token in an HttpOnly cookie auth sets
// (`delivery: "cookie"`), which no script on the page can read; the access token in this tab's
// memory only. localStorage holds just the session's id, so every tab and a reload know that a
// session exists, and a tab sees another one log out or in (the `storage` event). auth rotates
// the refresh token and revokes the whole session when a rotated one is used again, so tabs
// renew one at a time (`exclusive`, a Web Lock); the browser sends whichever cookie is newest.
import type { Tokens } from "./types";
import type { TokenStore } from "./client";
import { IN_COOKIE } from "./client";

const SESSION_KEY = "atelier.session";
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
      return storage.getItem(SESSION_KEY);
    } catch {
      return null; // storage blocked (privacy settings): the session lasts as long as the page
    }
  };
  return {
    get(): Tokens | null {
      const session = read();
      if (!session) {
        access = null;
        return null;
      }
      // Another tab may have logged out and in again: this tab's access token then belongs to an
      // ended session, and the empty one makes the client renew before its next call.
      const sid = access ? sessionIdOf(access) : null;
      if (sid && sid !== session) access = null;
      return { access: access ?? "", refresh: IN_COOKIE };
    },
    set(tokens) {
      access = tokens?.access || null;
      try {
        if (tokens) storage.setItem(SESSION_KEY, (access && sessionIdOf(access)) || read() || "unknown");
        else storage.removeItem(SESSION_KEY);
      } catch {
        // Blocked storage: nothing to share with other tabs.
      }
    },
    exclusive(task) {
      return locks ? locks.request(RENEWAL_LOCK, task) : task();
    },
    subscribe(listener) {
      const onStorage = (event: StorageEvent) => {
        if (event.key === SESSION_KEY || event.key === null) listener();
      };
      window.addEventListener("storage", onStorage);
      return () => window.removeEventListener("storage", onStorage);
    },
  };
}

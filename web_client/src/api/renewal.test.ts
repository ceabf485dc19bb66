// Renewal when tabs share one session (the refresh token in localStorage): auth revokes the whole
// session when a rotated refresh token is used again, so no two tabs may rotate the same one.
import { describe, expect, it } from "vitest";
import { ApiClient } from "./client";
import { browserTokenStore } from "./tokenStore";
import { json } from "../test/fakeApi";

/** A fake auth that rotates refresh tokens r1 -> r2 -> ... and refuses any token used twice. */
function fakeAuth() {
  let latest = 1;
  const refreshes: string[] = [];
  const handler = async (url: string, init: RequestInit) => {
    if (url === "/api/auth/token/refresh") {
      const { refresh } = JSON.parse(String(init.body)) as { refresh: string };
      refreshes.push(refresh);
      await new Promise((resolve) => setTimeout(resolve, 5)); // long enough for a race to show
      if (refresh !== `r${latest}`) return json(401, { error: { code: "token_revoked", message: "reused" } });
      latest += 1;
      return json(200, { access: `a${latest}`, refresh: `r${latest}` });
    }
    const auth = (init.headers as Record<string, string>).Authorization;
    return auth && auth !== "Bearer " ? json(200, { id: "u1", email: "ada@example.com", tier: "free" })
      : json(401, { error: { code: "not_authenticated", message: "no token" } });
  };
  return { handler, refreshes };
}

/** Web Locks as the browser has them: one holder of a name at a time, in order. */
function lockManager(): LockManager {
  let tail: Promise<unknown> = Promise.resolve();
  return {
    request: (_name: string, task: () => Promise<unknown>) => {
      const run = tail.then(task);
      tail = run.catch(() => undefined);
      return run;
    },
  } as unknown as LockManager;
}

function tab(handler: (url: string, init: RequestInit) => Promise<Response>, locks: LockManager) {
  return new ApiClient({
    store: browserTokenStore(window.localStorage, locks),
    fetch: (input, init = {}) => handler(String(input), init),
    eventSource: null,
  });
}

describe("renewal across tabs", () => {
  it("renews before the first call of a tab that holds only the refresh token", async () => {
    window.localStorage.setItem("atelier.refresh", "r1");
    const auth = fakeAuth();
    const api = tab(auth.handler, lockManager());
    expect(api.isLoggedIn()).toBe(true);
    expect(api.accessToken()).toBeNull();
    expect((await api.me()).email).toBe("ada@example.com");
    expect(auth.refreshes).toEqual(["r1"]);
    expect(api.accessToken()).toBe("a2");
  });

  it("never sends one refresh token twice when two tabs renew at once", async () => {
    window.localStorage.setItem("atelier.refresh", "r1");
    const auth = fakeAuth();
    const locks = lockManager();
    const [first, second] = [tab(auth.handler, locks), tab(auth.handler, locks)];
    await Promise.all([first.me(), second.me(), first.me()]);
    expect(auth.refreshes).toEqual(["r1", "r2"]);
    expect(window.localStorage.getItem("atelier.refresh")).toBe("r3");
    expect(new Set([first.accessToken(), second.accessToken()])).toEqual(new Set(["a2", "a3"]));
  });

  it("keeps the session when auth cannot be reached, and ends it when auth refuses", async () => {
    window.localStorage.setItem("atelier.refresh", "r1");
    const offline = tab(() => Promise.reject(new TypeError("Failed to fetch")), lockManager());
    await expect(offline.me()).rejects.toMatchObject({ code: "network_error" });
    expect(window.localStorage.getItem("atelier.refresh")).toBe("r1");

    window.localStorage.setItem("atelier.refresh", "stolen-and-reused");
    const refused = tab(fakeAuth().handler, lockManager());
    await expect(refused.me()).rejects.toMatchObject({ code: "session_expired" });
    expect(window.localStorage.getItem("atelier.refresh")).toBeNull();
  });
});

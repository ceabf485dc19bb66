// Renewal when tabs share one session (the refresh token in auth's cookie, which the browser sends
// for every tab): auth revokes the whole session when a rotated refresh token is used again, so no
// two tabs may rotate the same one.
import { describe, expect, it } from "vitest";
import { ApiClient } from "./client";
import { browserTokenStore } from "./tokenStore";
import { json } from "../test/fakeApi";

/** A JWT-shaped access token of session s1 (the store reads its `sid`). */
const access = (n: number) => `h.${btoa(JSON.stringify({ sid: "s1", n })).replace(/=+$/, "")}.s`;

/** A fake auth and browser: the cookie jar every tab shares holds r1; auth rotates it r1 -> r2 ->
 * ... on each refresh (the browser reads the jar when it sends) and refuses any token used twice. */
function fakeAuth(jar = { cookie: "r1" }) {
  let latest = 1;
  const refreshes: string[] = [];
  const handler = async (url: string, init: RequestInit) => {
    if (url === "/api/auth/token/refresh") {
      expect(JSON.parse(String(init.body))).toEqual({}); // the token never passes through the page
      const refresh = jar.cookie;
      refreshes.push(refresh);
      await new Promise((resolve) => setTimeout(resolve, 5)); // long enough for a race to show
      if (refresh !== `r${latest}`) return json(401, { error: { code: "token_revoked", message: "reused" } });
      latest += 1;
      jar.cookie = `r${latest}`;
      return json(200, { access: access(latest) });
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
  it("renews before the first call of a tab that knows only that a session exists", async () => {
    window.localStorage.setItem("atelier.session", "s1");
    const auth = fakeAuth();
    const api = tab(auth.handler, lockManager());
    expect(api.isLoggedIn()).toBe(true);
    expect(api.accessToken()).toBeNull();
    expect((await api.me()).email).toBe("ada@example.com");
    expect(auth.refreshes).toEqual(["r1"]);
    expect(api.accessToken()).toBe(access(2));
  });

  it("never sends one refresh token twice when two tabs renew at once", async () => {
    window.localStorage.setItem("atelier.session", "s1");
    const jar = { cookie: "r1" };
    const auth = fakeAuth(jar);
    const locks = lockManager();
    const [first, second] = [tab(auth.handler, locks), tab(auth.handler, locks)];
    await Promise.all([first.me(), second.me(), first.me()]);
    expect(auth.refreshes).toEqual(["r1", "r2"]);
    expect(jar.cookie).toBe("r3");
    expect(new Set([first.accessToken(), second.accessToken()])).toEqual(new Set([access(2), access(3)]));
  });

  it("without the lock two tabs would present one token twice, and auth would end the session", async () => {
    window.localStorage.setItem("atelier.session", "s1");
    const auth = fakeAuth();
    const noLock = { request: (_name: string, task: () => Promise<unknown>) => task() } as unknown as LockManager;
    const [first, second] = [tab(auth.handler, noLock), tab(auth.handler, noLock)];
    const outcomes = await Promise.allSettled([first.me(), second.me()]);
    expect(auth.refreshes).toEqual(["r1", "r1"]);
    expect(outcomes.map((o) => o.status)).toContain("rejected");
  });

  it("keeps the session when auth cannot be reached, and ends it when auth refuses", async () => {
    window.localStorage.setItem("atelier.session", "s1");
    const offline = tab(() => Promise.reject(new TypeError("Failed to fetch")), lockManager());
    await expect(offline.me()).rejects.toMatchObject({ code: "network_error" });
    expect(window.localStorage.getItem("atelier.session")).toBe("s1");

    const refused = tab(fakeAuth({ cookie: "stolen-and-reused" }).handler, lockManager());
    await expect(refused.me()).rejects.toMatchObject({ code: "session_expired" });
    expect(window.localStorage.getItem("atelier.session")).toBeNull();
  });
});

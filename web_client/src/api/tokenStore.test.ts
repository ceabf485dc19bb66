import { describe, expect, it, vi } from "vitest";
import { IN_COOKIE } from "./client";
import { browserTokenStore, sessionIdOf } from "./tokenStore";

/** A JWT-shaped token naming session `sid` (only the payload matters to the store). */
const token = (sid: string, n = 1) => `h.${btoa(JSON.stringify({ sid, n })).replace(/=+$/, "")}.s`;

describe("browserTokenStore", () => {
  it("keeps no token where scripts can read it: the session's id for every tab, the access token in this one", () => {
    const tab = browserTokenStore(window.localStorage, undefined);
    tab.set({ access: token("s1"), refresh: IN_COOKIE });
    expect(window.localStorage.getItem("atelier.session")).toBe("s1");
    expect(JSON.stringify(window.localStorage)).not.toContain(token("s1"));
    expect(tab.get()).toEqual({ access: token("s1"), refresh: IN_COOKIE });

    // A reload or another tab: logged in, with an access token still to fetch (the cookie renews it).
    expect(browserTokenStore(window.localStorage, undefined).get()).toEqual({ access: "", refresh: IN_COOKIE });
  });

  it("drops this tab's access token when another tab ends the session or starts another", () => {
    const tab = browserTokenStore(window.localStorage, undefined);
    tab.set({ access: token("s1"), refresh: IN_COOKIE });
    browserTokenStore(window.localStorage, undefined).set({ access: token("s1", 2), refresh: IN_COOKIE }); // renewed elsewhere
    expect(tab.get()?.access).toBe(token("s1"));
    window.localStorage.setItem("atelier.session", "s2"); // logged out and in again elsewhere
    expect(tab.get()).toEqual({ access: "", refresh: IN_COOKIE });
    window.localStorage.removeItem("atelier.session");
    expect(tab.get()).toBeNull();
  });

  it("tells when another tab changes the session, and renews under a lock shared by the tabs", async () => {
    const request = vi.fn((_name: string, task: () => Promise<string>) => task());
    const tab = browserTokenStore(window.localStorage, { request } as unknown as LockManager);
    const listener = vi.fn();
    const stop = tab.subscribe(listener);
    window.dispatchEvent(new StorageEvent("storage", { key: "atelier.session" }));
    window.dispatchEvent(new StorageEvent("storage", { key: "something.else" }));
    expect(listener).toHaveBeenCalledTimes(1);
    stop();
    expect(await tab.exclusive!(async () => "renewed")).toBe("renewed");
    expect(request).toHaveBeenCalledWith("atelier.renewal", expect.any(Function));
  });

  it("reads the session id of a token and nothing of a malformed one", () => {
    expect(sessionIdOf(token("abc"))).toBe("abc");
    expect(sessionIdOf("not a token")).toBeNull();
  });
});

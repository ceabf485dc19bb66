import { act, render, screen, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ApiClient } from "./api";
import { browserTokenStore } from "./api/tokenStore";
import { SessionProvider, useSession } from "./session";
import { json } from "./test/fakeApi";

function Probe() {
  const { loggedIn, user, notice } = useSession();
  return <p data-testid="probe">{loggedIn ? `in as ${user?.email ?? "?"} verified=${String(user?.verified)}` : "out"} {notice}</p>;
}

/** This tab's session over the shared browser store, with auth answering /me from `profile`. */
function thisTab(profile: { verified: boolean }) {
  const store = browserTokenStore(window.localStorage, undefined);
  const api = new ApiClient({
    store,
    eventSource: null,
    fetch: async (input) => {
      const url = String(input);
      if (url === "/api/auth/token/refresh") return json(200, { access: "a2" });
      if (url === "/api/auth/me") return json(200, { id: "u1", email: "ada@example.com", tier: "free", ...profile });
      return json(404, { error: { code: "not_found", message: "no" } });
    },
  });
  render(<SessionProvider api={api} store={store}><Probe /></SessionProvider>);
}

/** What the browser does in this tab when another tab writes localStorage. */
function otherTabWrites(key: string, value: string | null) {
  if (value === null) window.localStorage.removeItem(key);
  else window.localStorage.setItem(key, value);
  act(() => void window.dispatchEvent(new StorageEvent("storage", { key, newValue: value })));
}

describe("a session shared by the browser's tabs", () => {
  it("opens logged in where another tab logged in, and follows its log-out and log-in", async () => {
    window.localStorage.setItem("atelier.session", "s1");
    thisTab({ verified: true });
    await waitFor(() => expect(screen.getByTestId("probe").textContent).toContain("in as ada@example.com"));

    otherTabWrites("atelier.session", null);
    expect(screen.getByTestId("probe").textContent).toBe("out You have logged out in another tab.");
    otherTabWrites("atelier.session", "s9");
    await waitFor(() => expect(screen.getByTestId("probe").textContent).toContain("in as ada@example.com"));
  });

  it("drops the verify banner's reason when another tab announces the address is verified", async () => {
    window.localStorage.setItem("atelier.session", "s1");
    const profile = { verified: false };
    thisTab(profile);
    await waitFor(() => expect(screen.getByTestId("probe").textContent).toContain("verified=false"));

    profile.verified = true; // the link was opened in another tab, which read its profile again
    otherTabWrites("atelier.profile", JSON.stringify({ id: "u1", verified: true, tier: "free" }));
    await waitFor(() => expect(screen.getByTestId("probe").textContent).toContain("verified=true"));
  });

  it("reads the profile again when the tab is shown, for a link opened in another browser", async () => {
    window.localStorage.setItem("atelier.session", "s1");
    const profile = { verified: false };
    thisTab(profile);
    await waitFor(() => expect(screen.getByTestId("probe").textContent).toContain("verified=false"));
    profile.verified = true;
    act(() => void document.dispatchEvent(new Event("visibilitychange")));
    await waitFor(() => expect(screen.getByTestId("probe").textContent).toContain("verified=true"));
  });
});

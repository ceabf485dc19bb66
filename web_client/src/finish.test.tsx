import { act, render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { App } from "./App";
import { asSentence } from "./sentences";
import { fakeApi, json } from "./test/fakeApi";

const ME = { id: "u1", email: "ada@example.com", tier: "free", verified: true };
const TOKENS = { access: "a", refresh: "r" };

function member() {
  return fakeApi((url) => {
    if (url === "/api/auth/me") return json(200, ME);
    if (url === "/api/auth/logout") return new Response(null, { status: 204 });
    return json(200, { items: [], next_cursor: null });
  }, TOKENS);
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe("fit and finish", () => {
  it("answers an unknown address with a page that names it and offers ways back", async () => {
    window.history.replaceState(null, "", "/no/such/page");
    render(<App api={fakeApi(() => json(404, {}), null).api} />);
    const page = await screen.findByTestId("not-found");
    expect(page.textContent).toContain("/no/such/page");
    expect(screen.getByRole("heading", { level: 1, name: "Page not found" })).toBeTruthy();
    expect(within(page).getByRole("link", { name: "Log in" }).getAttribute("href")).toBe("/login");
    expect(document.title).toBe("Page not found · Atelier");
    expect(screen.queryByTestId("menu-button")).toBeNull(); // a visitor's three links need no menu
  });

  it("logs out from the header and revokes the refresh token", async () => {
    window.history.replaceState(null, "", "/gallery");
    const { api, calls, store } = member();
    render(<App api={api} />);
    const menu = screen.getByTestId("menu-button");
    expect(menu.getAttribute("aria-expanded")).toBe("false");
    await userEvent.click(menu);
    expect(menu.getAttribute("aria-expanded")).toBe("true");
    await userEvent.click(screen.getByTestId("nav-logout"));
    await waitFor(() => expect(window.location.pathname).toBe("/login"));
    expect(store.value).toBeNull();
    const logout = calls.find((c) => c.url === "/api/auth/logout")!;
    expect(JSON.parse(String(logout.init.body))).toEqual({ refresh: "r" });
    expect(screen.queryByTestId("nav-logout")).toBeNull();
  });

  it("closes the menu when a link is followed or Escape is pressed", async () => {
    window.history.replaceState(null, "", "/gallery");
    render(<App api={member().api} />);
    const menu = screen.getByTestId("menu-button");
    await userEvent.click(menu);
    await userEvent.keyboard("{Escape}");
    expect(menu.getAttribute("aria-expanded")).toBe("false");
    await userEvent.click(menu);
    await userEvent.click(screen.getByRole("link", { name: "Usage" }));
    expect(window.location.pathname).toBe("/usage");
    expect(menu.getAttribute("aria-expanded")).toBe("false");
  });

  it("says a verification link opened again has already done its work", async () => {
    window.history.replaceState(null, "", "/verify?token=used");
    const { api } = fakeApi(() => json(409, { error: { code: "already_verified", message: "this e-mail address is already verified" } }));
    render(<App api={api} />);
    const done = await screen.findByTestId("verify-already");
    expect(done.textContent).toContain("already verified");
    expect(screen.queryByTestId("verify-error")).toBeNull();
    expect(within(done).getByRole("link", { name: "Log in" }).getAttribute("href")).toBe("/login");
  });

  it("shows an invalid link's server message as a sentence", async () => {
    window.history.replaceState(null, "", "/verify?token=bad");
    const { api } = fakeApi(() => json(400, { error: { code: "token_invalid", message: "this link is not valid or has already been used" } }));
    render(<App api={api} />);
    expect((await screen.findByTestId("verify-error")).textContent).toBe("This link is not valid or has already been used.");
  });

  it("tells the person when the browser goes offline and when it is back", async () => {
    window.history.replaceState(null, "", "/login");
    const online = vi.spyOn(navigator, "onLine", "get").mockReturnValue(false);
    render(<App api={fakeApi(() => json(404, {})).api} />);
    act(() => void window.dispatchEvent(new Event("offline")));
    expect(screen.getByTestId("offline-banner").textContent).toContain("You are offline");
    online.mockReturnValue(true);
    act(() => void window.dispatchEvent(new Event("online")));
    expect(screen.queryByTestId("offline-banner")).toBeNull();
  });
});

describe("asSentence", () => {
  it("capitalises and closes a server message, leaving finished sentences alone", () => {
    expect(asSentence("the e-mail address or password is wrong")).toBe("The e-mail address or password is wrong.");
    expect(asSentence("password: This password is too short.")).toBe("Password: This password is too short.");
    expect(asSentence("Try again?")).toBe("Try again?");
    expect(asSentence("")).toBe("");
  });
});

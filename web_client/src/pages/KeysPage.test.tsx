import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { fakeApi, json } from "../test/fakeApi";

const SECRET = "atl_live_" + "x".repeat(40);

describe("API keys page", () => {
  it("creates a key, shows the secret once with a copy button, lists and revokes it", async () => {
    window.history.replaceState(null, "", "/keys");
    const keys: Record<string, unknown>[] = [];
    const { api, calls } = fakeApi((url, init) => {
      if (url === "/api/auth/me") return json(200, { id: "u", email: "p@example.com", tier: "partner", verified: true });
      if (url === "/api/auth/api-keys" && init.method === "POST") {
        const key = { id: "k1", name: JSON.parse(String(init.body)).name, prefix: SECRET.slice(0, 12), scopes: ["jobs:write"], created_at: new Date().toISOString() };
        keys.push(key);
        return json(201, { ...key, secret: SECRET });
      }
      if (url === "/api/auth/api-keys") return json(200, { items: keys });
      if (url === "/api/auth/api-keys/k1" && init.method === "DELETE") {
        keys.splice(0, 1);
        return new Response(null, { status: 204 });
      }
      return json(404, { error: { code: "not_found", message: "no" } });
    }, { access: "a", refresh: "r" });
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    Object.defineProperty(window, "confirm", { value: vi.fn(() => true), configurable: true, writable: true });

    render(<App api={api} />);
    expect(await screen.findByTestId("no-keys")).toBeTruthy();
    await userEvent.click(screen.getByRole("button", { name: "Create key" }));
    expect(screen.getByTestId("key-name-error").textContent).toMatch(/Name the key/);

    await userEvent.type(screen.getByLabelText("Name"), "production");
    await userEvent.click(screen.getByRole("button", { name: "Create key" }));
    const secret = (await screen.findByTestId("new-key-secret")) as HTMLInputElement;
    expect(secret.value).toBe(SECRET);
    expect(JSON.parse(String(calls.find((c) => c.init.method === "POST")!.init.body))).toEqual({ name: "production" });
    await userEvent.click(screen.getByRole("button", { name: "Copy" }));
    expect(writeText).toHaveBeenCalledWith(SECRET);
    expect(screen.getByTestId("copy-status").textContent).toBe("Copied to the clipboard.");
    expect((await screen.findByTestId("key-item")).textContent).toContain(SECRET.slice(0, 12));

    await userEvent.click(screen.getByRole("button", { name: "I have saved it" }));
    expect(screen.queryByTestId("new-key-secret")).toBeNull(); // never shown again
    await userEvent.click(screen.getByRole("button", { name: /Revoke/ }));
    await waitFor(() => expect(screen.getByTestId("no-keys")).toBeTruthy());
    expect(calls.some((c) => c.url === "/api/auth/api-keys/k1" && c.init.method === "DELETE")).toBe(true);
  });

  it("says so when the server has no API keys yet", async () => {
    window.history.replaceState(null, "", "/keys");
    const { api } = fakeApi((url) => url === "/api/auth/me"
      ? json(200, { id: "u", email: "p@example.com", tier: "free", verified: true })
      : json(404, { error: { code: "not_found", message: "Not Found" } }), { access: "a", refresh: "r" });
    render(<App api={api} />);
    expect((await screen.findByTestId("unavailable")).textContent).toBe("API keys is not available on this server yet.");
  });
});

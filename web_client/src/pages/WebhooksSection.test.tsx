import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { fakeApi, json } from "../test/fakeApi";

const SECRET = "whsec_" + "s".repeat(43);
const ROTATED = "whsec_" + "r".repeat(43);
const ME = { id: "u", email: "p@example.com", tier: "partner", verified: true };

function endpointOf(url: string, extra: Record<string, unknown> = {}) {
  return { id: "w1", url, description: "", status: "active", disabled_reason: null, created_at: new Date().toISOString(), secret_rotated_at: null, ...extra };
}

describe("Webhooks on the API keys page", () => {
  it("adds an endpoint, shows its secret once, tests it, shows the log, rotates and removes it", async () => {
    window.history.replaceState(null, "", "/keys");
    let endpoints: Record<string, unknown>[] = [];
    const log: Record<string, unknown>[] = [];
    const { api, calls } = fakeApi((url, init) => {
      if (url === "/api/auth/me") return json(200, ME);
      if (url === "/api/auth/api-keys") return json(200, { items: [] });
      if (url === "/api/v1/webhooks" && init.method === "POST") {
        const body = JSON.parse(String(init.body));
        if (body.url.includes("127.0.0.1")) {
          return json(422, { error: { code: "url_not_allowed", message: "webhooks cannot be sent there: 127.0.0.1 is a loopback address",
            fields: { url: ["webhooks cannot be sent there: 127.0.0.1 is a loopback address"] } } });
        }
        const made = endpointOf(body.url, { description: body.description });
        endpoints = [made];
        return json(201, { ...made, secret: SECRET });
      }
      if (url === "/api/v1/webhooks") return json(200, { items: endpoints, limit: 5 });
      if (url === "/api/v1/webhooks/w1/test" && init.method === "POST") {
        const delivery = { id: "d1", event: "ping", job_id: null, status: "delivered", attempts: 1, status_code: 200, error: null,
          duration_ms: 12.5, next_attempt_at: null, last_attempt_at: new Date().toISOString(), delivered_at: new Date().toISOString(),
          created_at: new Date().toISOString() };
        log.unshift(delivery, { ...delivery, id: "d0", event: "job.failed", job_id: "j1", status: "pending", status_code: 500,
          error: "HTTP 500: boom", delivered_at: null, next_attempt_at: new Date(Date.now() + 60_000).toISOString() });
        return json(202, { ...delivery, status: "pending", attempts: 0 });
      }
      if (url === "/api/v1/webhooks/w1/deliveries") return json(200, { items: log, next_cursor: null });
      if (url === "/api/v1/webhooks/w1/rotate-secret" && init.method === "POST") {
        endpoints = [{ ...endpoints[0], secret_rotated_at: new Date().toISOString() }];
        return json(200, { ...endpoints[0], secret: ROTATED });
      }
      if (url === "/api/v1/webhooks/w1" && init.method === "DELETE") {
        endpoints = [];
        return new Response(null, { status: 204 });
      }
      return json(404, { error: { code: "not_found", message: "no" } });
    }, { access: "a", refresh: "r" });
    const writeText = vi.fn().mockResolvedValue(undefined);
    Object.defineProperty(navigator, "clipboard", { value: { writeText }, configurable: true });
    Object.defineProperty(window, "confirm", { value: vi.fn(() => true), configurable: true, writable: true });

    render(<App api={api} />);
    const section = await screen.findByTestId("webhooks");
    expect(await within(section).findByTestId("no-webhooks")).toBeTruthy();

    // Checked here first; the server's refusal is shown on the field.
    await userEvent.type(within(section).getByLabelText("Endpoint URL"), "example.com/hooks");
    await userEvent.click(within(section).getByRole("button", { name: "Add endpoint" }));
    expect(screen.getByTestId("webhook-url-error").textContent).toMatch(/https:\/\//);
    await userEvent.clear(within(section).getByLabelText("Endpoint URL"));
    await userEvent.type(within(section).getByLabelText("Endpoint URL"), "http://127.0.0.1/hook");
    await userEvent.click(within(section).getByRole("button", { name: "Add endpoint" }));
    expect((await screen.findByTestId("webhook-url-error")).textContent).toMatch(/loopback/);

    await userEvent.clear(within(section).getByLabelText("Endpoint URL"));
    await userEvent.type(within(section).getByLabelText("Endpoint URL"), "https://partner.example/hooks");
    await userEvent.type(within(section).getByLabelText("Description (optional)"), "production");
    await userEvent.click(within(section).getByRole("button", { name: "Add endpoint" }));
    const secret = (await screen.findByTestId("webhook-secret")) as HTMLInputElement;
    expect(secret.value).toBe(SECRET);
    expect(JSON.parse(String(calls.filter((c) => c.url === "/api/v1/webhooks" && c.init.method === "POST").at(-1)!.init.body)))
      .toEqual({ url: "https://partner.example/hooks", description: "production" });
    await userEvent.click(screen.getByTestId("copy-webhook-secret"));
    expect(writeText).toHaveBeenCalledWith(SECRET);
    await userEvent.click(screen.getByRole("button", { name: "I have saved it" }));
    expect(screen.queryByTestId("webhook-secret")).toBeNull(); // never shown again
    const item = await screen.findByTestId("webhook-item");
    expect(item.textContent).toContain("https://partner.example/hooks");
    expect(item.textContent).toContain("production");

    await userEvent.click(within(item).getByTestId("test-webhook"));
    expect((await screen.findByTestId("webhook-status")).textContent).toMatch(/Test event queued/);
    const rows = await screen.findAllByTestId("delivery");
    expect(rows).toHaveLength(2);
    expect(rows[0].textContent).toContain("ping");
    expect(rows[0].textContent).toContain("HTTP 200");
    expect(rows[1].textContent).toMatch(/retrying/);
    expect(within(rows[1]).getByTestId("delivery-error").textContent).toBe("HTTP 500: boom");

    await userEvent.click(within(item).getByTestId("rotate-webhook"));
    expect(((await screen.findByTestId("webhook-secret")) as HTMLInputElement).value).toBe(ROTATED);
    expect(screen.getByTestId("webhook-secret-card").textContent).toMatch(/old secret no longer signs/);

    await userEvent.click(within(await screen.findByTestId("webhook-item")).getByTestId("delete-webhook"));
    await waitFor(() => expect(screen.getByTestId("no-webhooks")).toBeTruthy());
    expect(calls.some((c) => c.url === "/api/v1/webhooks/w1" && c.init.method === "DELETE")).toBe(true);
  });

  it("shows a disabled endpoint with its reason and no test button", async () => {
    window.history.replaceState(null, "", "/keys");
    const { api } = fakeApi((url) => {
      if (url === "/api/auth/me") return json(200, ME);
      if (url === "/api/auth/api-keys") return json(200, { items: [] });
      if (url === "/api/v1/webhooks") {
        return json(200, { items: [endpointOf("https://gone.example/h", { status: "disabled", disabled_reason: "the receiver answered 410 Gone" })], limit: 1 });
      }
      return json(404, { error: { code: "not_found", message: "no" } });
    }, { access: "a", refresh: "r" });
    render(<App api={api} />);
    const item = await screen.findByTestId("webhook-item");
    expect(within(item).getByTestId("webhook-state").textContent).toBe("disabled");
    expect(item.textContent).toContain("410 Gone");
    expect((within(item).getByTestId("test-webhook") as HTMLButtonElement).disabled).toBe(true);
    // At the limit, adding is off and says why.
    expect((screen.getByTestId("add-webhook") as HTMLButtonElement).disabled).toBe(true);
  });

  it("asks for the webhooks permission on a key only when ticked", async () => {
    window.history.replaceState(null, "", "/keys");
    const { api, calls } = fakeApi((url, init) => {
      if (url === "/api/auth/me") return json(200, ME);
      if (url === "/api/auth/api-keys" && init.method === "POST") {
        return json(201, { id: "k1", name: "n", prefix: "atl_live_abc", scopes: [], created_at: new Date().toISOString(), secret: "atl_live_" + "x".repeat(40) });
      }
      if (url === "/api/auth/api-keys") return json(200, { items: [] });
      if (url === "/api/v1/webhooks") return json(200, { items: [], limit: 5 });
      return json(404, { error: { code: "not_found", message: "no" } });
    }, { access: "a", refresh: "r" });
    render(<App api={api} />);
    await userEvent.type(await screen.findByLabelText("Name"), "hooks");
    await userEvent.click(screen.getByLabelText("webhooks:manage"));
    await userEvent.click(screen.getByRole("button", { name: "Create key" }));
    await screen.findByTestId("new-key-secret");
    const body = JSON.parse(String(calls.find((c) => c.url === "/api/auth/api-keys" && c.init.method === "POST")!.init.body));
    expect(body).toEqual({ name: "hooks", scopes: ["jobs:write", "jobs:read", "images:read", "usage:read", "webhooks:manage"] });
  });
});

import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { App } from "../App";
import { fakeApi, json } from "../test/fakeApi";

const ME = { id: "u1", email: "ada@example.com", tier: "free", verified: true };
const image = (n: number) => ({
  id: `i${n}`, job_id: "j", url: `/files/${n}.png`, seed: 100 + n, width: 256, height: 256,
  params: { prompt: `prompt ${n}`, steps: 12, guidance: 7, scheduler: "ddim" }, created_at: "2026-11-23T10:00:00Z",
});

describe("Gallery", () => {
  it("pages through the history with parameters and seeds, and deletes an image", async () => {
    window.history.replaceState(null, "", "/gallery");
    Object.defineProperty(window, "confirm", { value: vi.fn(() => true), configurable: true, writable: true });
    const { api, calls } = fakeApi((url, init) => {
      if (url === "/api/auth/me") return json(200, ME);
      if (url === "/api/v1/images/i1" && init.method === "DELETE") return new Response(null, { status: 204 });
      if (url.startsWith("/api/v1/images?") && url.includes("cursor=c2")) return json(200, { items: [image(3)], next_cursor: null });
      if (url.startsWith("/api/v1/images?")) return json(200, { items: [image(1), image(2)], next_cursor: "c2" });
      return json(404, { error: { code: "not_found", message: "no" } });
    }, { access: "a", refresh: "r" });
    render(<App api={api} />);
    expect(await screen.findAllByTestId("gallery-item")).toHaveLength(2);
    expect(screen.getAllByTestId("gallery-seed").map((s) => s.textContent)).toEqual(["101", "102"]);

    await userEvent.click(screen.getByRole("button", { name: /Delete image with seed 101/ }));
    await waitFor(() => expect(screen.getAllByTestId("gallery-item")).toHaveLength(1));
    expect(screen.getByTestId("gallery-status").textContent).toBe("Image deleted.");
    expect(calls.some((c) => c.url === "/api/v1/images/i1" && c.init.method === "DELETE")).toBe(true);

    await userEvent.click(screen.getByRole("button", { name: "Older" }));
    await waitFor(() => expect(screen.getAllByTestId("gallery-seed").map((s) => s.textContent)).toEqual(["103"]));
    expect((screen.getByRole("button", { name: "Older" }) as HTMLButtonElement).disabled).toBe(true);
  });
});

describe("Billing", () => {
  it("thanks the buyer after checkout and shows the subscription, invoices and credits", async () => {
    window.history.replaceState(null, "", "/billing?checkout=success");
    const { api } = fakeApi((url) => {
      if (url === "/api/auth/me") return json(200, ME);
      if (url === "/api/payments/subscription/") {
        return json(200, { subscription: { id: "s", plan: "pro-monthly", tier: "pro", status: "active", cancel_at_period_end: false,
          current_period_end: "2026-12-23T00:00:00Z", current_period_start: "2026-11-23T00:00:00Z", canceled_at: null, created_at: "2026-11-23T00:00:00Z" } });
      }
      if (url.startsWith("/api/payments/invoices/")) {
        return json(200, { items: [{ id: "p1", description: "Pro subscription", amount_cents: 1200, currency: "usd", status: "paid", paid_at: "2026-11-23T00:00:00Z", credits: 0, refunded_cents: 0 }] });
      }
      if (url.startsWith("/api/payments/ledger/")) return json(200, { items: [], credit_balance: 250, page: 1, page_size: 50, total: 0, has_more: false });
      return json(404, { error: { code: "not_found", message: "no" } });
    }, { access: "a", refresh: "r" });
    render(<App api={api} />);
    expect((await screen.findByTestId("checkout-success")).textContent).toMatch(/payment went through/);
    expect((await screen.findByTestId("subscription-plan")).textContent).toBe("pro-monthly (pro)");
    expect(screen.getByRole("button", { name: "Cancel subscription" })).toBeTruthy();
    expect((await screen.findByTestId("invoices")).textContent).toContain("$12.00");
    expect((await screen.findByTestId("credit-balance")).textContent).toBe("Credit balance: 250");
  });
});

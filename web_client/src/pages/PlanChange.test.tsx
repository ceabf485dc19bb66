import { render, screen, waitFor, within } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { fakeApi, json } from "../test/fakeApi";

const PLANS = {
  plans: [
    { code: "free", name: "Free", tier: "free", price_cents: 0, currency: "USD", interval: "month" },
    { code: "pro-monthly", name: "Pro", tier: "pro", price_cents: 1200, currency: "USD", interval: "month" },
    { code: "partner-monthly", name: "Partner", tier: "partner", price_cents: 9900, currency: "USD", interval: "month" },
  ],
  credit_packs: [],
};
const subscription = (plan: string, tier: string, status = "active") => ({
  id: "s1", plan, tier, status, cancel_at_period_end: status === "canceled", current_period_start: "2026-11-20T00:00:00Z",
  current_period_end: "2026-12-20T00:00:00Z", canceled_at: null, created_at: "2026-11-20T00:00:00Z",
});
const QUOTE = {
  plan: "partner-monthly", tier: "partner", current_plan: "pro-monthly", currency: "USD", unused_credit_cents: 600,
  remaining_charge_cents: 4950, account_credit_applied_cents: 0, amount_due_cents: 4350, account_credit_added_cents: 0,
  next_price_cents: 9900, next_billing_at: "2026-12-20T00:00:00Z", proration_date: "2026-12-05T00:00:00Z",
};

/** A subscriber on Pro; auth learns the new tier only after the change (as its event would). */
function subscriber(path: string, { status = "active", refuse = false } = {}) {
  window.history.replaceState(null, "", path);
  const state = { plan: "pro-monthly", tier: "pro", changes: [] as unknown[] };
  const fake = fakeApi((url, init) => {
    if (url === "/api/auth/me") return json(200, { id: "u1", email: "ada@example.com", tier: state.tier, verified: true });
    if (url === "/api/auth/token/refresh") return json(200, { access: "a2", refresh: "r2" });
    if (url.startsWith("/api/payments/plans")) return json(200, PLANS);
    if (url === "/api/v1/tiers") return json(404, { error: { code: "not_found", message: "no" } });
    if (url === "/api/payments/subscription/") return json(200, { subscription: subscription(state.plan, state.tier, status) });
    if (url.startsWith("/api/payments/subscription/change-preview/")) {
      return url.includes("plan=partner-monthly") ? json(200, QUOTE) : json(400, { error: { code: "validation_error", message: "plan" } });
    }
    if (url === "/api/payments/subscription/change/" && init.method === "POST") {
      state.changes.push(JSON.parse(String(init.body)));
      if (refuse) return json(402, { error: { code: "plan_change_declined", message: "the payment provider refused the change: Your card was declined." } });
      Object.assign(state, { plan: "partner-monthly", tier: "partner" });
      return json(200, { subscription: subscription(state.plan, state.tier), invoice: {
        id: "p2", description: "Partner (prorated change from Pro)", amount_cents: 4350, refunded_cents: 0, currency: "USD",
        credits: 0, status: "paid", period_start: null, period_end: null, paid_at: "2026-12-05T00:00:00Z" } });
    }
    if (url.startsWith("/api/payments/invoices/")) {
      return json(200, { items: state.plan === "pro-monthly" ? [] : [{ id: "p2", description: "Partner (prorated change from Pro)",
        amount_cents: 4350, refunded_cents: 0, currency: "USD", credits: 0, status: "paid", paid_at: "2026-12-05T00:00:00Z" }],
      page: 1, page_size: 50, total: 1, has_more: false });
    }
    if (url.startsWith("/api/payments/ledger/")) return json(200, { items: [], credit_balance: 0, page: 1, page_size: 50, total: 0, has_more: false });
    return json(404, { error: { code: "not_found", message: "no" } });
  }, { access: "a", refresh: "r" });
  return { ...fake, state };
}

describe("Changing plan", () => {
  it("on billing: shows the prorated amount due, switches on confirm, and the page and header follow without a reload", async () => {
    const { api, state } = subscriber("/billing");
    render(<App api={api} />);
    expect((await screen.findByTestId("user-chip")).textContent).toContain("· pro");
    await userEvent.click(await screen.findByTestId("switch-partner-monthly"));
    const panel = await screen.findByTestId("plan-change");
    expect((await within(panel).findByTestId("change-amount-due")).textContent).toBe("$43.50");
    expect(panel.textContent).toContain("Credit for the unused part of Pro");
    expect(document.activeElement?.id).toBe("plan-change-title"); // focus moved to what opened
    expect(state.changes).toEqual([]); // a preview changes nothing
    await userEvent.click(within(panel).getByRole("button", { name: "Pay $43.50 and switch" }));
    expect(state.changes).toEqual([{ plan: "partner-monthly" }]);
    await waitFor(() => expect(screen.getByTestId("subscription-plan").textContent).toBe("partner-monthly (partner)"));
    expect(screen.getByTestId("plan-changed").textContent).toContain("You are now on Partner");
    expect(screen.queryByTestId("plan-change")).toBeNull();
    await waitFor(() => expect(screen.getByTestId("user-chip").textContent).toContain("· partner"));
    expect((await screen.findByTestId("invoices")).textContent).toContain("$43.50");
    expect(screen.getByTestId("switch-pro-monthly")).toBeTruthy(); // and back again
  });

  it("on billing: a refused change says why and changes nothing", async () => {
    const { api } = subscriber("/billing", { refuse: true });
    render(<App api={api} />);
    await userEvent.click(await screen.findByTestId("switch-partner-monthly"));
    await userEvent.click(await screen.findByRole("button", { name: "Pay $43.50 and switch" }));
    expect((await screen.findByTestId("error-banner")).textContent).toMatch(/card was declined/);
    expect(screen.getByTestId("subscription-plan").textContent).toBe("pro-monthly (pro)");
    await userEvent.click(screen.getByTestId("keep-plan"));
    expect(screen.queryByTestId("plan-change")).toBeNull();
  });

  it("on pricing: a subscriber is offered a switch, not a second subscription", async () => {
    const { api } = subscriber("/pricing");
    render(<App api={api} />);
    const button = await screen.findByTestId("switch-partner-monthly");
    expect(button.textContent).toBe("Switch to Partner");
    expect(screen.queryByTestId("buy-partner-monthly")).toBeNull();
    expect(within(screen.getByTestId("plan-pro-monthly")).getByTestId("current-plan")).toBeTruthy();
    await userEvent.click(button);
    expect((await screen.findByTestId("change-amount-due")).textContent).toBe("$43.50");
    await userEvent.click(screen.getByTestId("confirm-change"));
    await waitFor(() => expect(window.location.pathname).toBe("/billing"));
    expect((await screen.findByTestId("plan-changed")).textContent).toContain("You are now on Partner");
  });

  it("on pricing: a canceled subscription is told to resume before switching", async () => {
    const { api } = subscriber("/pricing", { status: "canceled" });
    render(<App api={api} />);
    expect((await screen.findByTestId("resume-to-switch")).textContent).toMatch(/Resume it on the billing page/);
    expect(screen.queryByTestId("switch-partner-monthly")).toBeNull();
  });
});

import { render, screen } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { fakeApi, json } from "../test/fakeApi";

const PLANS = {
  plans: [
    { code: "free", name: "Free", tier: "free", price_cents: 0, currency: "usd", interval: "month" },
    { code: "pro-monthly", name: "Pro", tier: "pro", price_cents: 1200, currency: "usd", interval: "month" },
  ],
  credit_packs: [{ code: "credits-100", name: "100 credits", credits: 100, price_cents: 500, currency: "usd" }],
};
const TIERS = {
  cost_unit: { width: 512, height: 512, steps: 30 },
  tiers: [
    { tier: "free", cost_units_per_minute: 5, images_per_day: 50, max_width: 512, max_height: 512, max_steps: 30, max_n: 4, concurrency: 1, priority: 1, per_key: false },
    { tier: "pro", cost_units_per_minute: 60, images_per_day: 2000, max_width: 1024, max_height: 1024, max_steps: 50, max_n: 4, concurrency: 4, priority: 5, per_key: false },
  ],
};

function visitor(path: string) {
  window.history.replaceState(null, "", path);
  const { api } = fakeApi((url) => {
    if (url.startsWith("/api/payments/plans")) return json(200, PLANS);
    if (url === "/api/v1/tiers") return json(200, TIERS);
    return json(404, { error: { code: "not_found", message: "no" } });
  }, null);
  render(<App api={api} />);
}

describe("the front page", () => {
  it("shows a visitor what Atelier is and what each plan gives before asking them to sign up", async () => {
    visitor("/");
    expect(await screen.findByTestId("landing")).toBeTruthy();
    const pro = await screen.findByTestId("plan-facts-pro-monthly");
    expect(pro.textContent).toContain("Images up to 1024×1024 px, up to 50 steps");
    expect(pro.textContent).toContain("2,000 images a day");
    expect(pro.textContent).toContain("60 cost units a minute");
    expect(pro.textContent).toContain("Priority in the queue");
    expect(screen.getByTestId("plan-facts-free").textContent).toContain("1 job at a time");
    expect(screen.getByTestId("landing-signup").getAttribute("href")).toBe("/signup");
    expect(screen.queryByTestId("buy-pro-monthly")).toBeNull(); // the front page sells nothing yet
  });

  it("pricing explains credits and marks no plan for a visitor", async () => {
    visitor("/pricing");
    expect((await screen.findByTestId("plan-credits-100")).textContent).toContain("one image beyond your plan's daily allowance");
    expect(await screen.findByTestId("plan-facts-pro-monthly")).toBeTruthy();
    expect(screen.queryByTestId("current-plan")).toBeNull();
  });
});

// The "plans" browser flow: subscribe through the sandbox checkout, then change plan without
// canceling. Pricing offers a switch (not a second subscription) with the prorated amount due now
// before the confirm; after it the billing page and the header show the new plan with no reload.
// A downgrade from billing shows the credit kept for the next invoices instead of a charge.
import { BASE_URL, Unsupported, loaded, newVerifiedUser } from "./lib.mjs";

/** "$43.50" -> 4350 */
const cents = (text) => Math.round(Number(text.replace(/[^0-9.]/g, "")) * 100);

async function subscribe(page, step, code) {
  step(`subscribing to ${code} through the sandbox checkout`);
  await page.goto(`${BASE_URL}/pricing`);
  await loaded(page, `buy-${code}`, "pricing");
  await page.getByTestId(`buy-${code}`).click();
  await page.locator("#card_number").fill("4242424242424242");
  await page.getByRole("button", { name: /Pay/ }).click();
  await page.waitForURL(/\/billing\?checkout=success/, { timeout: 30_000 });
  if (!page.url().startsWith(BASE_URL)) await page.goto(`${BASE_URL}/billing?checkout=success`);
  await page.getByTestId("subscription-plan").getByText(`${code} (`).waitFor({ timeout: 30_000 });
}

/** The header and the billing page agree on the plan, without the page having been reloaded. */
async function showsPlan(page, code, tier) {
  await page.getByTestId("subscription-plan").getByText(`${code} (${tier})`).waitFor({ timeout: 15_000 });
  // The tier reaches auth by events; the page renews the token and the profile by itself.
  await page.getByTestId("user-chip").getByText(`· ${tier}`).waitFor({ timeout: 30_000 });
  if (!(await page.evaluate(() => window.__sameDocument === true))) throw new Error("the page was reloaded");
}

export async function plans({ page, step, shot }) {
  await newVerifiedUser(page, step);
  await subscribe(page, step, "pro-monthly");
  await page.getByTestId("user-chip").getByText("· pro").waitFor({ timeout: 30_000 });

  step("pricing offers the other paid plan as a switch, with its prorated price before any confirm");
  await page.goto(`${BASE_URL}/pricing`);
  await page.evaluate(() => { window.__sameDocument = true; });
  await loaded(page, "switch-partner-monthly", "pricing for a subscriber").catch(async (error) => {
    if (await page.getByTestId("buy-partner-monthly").count()) throw new Unsupported("pricing offers no plan switch");
    throw error;
  });
  if (await page.getByTestId("buy-partner-monthly").count()) throw new Error("pricing offers a second subscription");
  await page.getByTestId("switch-partner-monthly").click();
  const due = page.getByTestId("change-amount-due");
  await due.waitFor();
  const upgrade = cents(await due.innerText());
  // Right after subscribing nearly the whole period is left: close to the full difference.
  if (!(upgrade > 8000 && upgrade <= 8700)) throw new Error(`switching Pro -> Partner costs ${await due.innerText()} now`);
  console.log(`[e2e:plans] Pro -> Partner due now: ${await due.innerText()}`);
  await shot("switch-preview");

  step("confirming: the billing page and the header show Partner without a reload");
  await page.getByTestId("confirm-change").click();
  await page.waitForURL(/\/billing\?changed=partner-monthly/);
  await page.getByTestId("plan-changed").waitFor();
  await showsPlan(page, "partner-monthly", "partner");
  await page.getByTestId("invoices").getByText(/prorated change from Pro/).waitFor({ timeout: 15_000 });
  const charged = cents(await page.getByTestId("invoices").locator("tr", { hasText: "prorated change from Pro" })
    .locator('[data-label="Amount"]').innerText());
  if (Math.abs(charged - upgrade) > 1) throw new Error(`the invoice says ${charged} cents, the preview ${upgrade}`);
  await shot("switched");

  step("downgrading from billing: nothing due now, the difference kept as credit");
  await page.getByTestId("switch-pro-monthly").click();
  await page.getByTestId("change-credit").waitFor();
  if (cents(await page.getByTestId("change-amount-due").innerText()) !== 0) throw new Error("a downgrade charges the card");
  console.log(`[e2e:plans] Partner -> Pro credit kept: ${await page.getByTestId("change-credit").innerText()}`);
  await shot("downgrade-preview");
  const confirm = page.getByTestId("confirm-change");
  if ((await confirm.innerText()).trim() !== "Switch to Pro") throw new Error(`the downgrade's confirm reads "${await confirm.innerText()}"`);
  await confirm.click();
  await showsPlan(page, "pro-monthly", "pro");
  await page.getByTestId("ledger").getByText(/prorated change from Partner/).first().waitFor({ timeout: 15_000 });
  await shot("downgraded");
}

// End-to-end flows through the SPA in headless Chromium, against a running platform.
//
//   BASE_URL=http://localhost:8000 ATELIER_MAIL_DIR=var/mail SCREENSHOT_DIR=test-results \
//     node e2e/flows.mjs account|generate|billing|keys|finish|jobs|gallery|edit|preview|plans|webhooks|loras
//
// Exit 0: passed; 1: failed; 3: the platform lacks a route this flow needs (the pytest wrapper skips).
import path from "node:path";
import {
  BASE_URL, JOB_TIMEOUT_MS, SCREENSHOT_DIR, Unsupported, fillCredentials, loaded, mailedLink, newVerifiedUser, outcome, runFlow,
} from "./lib.mjs";
import { edit } from "./editFlow.mjs";
import { gallery } from "./galleryFlow.mjs";
import { jobs } from "./jobsFlow.mjs";
import { loras } from "./lorasFlow.mjs";
import { plans } from "./plansFlow.mjs";
import { preview } from "./previewFlow.mjs";
import { webhooks } from "./webhooksFlow.mjs";

async function login(page, user) {
  await page.goto(`${BASE_URL}/login`);
  await fillCredentials(page, user);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/generate$/);
}

/** Sign up, verify, account page, change password, log out, reset the password, delete the account. */
async function account({ page, step, shot }) {
  step("opening the sign-up page");
  await page.goto(`${BASE_URL}/signup`);
  await shot("signup");
  const user = await newVerifiedUser(page, step);
  step("opening the account page");
  await page.getByRole("link", { name: "Account" }).click();
  await page.getByTestId("profile-email").waitFor();
  if ((await page.getByTestId("profile-verified").innerText()).trim() !== "Yes") throw new Error("the account is not verified");
  await shot("account");

  step("changing the password");
  const changed = `${user.password}-2`;
  await page.getByLabel("Current password").fill(user.password);
  await page.getByLabel("New password").fill(changed);
  await page.getByRole("button", { name: "Change password" }).click();
  await outcome(page, "password-changed");

  step("logging out");
  await page.getByTestId("logout-button").click();
  await page.waitForURL(/\/login/);
  await page.getByText("You have logged out.").waitFor();
  await page.goto(`${BASE_URL}/generate`);
  await page.waitForURL(/\/login\?next=%2Fgenerate/); // the session is really gone

  step("requesting a password reset");
  await page.goto(`${BASE_URL}/reset-password`);
  await page.getByTestId("reset-email-input").fill(user.email);
  await page.getByTestId("reset-submit").click();
  await outcome(page, "reset-done");
  await shot("reset-requested", { phone: false });
  step("following the reset e-mail");
  await page.goto(await mailedLink(user.email, "/reset-password"));
  const reset = `${user.password}-reset`;
  await page.getByTestId("new-password-input").fill(reset);
  await page.getByTestId("reset-submit").click();
  await outcome(page, "reset-done");
  await shot("reset-done", { phone: false });

  step("logging in with the new password; the old one is refused");
  await page.goto(`${BASE_URL}/login`);
  await fillCredentials(page, { email: user.email, password: changed });
  await page.getByRole("button", { name: "Log in" }).click();
  await outcome(page, "error-banner", []);
  await shot("login-refused", { phone: false });
  await login(page, { email: user.email, password: reset });

  step("deleting the account");
  await page.goto(`${BASE_URL}/account`);
  await page.getByTestId("delete-password").fill(reset);
  await page.getByTestId("delete-confirm").check();
  await shot("delete", { phone: false });
  await page.getByTestId("delete-account").click();
  await page.waitForURL(/\/login$/);
  await page.getByText("Your account and its images have been deleted.").waitFor();
  await fillCredentials(page, { email: user.email, password: reset });
  await page.getByRole("button", { name: "Log in" }).click();
  await outcome(page, "error-banner", []);
}

/** Watches the job's status line and remembers every phase and text it showed. */
async function recordPhases(page) {
  await page.evaluate(() => {
    window.__phases = [];
    const seen = () => {
      const el = document.querySelector('[data-testid="job-status"]');
      if (el) {
        const entry = `${el.getAttribute("data-phase")}|${el.textContent}`;
        if (window.__phases.at(-1) !== entry) window.__phases.push(entry);
      }
    };
    new MutationObserver(seen).observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
}

/** Generate with live progress, result grid, reuse, cancel, 429 countdown, gallery delete. */
async function generate({ page, step, shot }) {
  await newVerifiedUser(page, step);
  step("reading the tier's limits on the form");
  const limits = await page.getByTestId("tier-limits").innerText().catch(() => null);
  if (limits) console.log(`[e2e:generate] ${limits}`);
  await page.getByTestId("prompt-input").fill("a lighthouse on a cliff at dusk, oil painting");
  await page.getByTestId("negative-prompt-input").fill("blurry");
  await page.getByTestId("steps-input").fill("20");
  await page.getByTestId("n-input").fill("2");
  await page.getByTestId("seed-fixed").check();
  await page.getByTestId("seed-input").fill("1234");
  await shot("form");
  await recordPhases(page);

  step("generating and following its progress");
  await page.getByTestId("generate-button").click();
  await outcome(page, "generated-image", ["job-error", "error-banner"], JOB_TIMEOUT_MS);
  await page.locator('[data-testid="job-status"][data-status="succeeded"]').waitFor({ timeout: JOB_TIMEOUT_MS });
  const phases = await page.evaluate(() => window.__phases);
  console.log(`[e2e:generate] status line showed: ${phases.map((p) => p.split("|")[1]).join(" → ")}`);
  if (!phases.some((p) => p.startsWith("succeeded"))) throw new Error("never showed the finished state");
  const images = page.getByTestId("generated-image");
  if ((await images.count()) !== 2) throw new Error(`expected 2 images, got ${await images.count()}`);
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="generated-image"]')]
    .every((img) => img.complete && img.naturalWidth > 0));
  const seeds = await page.getByTestId("image-seed").allInnerTexts();
  console.log(`[e2e:generate] seeds ${seeds.join(", ")}`);
  await shot("result");

  step("downloading an image");
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("download-link").first().click()]);
  if (!(await download.suggestedFilename()).endsWith(".png")) throw new Error(`odd download name ${download.suggestedFilename()}`);

  step("using these settings again");
  await page.getByTestId("reuse-button").nth(1).click();
  await page.waitForFunction((seed) => document.querySelector('[data-testid="seed-input"]')?.value === seed, seeds[1])
    .catch(() => { throw new Error("the seed was not reused"); });
  if ((await page.getByTestId("steps-input").inputValue()) !== "20") throw new Error("the steps were not reused");
  if ((await page.getByTestId("negative-prompt-input").inputValue()) !== "blurry") throw new Error("the negative prompt was not reused");

  step("starting a long job and canceling it");
  await page.getByTestId("steps-input").fill(String(await page.getByTestId("steps-input").getAttribute("max")));
  await page.getByTestId("n-input").fill("4");
  await page.getByTestId("generate-button").click();
  await page.getByTestId("cancel-button").click({ timeout: JOB_TIMEOUT_MS });
  const ended = await Promise.race([
    page.locator('[data-testid="job-status"][data-status="canceled"]').waitFor({ timeout: JOB_TIMEOUT_MS }).then(() => "canceled"),
    page.locator('[data-testid="job-status"][data-status="succeeded"]').waitFor({ timeout: JOB_TIMEOUT_MS }).then(() => "succeeded"),
    page.getByText("Canceling is not available on this server yet.").waitFor({ timeout: JOB_TIMEOUT_MS }).then(() => "unavailable"),
  ]);
  if (ended === "unavailable") throw new Unsupported("DELETE /api/v1/jobs/{id} is missing");
  if (ended !== "canceled") throw new Error(`the job ${ended} instead of being canceled`);
  await shot("canceled", { phone: false });

  step("opening the gallery and deleting an image");
  await page.getByRole("link", { name: "Gallery" }).click();
  await loaded(page, "gallery-item", "the gallery");
  const before = await page.getByTestId("gallery-item").count();
  await shot("gallery");
  const fallback = await page.getByTestId("gallery-fallback").isVisible();
  if (fallback) throw new Unsupported("GET /api/v1/images is missing; the gallery shows job history without delete");
  await page.getByTestId("gallery-delete").first().click();
  await page.getByTestId("gallery-status").getByText("Image deleted.").waitFor();
  await page.reload();
  await page.getByTestId("gallery-item").first().waitFor();
  const after = await page.getByTestId("gallery-item").count();
  if (after !== before - 1) throw new Error(`the gallery had ${before} images, ${after} after deleting one`);

  step("going over the rate limit");
  await page.getByRole("link", { name: "Generate" }).click();
  await page.getByTestId("prompt-input").fill("a small red fox");
  await page.getByTestId("steps-input").fill("2");
  // Free plans allow a few requests a minute: submit (canceling what is still queued, since the
  // form takes one job at a time) until the API answers 429.
  for (let i = 0; i < 12 && !(await page.getByTestId("rate-limit").isVisible()); i++) {
    const cancel = page.getByTestId("cancel-button");
    if (await cancel.isVisible()) {
      // A two-step job may finish between seeing the button and the click landing: either end is
      // fine here, as long as the job ends and the form takes the next one.
      await cancel.click({ timeout: 2000 }).catch(() => {});
      await page.locator('[data-testid="job-status"]:is([data-status="canceled"], [data-status="succeeded"], [data-status="failed"])')
        .waitFor({ timeout: JOB_TIMEOUT_MS });
    }
    await page.getByTestId("generate-button").click();
    await page.waitForTimeout(400);
  }
  await page.getByTestId("rate-limit").waitFor();
  const first = await page.getByTestId("countdown").innerText();
  await page.waitForTimeout(2100);
  const later = await page.getByTestId("countdown").innerText();
  console.log(`[e2e:generate] 429 countdown ${first} → ${later}`);
  if (parseInt(later, 10) >= parseInt(first, 10)) throw new Error("the countdown did not count down");
  await shot("rate-limited");
}

/** Pricing -> sandbox hosted checkout -> back to /billing with the success banner; cancel. */
async function billing({ page, step, shot }) {
  step("the front page tells a visitor what Atelier is and what each plan gives");
  await page.goto(`${BASE_URL}/`);
  await page.getByTestId("landing").waitFor();
  const facts = page.locator('[data-testid^="plan-facts-"]');
  await facts.first().waitFor();
  if (!/images a day/.test(await facts.first().innerText())) throw new Error("the front page's plans say nothing of their limits");
  await shot("landing");
  step("opening pricing as a visitor");
  await page.goto(`${BASE_URL}/pricing`);
  await loaded(page, "plan-pro", "pricing").catch(async (error) => {
    if (error instanceof Unsupported) throw error;
    await page.locator('[data-testid^="plan-"]').first().waitFor();
  });
  await shot("pricing");
  await newVerifiedUser(page, step);
  step("buying a plan");
  await page.goto(`${BASE_URL}/pricing`);
  const buy = page.locator('[data-testid^="buy-"]').first();
  await buy.waitFor();
  const code = (await buy.getAttribute("data-testid")).slice(4);
  await buy.click();
  const left = await Promise.race([
    page.waitForURL((url) => !url.pathname.startsWith("/pricing"), { timeout: 20_000 }).then(() => "left"),
    page.getByTestId("error-banner").waitFor({ timeout: 20_000 }).then(() => "error"),
  ]);
  if (left === "error") {
    const text = await page.getByTestId("error-banner").innerText();
    if (/not available/.test(text)) throw new Unsupported(text);
    throw new Error(`checkout refused: ${text}`);
  }
  step(`paying for ${code} on the sandbox page ${page.url()}`);
  await page.locator("#card_number").fill("4242424242424242");
  await shot("sandbox-checkout");
  await page.getByRole("button", { name: /Pay/ }).click();
  await page.waitForURL(/\/billing\?checkout=success/, { timeout: 30_000 });
  if (!page.url().startsWith(BASE_URL)) await page.goto(`${BASE_URL}/billing?checkout=success`);
  await page.getByTestId("checkout-success").waitFor();
  step("waiting for the subscription to show, without reloading: the page asks again by itself");
  await page.getByTestId("subscription").waitFor({ timeout: 30_000 });
  await page.getByTestId("invoices").waitFor();
  // The new tier travels payments -> auth by events; the page renews the token and the profile.
  const tier = (await page.getByTestId("subscription-plan").innerText()).match(/\((\w+)\)/)[1];
  await page.getByTestId("user-chip").getByText(`· ${tier}`).waitFor({ timeout: 30_000 });
  await shot("billing");
  step("pricing marks the plan I have now and offers no second purchase of it");
  await page.goto(`${BASE_URL}/pricing`);
  await page.getByTestId(`plan-${code}`).getByTestId("current-plan").waitFor();
  if (await page.getByTestId(`buy-${code}`).count()) throw new Error("pricing offers the plan I already have");
  await shot("pricing-current", { phone: false });
  await page.goto(`${BASE_URL}/billing`);
  await loaded(page, "subscription", "the subscription");
  step("canceling the subscription");
  await page.getByTestId("cancel-subscription").click();
  await page.getByTestId("subscription-status").getByText(/canceled|ends/).waitFor();
  await shot("billing-canceled", { phone: false });
  step("changing my mind: resuming it before the period ends");
  await page.getByTestId("resume-subscription").click();
  await page.getByTestId("subscription-status").getByText(/^active$/).waitFor();
  await page.getByTestId("cancel-subscription").waitFor();
  await shot("billing-resumed");
}

/** API keys: create (secret once, copy), use it, revoke; the usage page. */
async function keys({ page, step, shot }) {
  await newVerifiedUser(page, step);
  step("opening API keys");
  await page.getByRole("link", { name: "API keys" }).click();
  await loaded(page, "no-keys", "API keys");
  await page.getByTestId("key-name").fill("e2e script");
  await page.getByTestId("create-key").click();
  const secret = await page.getByTestId("new-key-secret").inputValue();
  if (!/^atl_live_[A-Za-z0-9_-]{40}$/.test(secret)) throw new Error(`odd secret ${secret}`);
  await page.getByTestId("copy-key").click();
  await page.getByTestId("copy-status").getByText(/Copied|Ctrl\+C/).waitFor();
  const copied = await page.evaluate(() => navigator.clipboard.readText()).catch(() => null);
  if (copied !== null && copied !== secret) throw new Error("the clipboard does not hold the secret");
  await page.getByTestId("key-item").waitFor();
  await shot("key-created");

  step("calling the API with the key");
  const call = () => page.evaluate(async (key) => (await fetch("/api/v1/usage", { headers: { "X-API-Key": key } })).status, secret);
  const status = await call();
  console.log(`[e2e:keys] GET /api/v1/usage with the key: ${status}`);
  if (status !== 200) throw new Error(`the new key was refused (${status})`);

  step("revoking the key");
  await page.getByRole("button", { name: "I have saved it" }).click();
  await page.getByTestId("revoke-key").click();
  await page.getByTestId("no-keys").waitFor();
  await shot("key-revoked", { phone: false });
  let refused = false;
  for (let i = 0; i < 20 && !refused; i++) {
    refused = (await call()) === 401;
    if (!refused) await page.waitForTimeout(500);
  }
  if (!refused) throw new Error("the revoked key still works after 10 s");

  step("opening usage");
  await page.getByRole("link", { name: "Usage" }).click();
  await loaded(page, "usage-day", "usage");
  await shot("usage");
}

/** Fails when the page is wider than a 390 px phone (a header that overflows, say). */
async function assertFitsPhone(page) {
  const size = page.viewportSize();
  await page.setViewportSize({ width: 390, height: 844 });
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  await page.setViewportSize(size);
  if (overflow > 0) throw new Error(`${page.url()} is ${overflow}px wider than a phone`);
}

/** Fit and finish: compressed and cached assets, the login form without the sign-up rule, the
 * 404 page, a verification link opened twice, an offline reload, and the phone header's menu
 * with Log out. */
async function finish({ page, step, shot }) {
  step("loading the app: the script goes out compressed and cached for a year, the page never cached");
  const script = page.waitForResponse((r) => /\/assets\/[^/]+\.js$/.test(new URL(r.url()).pathname));
  const landing = await page.goto(`${BASE_URL}/login`);
  const scriptHeaders = await (await script).allHeaders();
  const pageHeaders = await landing.allHeaders();
  // Chromium asks for Brotli over https only; over plain http it gets the gzip copy.
  const expected = { "cache-control": "public, max-age=31536000, immutable", vary: "Accept-Encoding" };
  for (const [name, value] of Object.entries(expected)) {
    if (scriptHeaders[name] !== value) throw new Error(`script ${name} is ${scriptHeaders[name]}, not ${value}`);
  }
  if (!["br", "gzip"].includes(scriptHeaders["content-encoding"])) {
    throw new Error(`the script went out uncompressed (content-encoding: ${scriptHeaders["content-encoding"]})`);
  }
  step(`the script came ${scriptHeaders["content-encoding"]}-encoded, ${scriptHeaders["content-length"]} bytes`);
  if (pageHeaders["cache-control"] !== "no-cache") throw new Error(`the page is cached: ${pageHeaders["cache-control"]}`);

  step("the login form does not show the sign-up password rule; the sign-up form does");
  await page.getByTestId("password-input").waitFor();
  if (await page.getByText("At least 8 characters.").count()) throw new Error("the login form shows the sign-up rule");
  await shot("login");
  await assertFitsPhone(page);
  await page.goto(`${BASE_URL}/signup`);
  await page.getByText("At least 8 characters.").waitFor();

  step("an unknown address shows the 404 page");
  await page.goto(`${BASE_URL}/no/such/page`);
  await page.getByTestId("not-found").waitFor();
  await page.getByRole("heading", { level: 1, name: "Page not found" }).waitFor();
  await shot("not-found");

  const user = await newVerifiedUser(page, step);
  step("opening the verification link a second time");
  await page.goto(await mailedLink(user.email, "/verify"));
  await outcome(page, "verify-already", ["verify-error"]);
  await shot("verify-again");

  step("the service worker has taken over and keeps the app shell");
  await page.goto(`${BASE_URL}/gallery`);
  await page.getByTestId("user-chip").waitFor();
  const shellCached = await page.evaluate(async () => {
    await navigator.serviceWorker.ready;
    // A worker that has just installed takes over the open page with clients.claim().
    for (let i = 0; i < 50 && !navigator.serviceWorker.controller; i += 1) await new Promise((r) => setTimeout(r, 100));
    const shell = await (await caches.open("atelier-shell-v1")).match("/");
    const assets = await caches.open("atelier-assets-v1");
    const script = document.querySelector('script[src^="/assets/"]')?.getAttribute("src");
    return Boolean(navigator.serviceWorker.controller) && Boolean(shell) && Boolean(script && (await assets.match(script)));
  });
  if (!shellCached) throw new Error("the service worker did not take over or did not keep the shell and its script");

  step("the header fits a phone: a member's links fold behind Menu, which has Log out");
  await page.waitForLoadState("networkidle", { timeout: 5_000 }).catch(() => undefined);
  await shot("header");
  await assertFitsPhone(page);
  await page.setViewportSize({ width: 390, height: 844 });
  if (await page.getByTestId("nav-logout").isVisible()) throw new Error("the phone header shows every link at once");
  await page.getByTestId("menu-button").click();
  await page.getByTestId("nav-logout").waitFor();
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, "finish-menu-390.png"), fullPage: true });
  await page.getByTestId("nav-logout").click();
  await page.waitForURL(/\/login$/);
  await page.getByText("You have logged out.").waitFor();
  await page.goto(`${BASE_URL}/gallery`);
  await page.waitForURL(/\/login\?next=%2Fgallery/); // the session is really gone

  // As a visitor: a reload holds no session, so nothing here can race a token renewal.
  step("reloading the pricing page offline shows the app with its offline notice");
  await page.goto(`${BASE_URL}/pricing`);
  await page.getByRole("heading", { level: 1 }).first().waitFor();
  await page.context().setOffline(true);
  await page.reload();
  await page.getByTestId("offline-banner").waitFor();
  await page.getByRole("heading", { level: 1 }).first().waitFor();
  await shot("offline");
  await page.context().setOffline(false);
  await page.getByTestId("offline-banner").waitFor({ state: "detached" });
}

const FLOWS = { account, generate, billing, keys, finish, jobs, gallery, edit, preview, plans, webhooks, loras };
const name = process.argv[2];
if (!FLOWS[name]) {
  console.error(`usage: node e2e/flows.mjs ${Object.keys(FLOWS).join("|")}`);
  process.exit(2);
}
process.exit(await runFlow(name, FLOWS[name]));

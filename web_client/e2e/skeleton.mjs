// End-to-end check of the skeleton through the SPA in headless Chromium:
// sign up, verify the e-mail, log in, generate an image, wait for it, screenshot.
// Plain Node + playwright-core (no browser download): uses the system Chromium.
//
//   BASE_URL=http://127.0.0.1:8000 SCREENSHOT_DIR=test-results node e2e/skeleton.mjs
import { mkdir } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { chromium } from "playwright-core";
import { mailedLink } from "./lib.mjs";

const BASE_URL = process.env.BASE_URL ?? "http://127.0.0.1:8000";
const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? "test-results";
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
const IMAGE_TIMEOUT_MS = Number(process.env.IMAGE_TIMEOUT_MS ?? 120_000);
const STEP_TIMEOUT_MS = 15_000;

let step = "starting";
const log = (message) => console.log(`[e2e] ${message}`);
const problems = [];

async function main() {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  step = `launching ${CHROMIUM}`;
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
  });
  let page;
  try {
    const context = await browser.newContext({ viewport: { width: 420, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("console", (msg) => msg.type() === "error" && problems.push(`console error: ${msg.text()}`));
    page.on("response", (response) => {
      if (response.status() >= 500) problems.push(`${response.status()} from ${response.url()}`);
    });

    const email = `e2e-${Date.now()}-${randomBytes(3).toString("hex")}@example.com`;
    const password = `pw-${randomBytes(9).toString("base64url")}`;

    step = `opening ${BASE_URL}`;
    const response = await page.goto(BASE_URL, { waitUntil: "domcontentloaded" });
    if (!response || !response.ok()) throw new Error(`the page answered ${response?.status()} (is the SPA built? run make web)`);

    step = "signing up from the front page";
    log(`${step} as ${email}`);
    await page.getByTestId("landing-signup").click();
    await page.getByTestId("email-input").fill(email);
    await page.getByTestId("password-input").fill(password);
    await page.getByRole("button", { name: "Sign up" }).click();
    await Promise.race([
      page.getByTestId("auth-info").waitFor(),
      page.getByTestId("error-banner").waitFor().then(async () => {
        throw new Error(`sign-up refused: ${await page.getByTestId("error-banner").innerText()}`);
      }),
    ]);

    // Generating needs a verified address: follow the link the platform e-mailed.
    step = "following the verification e-mail";
    log(step);
    await page.goto(await mailedLink(email, "/verify"));
    await page.getByTestId("verify-success").waitFor();

    step = "logging in";
    log(step);
    await page.goto(`${BASE_URL}/login`);
    await page.getByTestId("email-input").fill(email);
    await page.getByTestId("password-input").fill(password);
    await page.getByRole("button", { name: "Log in" }).click();
    await Promise.race([
      page.getByTestId("prompt-input").waitFor(),
      page.getByTestId("error-banner").waitFor().then(async () => {
        throw new Error(`login refused: ${await page.getByTestId("error-banner").innerText()}`);
      }),
    ]);

    step = "submitting a prompt";
    log(step);
    await page.getByTestId("prompt-input").fill("a lighthouse on a cliff at dusk, oil painting");
    await page.getByTestId("steps-input").fill(process.env.E2E_STEPS ?? "4");
    await page.getByRole("button", { name: "Generate" }).click();

    step = "waiting for the generated image";
    log(`${step} (up to ${IMAGE_TIMEOUT_MS / 1000} s)`);
    const image = page.locator('img[alt*="Generated image"]').first();
    await Promise.race([
      image.waitFor({ timeout: IMAGE_TIMEOUT_MS }),
      page.getByTestId("job-error").waitFor({ timeout: IMAGE_TIMEOUT_MS }).then(async () => {
        throw new Error(`the job failed: ${await page.getByTestId("job-error").innerText()}`);
      }),
      page.getByTestId("error-banner").waitFor({ timeout: IMAGE_TIMEOUT_MS }).then(async () => {
        throw new Error(`the job was refused: ${await page.getByTestId("error-banner").innerText()}`);
      }),
    ]);

    step = "checking the image loaded";
    await page.waitForFunction(
      (el) => el.complete && el.naturalWidth > 0,
      await image.elementHandle(),
      { timeout: STEP_TIMEOUT_MS },
    );
    const size = await image.evaluate((el) => ({ w: el.naturalWidth, h: el.naturalHeight, src: el.getAttribute("src") }));
    const seed = await page.getByTestId("image-seed").first().innerText();
    log(`image loaded: ${size.w}x${size.h}, seed ${seed}, src ${size.src}`);

    step = "saving a screenshot";
    const file = path.join(SCREENSHOT_DIR, "skeleton.png");
    await page.screenshot({ path: file, fullPage: true });
    log(`screenshot: ${file}`);
    if (problems.length) throw new Error(`the page reported problems:\n  ${problems.join("\n  ")}`);
  } catch (error) {
    if (page) {
      const file = path.join(SCREENSHOT_DIR, "skeleton-failure.png");
      await page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
      console.error(`[e2e] failure screenshot: ${file}`);
    }
    throw error;
  } finally {
    await browser.close();
  }
}

main().then(
  () => log("passed"),
  (error) => {
    console.error(`[e2e] FAILED while ${step}: ${error?.message ?? error}`);
    if (problems.length) console.error(`[e2e] page problems:\n  ${problems.join("\n  ")}`);
    process.exit(1);
  },
);

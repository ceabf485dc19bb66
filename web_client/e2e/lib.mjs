// Shared helpers of the browser flows: Debian's Chromium through playwright-core, a person's
// steps through the SPA, screenshots at phone and desktop width, and the development mail folder.
import { mkdir, readFile, readdir } from "node:fs/promises";
import { randomBytes } from "node:crypto";
import path from "node:path";
import { chromium } from "playwright-core";

export const BASE_URL = (process.env.BASE_URL ?? "http://127.0.0.1:8000").replace(/\/+$/, "");
export const SCREENSHOT_DIR = process.env.SCREENSHOT_DIR ?? "test-results";
export const MAIL_DIR = process.env.ATELIER_MAIL_DIR ?? "";
const REPO_VAR = path.resolve(path.dirname(new URL(import.meta.url).pathname), "..", "..", "var");

/** Where the platform's development mail may be: ATELIER_MAIL_DIR, else the folders `make up`
 * (var/mail) and the e2e fixture (var/e2e/<run>/mail) use; addresses are unique per run. */
async function mailDirs() {
  if (MAIL_DIR) return [MAIL_DIR];
  const runs = await readdir(path.join(REPO_VAR, "e2e")).catch(() => []);
  return [path.join(REPO_VAR, "mail"), ...runs.map((run) => path.join(REPO_VAR, "e2e", run, "mail"))];
}
const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const STEP_TIMEOUT_MS = 15_000;
export const JOB_TIMEOUT_MS = Number(process.env.IMAGE_TIMEOUT_MS ?? 120_000);

/** Exit code that tells the pytest wrapper "the platform lacks this feature": a skip, not a pass. */
export const UNSUPPORTED = 3;
export class Unsupported extends Error {}

export const log = (flow, message) => console.log(`[e2e:${flow}] ${message}`);

export function credentials() {
  return {
    email: `e2e-${Date.now()}-${randomBytes(3).toString("hex")}@example.com`,
    password: `pw-${randomBytes(9).toString("base64url")}`,
  };
}

/** Runs one flow in a fresh browser; returns the process exit code. */
export async function runFlow(name, flow) {
  await mkdir(SCREENSHOT_DIR, { recursive: true });
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
      "--disable-component-update", "--no-first-run"],
  });
  const problems = [];
  const state = { step: "starting", page: null };
  try {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: BASE_URL });
    const page = await context.newPage();
    state.page = page;
    page.setDefaultTimeout(STEP_TIMEOUT_MS);
    page.on("dialog", (dialog) => void dialog.accept());
    page.on("pageerror", (error) => problems.push(`page error: ${error.message}`));
    page.on("response", (response) => {
      if (response.status() >= 500) problems.push(`${response.status()} from ${response.url()}`);
    });
    const step = (text) => {
      state.step = text;
      log(name, text);
    };
    await flow({ page, step, shot: (file, opts) => shot(page, name, file, opts), problems });
    if (problems.length) throw new Error(`the page reported problems:\n  ${problems.join("\n  ")}`);
    log(name, "passed");
    return 0;
  } catch (error) {
    if (state.page) {
      const file = path.join(SCREENSHOT_DIR, `${name}-failure.png`);
      await state.page.screenshot({ path: file, fullPage: true }).catch(() => undefined);
      console.error(`[e2e:${name}] failure screenshot: ${file}`);
    }
    if (error instanceof Unsupported) {
      console.error(`[e2e:${name}] UNSUPPORTED while ${state.step}: ${error.message}`);
      return UNSUPPORTED;
    }
    console.error(`[e2e:${name}] FAILED while ${state.step}: ${error?.stack ?? error}`);
    return 1;
  } finally {
    await browser.close();
  }
}

/** A full-page screenshot at desktop width, and at phone width (390 px) unless told otherwise. */
export async function shot(page, flow, file, { phone = true } = {}) {
  const desktop = path.join(SCREENSHOT_DIR, `${flow}-${file}-1280.png`);
  await page.screenshot({ path: desktop, fullPage: true });
  if (phone) {
    const size = page.viewportSize();
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(150);
    await page.screenshot({ path: path.join(SCREENSHOT_DIR, `${flow}-${file}-390.png`), fullPage: true });
    await page.setViewportSize(size);
  }
  log(flow, `screenshot ${desktop}`);
}

/** Waits for the first of several outcomes; a named failure locator throws with its text. */
export async function outcome(page, success, failures = ["error-banner"], timeout = STEP_TIMEOUT_MS) {
  const wins = [page.getByTestId(success).first().waitFor({ timeout }).then(() => success)];
  for (const id of failures) {
    wins.push(page.getByTestId(id).first().waitFor({ timeout }).then(async () => {
      throw new Error(`${id}: ${await page.getByTestId(id).first().innerText()}`);
    }));
  }
  return Promise.race(wins);
}

function decodeQuotedPrintable(text) {
  return text.replace(/=\r?\n/g, "").replace(/=([0-9A-F]{2})/g, (_, hex) => String.fromCharCode(parseInt(hex, 16)));
}

/** The newest link to `route` (e.g. "/verify") in a mail sent to `email`, polled for a while. */
export async function mailedLink(email, route, timeoutMs = 20_000) {
  const pattern = new RegExp(`https?://[^\\s"'<>]+${route.replace("/", "\\/")}\\?token=[^\\s"'<>]+`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const files = [];
    for (const dir of await mailDirs()) {
      for (const f of await readdir(dir).catch(() => [])) if (f.endsWith(".eml")) files.push([f, path.join(dir, f)]);
    }
    files.sort((a, b) => b[0].localeCompare(a[0])); // names start with a UTC timestamp: newest first
    for (const [, file] of files) {
      const raw = await readFile(file, "utf8");
      if (!raw.includes(email)) continue;
      // Only a quoted-printable message is decoded: in a 7bit one "=2B" is part of the token.
      let text = /^Content-Transfer-Encoding:\s*quoted-printable/im.test(raw) ? decodeQuotedPrintable(raw) : raw;
      // Base64 parts: decode each body block that looks like one.
      for (const block of raw.split(/\r?\n\r?\n/)) {
        if (/^[A-Za-z0-9+/=\r\n]{40,}$/.test(block.trim())) text += Buffer.from(block, "base64").toString("utf8");
      }
      const match = text.match(pattern);
      if (match) {
        const link = new URL(match[0].replace(/&amp;/g, "&"));
        return `${BASE_URL}${link.pathname}${link.search}`; // the platform may name another host
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
  throw new Error(`no e-mail with a ${route} link reached ${email} in ${(await mailDirs()).join(", ")}`);
}

export async function fillCredentials(page, { email, password }) {
  await page.getByTestId("email-input").fill(email);
  await page.getByTestId("password-input").fill(password);
}

/** Signs up through the page, follows the e-mailed verification link and logs in. */
export async function newVerifiedUser(page, step) {
  const user = credentials();
  step(`signing up as ${user.email}`);
  await page.goto(`${BASE_URL}/signup`);
  await fillCredentials(page, user);
  await page.getByRole("button", { name: "Sign up" }).click();
  await outcome(page, "auth-info");
  step("following the verification e-mail");
  await page.goto(await mailedLink(user.email, "/verify"));
  await outcome(page, "verify-success", ["verify-error"]);
  step("logging in");
  await page.goto(`${BASE_URL}/login`);
  await fillCredentials(page, user);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/generate$/);
  return user;
}

/** Waits for `success`; a page that says its feature is missing on this server ends the flow as
 * UNSUPPORTED (a skip), any other error shown fails it. */
export async function loaded(page, success, what, timeout = STEP_TIMEOUT_MS) {
  const missing = page.getByTestId("unavailable").first();
  const result = await Promise.race([
    page.getByTestId(success).first().waitFor({ timeout }).then(() => "ok"),
    missing.waitFor({ timeout }).then(() => "missing"),
    page.getByTestId("load-error").first().waitFor({ timeout }).then(() => "error"),
  ]);
  if (result === "missing") throw new Unsupported(`${what}: ${await missing.innerText()}`);
  if (result === "error") throw new Error(`${what}: ${await page.getByTestId("load-error").first().innerText()}`);
}

// The "jobs" browser flow: a person's work survives. The session is shared by the browser's tabs
// (a verification link opens logged in, and the first tab drops its banner), the prompt draft
// survives a reload, a reload in the middle of a job re-attaches to it, a second tab shows it, a
// concurrency refusal names and links it, recent jobs re-run; the result sits beside the form on a
// desktop and comes into view on a phone, with a progress bar that keeps its height.
import path from "node:path";
import {
  BASE_URL, JOB_TIMEOUT_MS, SCREENSHOT_DIR, credentials, fillCredentials, mailedLink, outcome, shot as shotOf,
} from "./lib.mjs";

const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };
const SHORT_PROMPT = "a quick ink sketch of a heron";
const LONG_PROMPT = "a long exposure of the sea at night, every star";
const going = '[data-testid="job-status"]:is([data-status="queued"], [data-status="running"])';
const ended = '[data-testid="job-status"]:is([data-status="succeeded"], [data-status="failed"], [data-status="canceled"])';

const jobInAddress = (page) => new URL(page.url()).searchParams.get("job");

async function valueIs(page, testId, expected, what) {
  await page.waitForFunction(([id, value]) => document.querySelector(`[data-testid="${id}"]`)?.value === value,
    [testId, expected], { timeout: 10_000 }).catch(async () => {
    throw new Error(`${what}: the field holds "${await page.getByTestId(testId).inputValue()}", not "${expected}"`);
  });
}

/** Controls on the page's main part smaller than 44 px in either direction (visible ones only). */
async function smallTapTargets(page) {
  return page.evaluate(() => {
    const controls = document.querySelectorAll("main button, main a, main select, main textarea, main input:not([type=radio]), main label.inline");
    return [...controls].flatMap((el) => {
      const box = el.getBoundingClientRect();
      if (!box.width || !box.height || el.closest(".visually-hidden")) return [];
      return box.height < 43.5 || box.width < 43.5 ? [`${el.tagName.toLowerCase()} "${el.textContent.trim().slice(0, 30)}" ${Math.round(box.width)}×${Math.round(box.height)}`] : [];
    });
  });
}

async function logIn(page, user) {
  await page.goto(`${BASE_URL}/login`);
  await fillCredentials(page, user);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(/\/generate$/);
}

async function call(method, route, body, access) {
  const headers = { "content-type": "application/json", ...(access ? { authorization: `Bearer ${access}` } : {}) };
  const response = await fetch(`${BASE_URL}${route}`, { method, headers, body: JSON.stringify(body) });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${route}: ${response.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

/** Two other people's big jobs, so the person's next job waits in the queue for a while: the
 * tiny CPU model finishes a free plan's biggest job in seconds, too soon to reload during it.
 * Their guidance differs from the form's, so the worker does not batch the person's job with them. */
async function keepWorkerBusy() {
  for (let i = 0; i < 2; i++) {
    const other = credentials();
    await call("POST", "/api/auth/signup", other);
    const token = new URL(await mailedLink(other.email, "/verify")).searchParams.get("token");
    await call("POST", "/api/auth/verify", { token });
    const { access } = await call("POST", "/api/auth/token", other);
    await call("POST", "/api/v1/jobs", {
      kind: "txt2img", prompt: "someone else's batch", width: 512, height: 512, steps: 30, n: 4, guidance: 6,
    }, access);
  }
}

async function startLongJob(page) {
  await page.getByTestId("prompt-input").fill(LONG_PROMPT);
  // As big as the free plan allows, so the job is still going while the tabs look at it.
  for (const id of ["width-select", "height-select"]) {
    const sizes = await page.getByTestId(id).locator("option:not([disabled])").evaluateAll((options) => options.map((o) => o.value));
    await page.getByTestId(id).selectOption(sizes.at(-1));
  }
  await page.getByTestId("steps-input").fill(String(await page.getByTestId("steps-input").getAttribute("max")));
  // Three images cost 3 of the free plan's 5 units a minute, leaving room for the rest of the flow.
  await page.getByTestId("n-input").fill("3");
  await page.getByTestId("generate-button").click();
  await page.locator(going).waitFor();
  return jobInAddress(page);
}

export async function jobs({ page, step, shot }) {
  const context = page.context();
  const user = credentials();
  step(`signing up as ${user.email} and logging in before verifying`);
  await page.goto(`${BASE_URL}/signup`);
  await fillCredentials(page, user);
  await page.getByRole("button", { name: "Sign up" }).click();
  await outcome(page, "auth-info");
  await logIn(page, user);
  await page.getByTestId("unverified-banner").waitFor();

  step("opening the verification link in a new tab: it is logged in, and the first tab drops its banner");
  const verifyTab = await context.newPage();
  await verifyTab.goto(await mailedLink(user.email, "/verify"));
  await outcome(verifyTab, "verify-success", ["verify-error"]);
  await verifyTab.getByTestId("user-chip").waitFor();
  await page.getByTestId("unverified-banner").waitFor({ state: "detached", timeout: 10_000 })
    .catch(() => { throw new Error("the first tab still asks to verify the address"); });
  await verifyTab.close();

  step("typing a draft; a reload keeps it");
  await page.getByTestId("prompt-input").fill(SHORT_PROMPT);
  await page.getByTestId("steps-input").fill("4");
  await page.reload();
  await valueIs(page, "prompt-input", SHORT_PROMPT, "the draft after a reload");
  await valueIs(page, "steps-input", "4", "the draft's steps after a reload");

  step("a short job sent with Ctrl+Enter");
  await page.getByTestId("prompt-input").press("Control+Enter");
  await outcome(page, "generated-image", ["job-error", "error-banner"], JOB_TIMEOUT_MS);
  const shortJob = jobInAddress(page);
  if (!shortJob) throw new Error(`the address does not name the job: ${page.url()}`);

  step("other people's jobs keep the worker busy; a long job of ours waits behind them");
  await keepWorkerBusy();
  const startedAt = Date.now();
  const seconds = () => `${Math.round((Date.now() - startedAt) / 1000)} s after it was sent`;
  const stillGoing = async (where, what) => where.locator(going).waitFor().catch(async () => {
    throw new Error(`${what}: the long job is not followed as going ${seconds()} `
      + `(${await where.getByTestId("job-status").innerText().catch(() => "no status")})`);
  });
  const longJob = await startLongJob(page);

  step("on a desktop the progress sits beside the form");
  const form = await page.locator("section[aria-labelledby=generate-title]").boundingBox();
  const view = await page.getByTestId("job-view").boundingBox();
  if (!(view.x >= form.x + form.width - 1 && view.y < form.y + form.height)) {
    throw new Error(`the job is not beside the form: form ${JSON.stringify(form)}, job ${JSON.stringify(view)}`);
  }

  step("reloading in the middle of the job re-attaches to it, with the draft");
  await page.reload();
  await stillGoing(page, "after the reload");
  if (jobInAddress(page) !== longJob) throw new Error(`the reload followed ${jobInAddress(page)}, not ${longJob}`);
  await valueIs(page, "prompt-input", LONG_PROMPT, "the draft during the job");
  await shot("reattached");

  step("a new tab is logged in and shows the job");
  const second = await context.newPage();
  await second.setViewportSize(DESKTOP);
  await second.goto(`${BASE_URL}/generate`);
  await stillGoing(second, "in a new tab");
  await second.locator(`[data-testid="recent-job"][data-job-id="${longJob}"][aria-current="true"]`).waitFor();
  await second.close();

  step("the plan's concurrency refuses another job, naming and linking the one in the way");
  // Showing the finished short job frees the form; re-running it asks for one cost unit (the big
  // job's settings would be refused by the rate limit, which is checked first).
  const shortItem = page.locator(`[data-testid="recent-job"][data-job-id="${shortJob}"]`);
  await shortItem.getByTestId("show-job").click();
  await page.locator('[data-testid="job-status"][data-status="succeeded"]').waitFor();
  await shortItem.getByTestId("rerun-job").click();
  await valueIs(page, "prompt-input", SHORT_PROMPT, "re-run");
  await page.getByTestId("generate-button").click();
  await outcome(page, "jobs-in-the-way", ["error-banner"]);
  const inTheWay = await page.getByTestId("jobs-in-the-way").innerText();
  if (!inTheWay.includes(LONG_PROMPT)) throw new Error(`the refusal names another job: ${inTheWay}`);
  await shot("in-the-way");
  await page.getByTestId("job-in-the-way").first().click();
  await page.waitForURL((url) => url.searchParams.get("job") === longJob);
  await stillGoing(page, "after following the link in the refusal");

  step("on a phone the progress bar keeps its height");
  await page.setViewportSize(PHONE);
  const bar = await page.getByTestId("job-progress").boundingBox();
  if (!bar || bar.height < 8 || bar.width < 200) throw new Error(`the progress bar is ${JSON.stringify(bar)} at 390 px`);
  await page.setViewportSize(DESKTOP);

  step(`the re-attached page shows the steps live (${seconds()})`);
  await page.locator('[data-testid="job-status"][data-status="running"]').filter({ hasText: /step \d+ of/ })
    .waitFor({ timeout: JOB_TIMEOUT_MS });
  await shot("live-after-reload");

  step(`canceling the batch (${seconds()}): it is not titled as an image`);
  await page.getByTestId("cancel-button").click();
  await page.locator(ended).waitFor({ timeout: JOB_TIMEOUT_MS });
  const title = await page.locator("#job-title").innerText();
  step(`the ended batch is titled "${title}"`);
  if (/Your image/.test(title) && (await page.getByTestId("generated-image").count()) === 0) {
    throw new Error(`a canceled batch is titled "${title}"`);
  }

  step("on a phone, starting a job brings its progress into view");
  await page.setViewportSize(PHONE);
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.getByTestId("n-input").fill("1"); // one unit of the plan's rate: what the minute has left
  await page.getByTestId("steps-input").fill("12");
  await page.getByTestId("generate-button").click();
  await page.waitForURL((url) => ![null, shortJob, longJob].includes(url.searchParams.get("job")));
  await page.waitForTimeout(600); // the smooth scroll
  const inView = await page.getByTestId("job-view").evaluate((el) => {
    const box = el.getBoundingClientRect();
    return box.top >= 0 && box.top < window.innerHeight - 60;
  });
  if (!inView) throw new Error("the job's progress is out of view after Generate on a phone");
  const small = await smallTapTargets(page);
  if (small.length) throw new Error(`tap targets under 44 px at 390 px: ${small.join("; ")}`);
  // The viewport only: what the person sees right after tapping Generate.
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, "jobs-started-390.png") });
  if (await page.getByTestId("cancel-button").isVisible()) await page.getByTestId("cancel-button").click().catch(() => undefined);
  await page.locator(ended).waitFor({ timeout: JOB_TIMEOUT_MS });
  await page.setViewportSize(DESKTOP);

  step("recent jobs: re-running the short job fills the form with its settings");
  await page.getByTestId("prompt-input").fill("something else entirely");
  await page.locator(`[data-testid="recent-job"][data-job-id="${shortJob}"]`).getByTestId("rerun-job").click();
  await valueIs(page, "prompt-input", SHORT_PROMPT, "re-run");
  await valueIs(page, "steps-input", "4", "re-run's steps");
  const states = await page.getByTestId("recent-job").evaluateAll((items) => items.map((i) => i.dataset.status));
  step(`recent jobs show: ${states.join(", ")}`);
  if (!states.includes("canceled") || !states.includes("succeeded")) throw new Error(`odd recent states: ${states}`);
  await shot("recent");
}

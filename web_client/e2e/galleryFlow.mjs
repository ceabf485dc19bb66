// The "gallery" browser flow: an image opens large (arrow keys, a swipe, Escape, focus back on its
// card) with its parameters; the download has a name that says what it is; "use these settings"
// hands the image to the generate page; search by prompt asks the server; several images go with
// one confirmation, and deleting in the large view moves to the neighbour and keeps focus there.
import { readFile } from "node:fs/promises";
import path from "node:path";
import { JOB_TIMEOUT_MS, SCREENSHOT_DIR, loaded, newVerifiedUser, outcome } from "./lib.mjs";

const FOX = "a red fox asleep in the snow";
const LIGHTHOUSE = "a lighthouse at dusk, oil painting";
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

/** Two images of `prompt` (4 of the free plan's 5 units a minute for both jobs). */
async function generateTwo(page, prompt) {
  await page.getByTestId("prompt-input").fill(prompt);
  await page.getByTestId("steps-input").fill("4");
  await page.getByTestId("n-input").fill("2");
  const before = jobInAddress(page);
  await page.getByTestId("generate-button").click();
  // The page names the job it follows in its address: wait for this one, not the last one's images.
  await page.waitForFunction((previous) => {
    const job = new URL(window.location.href).searchParams.get("job");
    return job && job !== previous;
  }, before);
  await outcome(page, "generated-image", ["job-error", "error-banner"], JOB_TIMEOUT_MS);
  await page.locator('[data-testid="job-status"][data-status="succeeded"]').waitFor({ timeout: JOB_TIMEOUT_MS });
}

const jobInAddress = (page) => new URL(page.url()).searchParams.get("job");

async function expectText(locator, expected, what) {
  const actual = (await locator.innerText()).trim();
  if (actual !== expected) throw new Error(`${what}: "${actual}", not "${expected}"`);
}

const focusedTestId = (page) => page.evaluate(() => document.activeElement?.getAttribute("data-testid") ?? document.activeElement?.tagName);

async function waitForCount(page, testId, count, what) {
  await page.waitForFunction(([id, n]) => document.querySelectorAll(`[data-testid="${id}"]`).length === n, [testId, count], { timeout: 10_000 })
    .catch(async () => {
      throw new Error(`${what}: ${await page.getByTestId(testId).count()} shown, not ${count}`);
    });
}

/** A sideways swipe on the large image, as a finger would make it. */
async function swipe(page, fromX, toX) {
  await page.getByTestId("lightbox-stage").evaluate((stage, [from, to]) => {
    const touch = (x) => new Touch({ identifier: 1, target: stage, clientX: x, clientY: 300 });
    stage.dispatchEvent(new TouchEvent("touchstart", { bubbles: true, changedTouches: [touch(from)], touches: [touch(from)] }));
    stage.dispatchEvent(new TouchEvent("touchend", { bubbles: true, changedTouches: [touch(to)], touches: [] }));
  }, [fromX, toX]);
}

export async function gallery({ page, step, shot }) {
  await newVerifiedUser(page, step);
  step("making four images with two prompts");
  await generateTwo(page, FOX);
  await generateTwo(page, LIGHTHOUSE);

  step("opening the gallery");
  await page.getByRole("link", { name: "Gallery" }).click();
  await loaded(page, "gallery-item", "the gallery");
  await waitForCount(page, "gallery-item", 4, "the gallery");
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="gallery-item"] img')].every((img) => img.complete && img.naturalWidth > 0));
  await shot("grid");

  step("opening the newest image large: its parameters, then the arrow keys");
  await page.getByTestId("gallery-open").first().click();
  const dialog = page.getByRole("dialog");
  await dialog.waitFor();
  await expectText(page.getByTestId("lightbox-position"), "Image 1 of 4", "the large view's position");
  const facts = await page.getByTestId("lightbox-params").innerText();
  for (const expected of [LIGHTHOUSE, /Seed\s+\d+/, /Steps\s+4\b/, /Guidance\s+\d/, /Size\s+\d+×\d+/]) {
    if (typeof expected === "string" ? !facts.includes(expected) : !expected.test(facts)) {
      throw new Error(`the large view's parameters lack ${expected}: ${facts}`);
    }
  }
  await page.waitForFunction(() => document.querySelector('[data-testid="lightbox-image"]')?.naturalWidth > 0);
  await shot("lightbox");
  await page.keyboard.press("ArrowRight");
  await page.keyboard.press("ArrowRight");
  await expectText(page.getByTestId("lightbox-position"), "Image 3 of 4", "after two ArrowRight");
  if (!(await page.getByTestId("lightbox-params").innerText()).includes(FOX)) throw new Error("ArrowRight did not reach the fox images");
  await page.keyboard.press("ArrowLeft");
  await expectText(page.getByTestId("lightbox-position"), "Image 2 of 4", "after ArrowLeft");

  step("Tab stays inside the dialog; Escape closes it and focus returns to the card last shown");
  for (let i = 0; i < 12; i++) await page.keyboard.press("Tab");
  const inside = await page.evaluate(() => Boolean(document.activeElement?.closest("dialog")));
  if (!inside) throw new Error(`Tab left the dialog for ${await focusedTestId(page)}`);
  await page.keyboard.press("Escape");
  await dialog.waitFor({ state: "detached" });
  const returned = await page.evaluate(() => {
    const cards = [...document.querySelectorAll('[data-testid="gallery-open"]')];
    return cards.indexOf(document.activeElement);
  });
  if (returned !== 1) throw new Error(`focus went to card ${returned} after Escape, not to the second one`);

  step("downloading from the large view: the file is named after the prompt and seed");
  await page.getByTestId("gallery-open").first().click();
  const seed = (await page.getByTestId("gallery-seed").first().innerText()).trim();
  const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("lightbox-download").click()]);
  const name = download.suggestedFilename();
  if (name !== `atelier-a-lighthouse-at-dusk-oil-painting-${seed}.png`) throw new Error(`the download is named ${name}`);
  const bytes = await readFile(await download.path());
  if (bytes.subarray(1, 4).toString() !== "PNG") throw new Error("the download is not a PNG");
  console.log(`[e2e:gallery] downloaded ${name} (${bytes.length} bytes)`);

  step("on a phone: the large view fills the screen and a swipe moves between images");
  await page.setViewportSize(PHONE);
  await swipe(page, 320, 80);
  await expectText(page.getByTestId("lightbox-position"), "Image 2 of 4", "after a swipe to the left");
  await swipe(page, 80, 320);
  await expectText(page.getByTestId("lightbox-position"), "Image 1 of 4", "after a swipe to the right");
  // What the phone's screen shows (the full-page shots also show the page behind the dialog).
  await page.screenshot({ path: path.join(SCREENSHOT_DIR, "gallery-lightbox-screen-390.png") });
  const offscreen = await page.evaluate(() => [...document.querySelectorAll(".lightbox-actions > *")]
    .filter((el) => el.getBoundingClientRect().bottom > window.innerHeight).length);
  if (offscreen) throw new Error(`${offscreen} of the large view's actions are below a phone's screen`);
  await page.setViewportSize(DESKTOP);

  step("'use these settings' hands the image to the generate page");
  await page.getByTestId("lightbox-use-settings").click();
  await page.waitForURL(/\/generate\?from=[^&]+&use=settings/);
  const handed = await page.evaluate(() => JSON.parse(sessionStorage.getItem("atelier.handoff") ?? "null"));
  if (handed?.params?.prompt !== LIGHTHOUSE || String(handed.seed) !== seed) throw new Error(`handed over ${JSON.stringify(handed)}`);
  await page.goBack();
  await waitForCount(page, "gallery-item", 4, "the gallery after going back");

  step("searching by prompt");
  await page.getByTestId("gallery-search").fill("FOX snow");
  await waitForCount(page, "gallery-item", 2, "the search for fox");
  await page.getByTestId("gallery-search-hint").getByText("2 images match.").waitFor();
  const prompts = await page.locator('[data-testid="gallery-item"] .prompt').allInnerTexts();
  if (!prompts.every((p) => p === FOX)) throw new Error(`the search shows ${prompts.join(" | ")}`);
  await shot("search");
  await page.getByTestId("gallery-search").fill("fox lighthouse");
  await page.getByTestId("gallery-no-match").waitFor();
  await page.getByTestId("gallery-search").fill("");
  await waitForCount(page, "gallery-item", 4, "the gallery without a search");

  step("selecting two images and deleting them with one confirmation");
  let confirmations = 0;
  const count = (dialogEvent) => dialogEvent.type() === "confirm" && confirmations++;
  page.on("dialog", count);
  await page.getByTestId("gallery-select").nth(1).check();
  await page.getByTestId("gallery-select").nth(2).check();
  await expectText(page.getByTestId("selection-count"), "2 selected", "the selection");
  await shot("selected");
  await page.getByTestId("gallery-delete-selected").click();
  await page.getByTestId("gallery-status").getByText("2 images deleted.").waitFor();
  page.off("dialog", count);
  if (confirmations !== 1) throw new Error(`deleting two images asked ${confirmations} times`);
  await waitForCount(page, "gallery-item", 2, "after deleting two");
  const afterBulk = await focusedTestId(page);
  if (afterBulk !== "gallery-open") throw new Error(`focus went to ${afterBulk} after deleting the selection`);

  step("deleting in the large view shows the neighbour and keeps focus in the dialog");
  await page.getByTestId("gallery-open").first().click();
  await page.getByTestId("lightbox-delete").click();
  await page.getByTestId("gallery-status").getByText("Image deleted.").waitFor();
  await expectText(page.getByTestId("lightbox-position"), "Image 1 of 1", "after deleting in the large view");
  if (!(await page.evaluate(() => Boolean(document.activeElement?.closest("dialog"))))) throw new Error("focus left the dialog after deleting");
  await shot("after-delete", { phone: false });
  await page.keyboard.press("Escape");
  await page.reload();
  await waitForCount(page, "gallery-item", 1, "after a reload");
}

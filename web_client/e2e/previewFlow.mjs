// The "preview" browser flow: while a job's steps run, the result area shows the worker's rough
// preview of the image (from the latents, no VAE), labelled for screen readers and drawn at the
// job's shape, at desktop and phone width; when the job ends, the real image takes its place.
import { JOB_TIMEOUT_MS, newVerifiedUser, outcome } from "./lib.mjs";

const PROMPT = "a lighthouse on a cliff at dusk, oil painting";
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

/** The preview <img> once its picture has loaded: its src, alt and sizes. */
async function loadedPreview(page) {
  const handle = await page.waitForFunction(() => {
    const img = document.querySelector('[data-testid="job-preview"]');
    return img && img.complete && img.naturalWidth > 0 ? img : null;
  }, null, { timeout: JOB_TIMEOUT_MS });
  return handle.evaluate((img) => ({
    src: img.getAttribute("src"), alt: img.alt, natural: [img.naturalWidth, img.naturalHeight],
    shown: [img.getBoundingClientRect().width, img.getBoundingClientRect().height],
  }));
}

export async function preview({ page, step, shot }) {
  await newVerifiedUser(page, step);

  // The free plan's largest square and most steps: the tiny CPU model takes a few seconds, and
  // the worker sends a preview with its progress every fraction of a second.
  step("asking for a 512×512 image in 30 steps");
  await page.getByTestId("prompt-input").fill(PROMPT);
  await page.getByTestId("width-select").selectOption("512");
  await page.getByTestId("height-select").selectOption("512");
  await page.getByTestId("steps-input").fill("30");
  await page.getByTestId("generate-button").click();
  await page.waitForFunction(() => new URL(window.location.href).searchParams.get("job")).catch(async () => {
    const shown = await page.getByTestId("error-banner").or(page.locator(".field-error")).first().innerText().catch(() => "nothing");
    throw new Error(`no job started: ${shown}`);
  });

  step("waiting for a preview while the steps run");
  await outcome(page, "job-preview", ["job-error", "error-banner"], JOB_TIMEOUT_MS);
  const first = await loadedPreview(page);
  const status = await page.getByTestId("job-status").getAttribute("data-status");
  if (status !== "running") throw new Error(`a preview shown while the job is ${status}`);
  if (!/^data:image\/(jpeg|webp);base64,/.test(first.src)) throw new Error(`the preview is not a small image: ${first.src.slice(0, 40)}`);
  if (Math.max(...first.natural) > 128) throw new Error(`the preview is ${first.natural.join("×")} px, more than 128`);
  if (!/^Rough preview of the image being generated, at step \d+ of \d+$/.test(first.alt)) {
    throw new Error(`the preview's label says "${first.alt}"`);
  }
  if (Math.abs(first.shown[0] - first.shown[1]) > 2) throw new Error(`a square job's preview is drawn ${first.shown.join("×")}`);
  if (await page.getByTestId("generated-image").count()) throw new Error("an image and a preview at once");
  await shot("running");

  step("the preview fits a phone and updates as the steps go on");
  await page.setViewportSize(PHONE);
  const onPhone = await page.getByTestId("job-preview").boundingBox().catch(() => null);
  if (onPhone && (onPhone.width <= 0 || onPhone.x < 0 || onPhone.x + onPhone.width > PHONE.width)) {
    throw new Error(`on a phone the preview sits at x=${onPhone.x}, ${onPhone.width} px wide`);
  }
  await page.setViewportSize(DESKTOP);
  const newer = await page.waitForFunction((src) => {
    const img = document.querySelector('[data-testid="job-preview"]');
    return !img || img.getAttribute("src") !== src;
  }, first.src, { timeout: JOB_TIMEOUT_MS }).then(() => page.getByTestId("job-preview").count());
  step(newer ? "a newer preview replaced the first" : "the job ended before another preview");

  step("the image replaces the preview when the job ends");
  await outcome(page, "generated-image", ["job-error", "error-banner"], JOB_TIMEOUT_MS);
  await page.locator('[data-testid="job-status"][data-status="succeeded"]').waitFor({ timeout: JOB_TIMEOUT_MS });
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="generated-image"]')]
    .every((img) => img.complete && img.naturalWidth > 0));
  if (await page.getByTestId("job-preview").count()) throw new Error("the preview stayed beside the finished image");
  await shot("done");
}

// The "edit" browser flow: image to image and inpainting in the browser. Size presets by shape
// within the free plan (16:9 needs a higher plan), the job's cost in cost units before Generate,
// "use this image" under a result, "use as input" from the gallery (then an img2img job), an upload
// (a wrong file is refused in words, a large picture is scaled to the plan), a mask painted with
// the mouse, with a finger (pointer events of type touch) and by keyboard, undone with Ctrl+Z and the button,
// sent as a black-and-white PNG, an inpaint job, and the usage page's live per-minute budget.
import { JOB_TIMEOUT_MS, loaded, newVerifiedUser, outcome } from "./lib.mjs";

const FOX = "a red fox in the snow, watercolour";
const STEPS = "4";
const PHONE = { width: 390, height: 844 };
const DESKTOP = { width: 1280, height: 900 };

const jobInAddress = (page) => new URL(page.url()).searchParams.get("job");

/** Waits a few seconds for the text to match (the page may still be reading a file or re-rendering). */
async function expectText(locator, pattern, what, timeout = 5_000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const actual = (await locator.innerText()).trim();
    if (typeof pattern === "string" ? actual.includes(pattern) : pattern.test(actual)) return;
    if (Date.now() > deadline) throw new Error(`${what}: "${actual}" does not match ${pattern}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

async function strokesAre(page, count, what) {
  await page.waitForFunction((n) => document.querySelector('[data-testid="mask-canvas"]')?.dataset.strokes === String(n), count, { timeout: 5_000 })
    .catch(async () => {
      throw new Error(`${what}: ${await page.getByTestId("mask-canvas").getAttribute("data-strokes")} strokes, not ${count}`);
    });
}

/** Sends the form and waits for this job's images; returns the request body the page sent. */
async function generate(page) {
  const before = jobInAddress(page);
  const [request] = await Promise.all([
    page.waitForRequest((r) => r.url().endsWith("/api/v1/jobs") && r.method() === "POST"),
    page.getByTestId("generate-button").click(),
  ]);
  await page.waitForFunction((previous) => {
    const job = new URL(window.location.href).searchParams.get("job");
    return job && job !== previous;
  }, before).catch(async () => {
    const shown = await page.getByTestId("error-banner").or(page.locator(".field-error")).first().innerText().catch(() => "nothing");
    throw new Error(`no job started: ${shown}`);
  });
  await outcome(page, "generated-image", ["job-error", "error-banner"], JOB_TIMEOUT_MS);
  await page.locator('[data-testid="job-status"][data-status="succeeded"]').waitFor({ timeout: JOB_TIMEOUT_MS });
  await page.waitForFunction(() => [...document.querySelectorAll('[data-testid="generated-image"]')].every((img) => img.complete && img.naturalWidth > 0));
  return JSON.parse(request.postData());
}

/** A stroke across the canvas with the mouse, from and to fractions of its box. */
async function mouseStroke(page, from, to) {
  const box = await page.getByTestId("mask-canvas").boundingBox();
  await page.mouse.move(box.x + box.width * from[0], box.y + box.height * from[1]);
  await page.mouse.down();
  for (let i = 1; i <= 8; i++) {
    const t = i / 8;
    await page.mouse.move(box.x + box.width * (from[0] + (to[0] - from[0]) * t), box.y + box.height * (from[1] + (to[1] - from[1]) * t));
  }
  await page.mouse.up();
}

/** A finger's stroke: the pointer events a touch screen sends (pointerType "touch"). */
async function touchStroke(page, from, to) {
  await page.getByTestId("mask-canvas").evaluate((canvas, [a, b]) => {
    const box = canvas.getBoundingClientRect();
    const at = (f) => ({ clientX: box.left + box.width * f[0], clientY: box.top + box.height * f[1] });
    const send = (type, f) => canvas.dispatchEvent(new PointerEvent(type, {
      bubbles: true, cancelable: true, pointerId: 41, pointerType: "touch", isPrimary: true, button: 0, buttons: 1, ...at(f),
    }));
    send("pointerdown", a);
    for (let i = 1; i <= 6; i++) send("pointermove", [a[0] + (b[0] - a[0]) * (i / 6), a[1] + (b[1] - a[1]) * (i / 6)]);
    send("pointerup", b);
  }, [from, to]);
}

/** Share of white and black pixels in a mask data URL, read back in the page. */
function maskShares(page, dataUrl) {
  return page.evaluate(async (url) => {
    const image = new Image();
    image.src = url;
    await image.decode();
    const canvas = new OffscreenCanvas(image.naturalWidth, image.naturalHeight);
    const context = canvas.getContext("2d");
    context.drawImage(image, 0, 0);
    const { data } = context.getImageData(0, 0, canvas.width, canvas.height);
    let white = 0;
    let black = 0;
    for (let i = 0; i < data.length; i += 4) {
      if (data[i] > 250 && data[i + 1] > 250 && data[i + 2] > 250) white += 1;
      else if (data[i] < 5 && data[i + 1] < 5 && data[i + 2] < 5) black += 1;
    }
    const pixels = data.length / 4;
    return { white: white / pixels, black: black / pixels, width: canvas.width, height: canvas.height };
  }, dataUrl);
}

/** A 900×600 PNG made in the page (larger than the free plan's 512×512). */
function bigPicture(page) {
  return page.evaluate(async () => {
    const canvas = new OffscreenCanvas(900, 600);
    const context = canvas.getContext("2d");
    const gradient = context.createLinearGradient(0, 0, 900, 600);
    gradient.addColorStop(0, "#1e3c72");
    gradient.addColorStop(1, "#f5af19");
    context.fillStyle = gradient;
    context.fillRect(0, 0, 900, 600);
    context.fillStyle = "#fff";
    context.beginPath();
    context.arc(450, 300, 140, 0, Math.PI * 2);
    context.fill();
    const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: "image/png" })).arrayBuffer());
    let binary = "";
    for (const byte of bytes) binary += String.fromCharCode(byte);
    return btoa(binary);
  });
}

export async function edit({ page, step, shot }) {
  await newVerifiedUser(page, step);
  await page.getByTestId("tier-limits").waitFor();

  step("size presets: each shape at the largest size of the free plan; 16:9 needs a higher plan");
  if (!(await page.getByTestId("preset-16:9").isDisabled())) throw new Error("16:9 is offered on the free plan");
  await expectText(page.getByTestId("preset-16:9"), "needs a higher plan", "the 16:9 preset");
  await page.getByTestId("preset-3:2").click();
  if ((await page.getByTestId("width-select").inputValue()) !== "384" || (await page.getByTestId("height-select").inputValue()) !== "256") {
    throw new Error("the 3:2 preset did not set 384×256");
  }

  step("the cost line: what the job costs in the units the plan's per-minute limit counts");
  await page.getByTestId("prompt-input").fill(FOX);
  await page.getByTestId("steps-input").fill(STEPS);
  await expectText(page.getByTestId("cost-line"), /This job costs 1 cost unit \(the least any job costs\)\. Your plan allows 5 cost units a minute; 5 left now\./, "the cost line");
  await page.getByTestId("steps-input").fill("30");
  await page.getByTestId("n-input").fill("4");
  await expectText(page.getByTestId("cost-units"), "1.5 cost units", "the cost of 4 images of 384×256 at 30 steps");
  await shot("presets-cost");
  await page.getByTestId("steps-input").fill(STEPS);
  await page.getByTestId("n-input").fill("1");

  step("a text-to-image job, then 'use this image' under its result");
  await generate(page);
  await page.getByTestId("use-as-input-button").first().click();
  await page.locator('[data-testid="kind-img2img"]:checked').waitFor({ timeout: 5_000 })
    .catch(() => { throw new Error("'use this image' did not switch to image to image"); });
  await expectText(page.getByTestId("input-image-label"), /your image \(seed \d+\)/, "the input after 'use this image'");
  await page.waitForFunction(() => document.querySelector(".input-image-preview")?.naturalWidth > 0);
  await shot("use-this-image");

  step("'use as input' in the gallery hands the image over; an img2img job starts from it");
  await page.getByRole("link", { name: "Gallery" }).first().click();
  await loaded(page, "gallery-item", "the gallery");
  await page.getByTestId("gallery-open").first().click();
  await page.getByTestId("lightbox-use-input").click();
  await page.waitForURL(/\/generate\?from=[^&]+&use=input/);
  const imageId = new URL(page.url()).searchParams.get("from");
  await page.getByTestId("input-image-label").waitFor();
  await expectText(page.getByTestId("input-image-label"), "an image from your gallery", "the handed-over input");
  if ((await page.getByTestId("prompt-input").inputValue()) !== FOX) throw new Error("the hand-off did not bring the prompt");
  await page.getByTestId("strength-input").fill("0.6");
  // Image to image starts 60% of the way down the schedule: 2 of the 4 steps run, and are charged.
  await expectText(page.getByTestId("cost-denoised"), `At strength 0.6 it runs 2 of its ${STEPS} steps, and is charged for those.`,
    "the steps an image-to-image job runs");
  await page.getByTestId("cost-line").scrollIntoViewIfNeeded();
  await shot("img2img-cost");
  const img2img = await generate(page);
  if (img2img.kind !== "img2img" || img2img.init_image !== imageId || img2img.strength !== 0.6) {
    throw new Error(`the img2img job sent ${JSON.stringify({ ...img2img, prompt: undefined })}`);
  }
  await shot("img2img-result");

  step("uploading: a file that is not a picture is refused in words");
  await page.getByTestId("kind-inpaint").check();
  await page.getByTestId("init-image-file").setInputFiles({ name: "notes.txt", mimeType: "text/plain", buffer: Buffer.from("not a picture") });
  await expectText(page.getByTestId("init-image-error"), "“notes.txt” is not a PNG, JPEG or WebP image.", "the refusal of a text file");
  await shot("upload-refused", { phone: false });

  step("uploading a 900×600 picture: scaled down to the free plan's 512 px, the job takes its size");
  const png = Buffer.from(await bigPicture(page), "base64");
  await page.getByTestId("init-image-file").setInputFiles({ name: "harbour.png", mimeType: "image/png", buffer: png });
  await expectText(page.getByTestId("input-image-chosen"), "harbour.png, 512×341px (scaled down from 900×600px)", "the uploaded input");
  if ((await page.getByTestId("width-select").inputValue()) !== "512" || (await page.getByTestId("height-select").inputValue()) !== "336") {
    throw new Error("the job did not take the upload's size (512×336)");
  }

  step("painting the mask: a mouse stroke, a finger's stroke, Ctrl+Z, another stroke, Undo");
  await page.getByTestId("mask-canvas").scrollIntoViewIfNeeded();
  const touchAction = await page.getByTestId("mask-canvas").evaluate((canvas) => getComputedStyle(canvas).touchAction);
  if (touchAction !== "none") throw new Error(`the canvas has touch-action ${touchAction}: a finger would scroll`);
  await mouseStroke(page, [0.3, 0.3], [0.7, 0.35]);
  await strokesAre(page, 1, "after a mouse stroke");
  await touchStroke(page, [0.3, 0.6], [0.7, 0.65]);
  await strokesAre(page, 2, "after a finger's stroke");
  await page.keyboard.press("Control+z");
  await strokesAre(page, 1, "after Ctrl+Z");
  await touchStroke(page, [0.4, 0.5], [0.6, 0.5]);
  await page.getByTestId("mask-erase").check();
  await mouseStroke(page, [0.45, 0.5], [0.55, 0.5]);
  await strokesAre(page, 3, "after painting and erasing");
  await page.getByTestId("mask-undo").click();
  await strokesAre(page, 2, "after the Undo button");
  await page.getByTestId("mask-erase").uncheck();
  await shot("mask");

  step("the inpaint job: the picture, a black mask with the strokes white, its size");
  const inpaint = await generate(page);
  if (inpaint.kind !== "inpaint" || !inpaint.init_image.startsWith("data:image/png;base64,") || !inpaint.mask.startsWith("data:image/png;base64,")) {
    throw new Error(`the inpaint job sent kind ${inpaint.kind}, init ${inpaint.init_image?.slice(0, 30)}, mask ${inpaint.mask?.slice(0, 30)}`);
  }
  if (inpaint.width !== 512 || inpaint.height !== 336) throw new Error(`the inpaint job is ${inpaint.width}×${inpaint.height}`);
  const shares = await maskShares(page, inpaint.mask);
  if (shares.width !== 512 || shares.height !== 341) throw new Error(`the mask is ${shares.width}×${shares.height}, not the input's 512×341`);
  if (!(shares.white > 0.02 && shares.white < 0.5 && shares.black > 0.4)) throw new Error(`the mask is not strokes on black: ${JSON.stringify(shares)}`);
  console.log(`[e2e:edit] mask ${shares.width}×${shares.height}: ${(shares.white * 100).toFixed(1)}% white, ${(shares.black * 100).toFixed(1)}% black`);
  await shot("inpaint-result");

  step("on a phone the painter fits the screen");
  await page.setViewportSize(PHONE);
  await page.getByTestId("mask-canvas").scrollIntoViewIfNeeded();
  const box = await page.getByTestId("mask-canvas").boundingBox();
  if (box.x < 0 || box.x + box.width > PHONE.width) throw new Error(`the mask canvas spans ${box.x}..${box.x + box.width} on a 390 px screen`);
  await touchStroke(page, [0.2, 0.2], [0.8, 0.8]);
  await strokesAre(page, 3, "a finger's stroke on a phone (the mask is kept for the next job)");
  await page.setViewportSize(DESKTOP);

  step("painting by keyboard: focus ring and cursor, Space down, arrows paint, Space up");
  await page.getByTestId("mask-clear").click();
  await strokesAre(page, 0, "after Clear");
  await page.getByTestId("brush-size").focus();
  await page.keyboard.press("Shift+Tab"); // the canvas, reached as a keyboard user would
  const focus = await page.getByTestId("mask-canvas").evaluate((canvas) => ({
    focused: document.activeElement === canvas, outline: getComputedStyle(canvas).outlineStyle,
    cursor: getComputedStyle(document.querySelector('[data-testid="mask-cursor"]')).display,
  }));
  if (!focus.focused || focus.outline === "none" || focus.cursor === "none") {
    throw new Error(`the canvas by keyboard: ${JSON.stringify(focus)} (focused, a focus ring, a visible cursor)`);
  }
  await page.keyboard.press("]");
  await page.keyboard.press("Space");
  for (let i = 0; i < 6; i++) await page.keyboard.press("ArrowRight");
  await page.keyboard.press("Shift+ArrowDown");
  await page.keyboard.press("Space");
  await strokesAre(page, 1, "after a keyboard stroke");
  const painted = await page.getByTestId("mask-canvas").evaluate((canvas) => {
    const { data } = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
    let count = 0;
    for (let i = 3; i < data.length; i += 4) if (data[i] > 0) count++;
    return count / (canvas.width * canvas.height);
  });
  if (!(painted > 0.01)) throw new Error(`the keyboard stroke left the mask empty (${(painted * 100).toFixed(2)}% painted)`);
  console.log(`[e2e:edit] keyboard stroke painted ${(painted * 100).toFixed(1)}% of the mask`);
  await shot("mask-keyboard");

  step("the usage page: the same per-minute budget in cost units, counting down to full");
  await page.getByRole("link", { name: "Usage" }).first().click();
  await page.getByTestId("usage-minute").waitFor();
  await expectText(page.getByTestId("usage-minute"), "Cost units per minute", "the usage page's budget");
  await expectText(page.getByTestId("usage-minute-reset"), /Full again in \d+ s\.|Full now\./, "the usage page's reset");
  await shot("usage");
}

// The "loras" browser flow: a model whose workers announce a LoRA adapter (ATELIER_LORA_DIR)
// offers it on the generate form; the person adds it, weighs it with the keyboard on its slider,
// generates, and "use these settings again" brings the LoRA back at that weight. A platform whose
// catalogue offers no LoRA ends the flow as UNSUPPORTED (a skip), never as a pass.
import { JOB_TIMEOUT_MS, Unsupported, newVerifiedUser, outcome } from "./lib.mjs";

const CATALOGUE_WAIT_MS = 45_000;

/** Picks the first model of the catalogue that offers a LoRA; its name, or null when none does.
 * The page reads the catalogue once: a platform that just started may not have heard from its
 * workers yet, so the page is reloaded until the catalogue is there. */
async function modelWithLoras(page) {
  const select = page.getByTestId("model-select");
  const deadline = Date.now() + CATALOGUE_WAIT_MS;
  while (!(await select.waitFor({ timeout: 3_000 }).then(() => true, () => false))) {
    if (Date.now() > deadline) throw new Unsupported("the form shows no model catalogue");
    await page.reload();
  }
  const names = await select.locator("option:not([disabled])").evaluateAll((options) => options.map((o) => o.value));
  for (const name of names) {
    await select.selectOption(name);
    if (await page.getByTestId("lora-picker").count()) return name;
  }
  return null;
}

export async function loras({ page, step, shot }) {
  await newVerifiedUser(page, step);

  step("finding a model with LoRA adapters");
  const model = await modelWithLoras(page);
  if (!model) throw new Unsupported("no model of the catalogue offers a LoRA (start a worker with ATELIER_LORA_DIR)");
  const lora = await page.getByTestId("lora-add-select").inputValue();
  step(`adding ${lora} of ${model}`);
  await page.getByRole("button", { name: "Add LoRA" }).click();
  const weight = page.getByLabel(`Weight of ${lora}`);
  if (!(await weight.evaluate((input) => input === document.activeElement))) throw new Error("focus did not move to the new LoRA's weight");
  if ((await weight.inputValue()) !== "1") throw new Error(`a new LoRA starts at weight ${await weight.inputValue()}, not 1`);

  step("weighing it with the keyboard on the slider");
  await page.getByLabel(`${lora} weight slider`).focus();
  for (let i = 0; i < 4; i += 1) await page.keyboard.press("ArrowLeft");
  if ((await weight.inputValue()) !== "0.8") throw new Error(`four steps down the slider read ${await weight.inputValue()}, not 0.8`);
  await page.getByTestId("prompt-input").fill("a lighthouse on a cliff at dusk, oil painting");
  await page.getByTestId("steps-input").fill("4");
  await shot("chosen");

  step("generating with it");
  const [request] = await Promise.all([
    page.waitForRequest((r) => r.method() === "POST" && new URL(r.url()).pathname === "/api/v1/jobs"),
    page.getByTestId("generate-button").click(),
  ]);
  const sent = request.postDataJSON().loras;
  if (JSON.stringify(sent) !== JSON.stringify([{ name: lora, weight: 0.8 }])) throw new Error(`sent loras ${JSON.stringify(sent)}`);
  await outcome(page, "generated-image", ["job-error", "error-banner"], JOB_TIMEOUT_MS);
  await page.locator('[data-testid="job-status"][data-status="succeeded"]').waitFor({ timeout: JOB_TIMEOUT_MS });
  await shot("result");

  step("using these settings again brings the LoRA back");
  await page.getByTestId("lora-remove-0").click();
  await page.getByTestId("reuse-button").first().click();
  await page.locator(`[data-testid="lora-row"][data-lora="${lora}"]`).waitFor();
  if ((await weight.inputValue()) !== "0.8") throw new Error(`the reused LoRA's weight is ${await weight.inputValue()}`);
}

import type { FieldErrors, ModelInfo, Usage } from "./api";
import { costInWords, costUnits, denoisedSteps } from "./cost";
import type { LoraChoice } from "./loras";

/** Sides the width and height selects offer (576 makes 16:9 and 9:16 exact at 1024). */
export const SIZES = [256, 384, 512, 576, 640, 768, 1024] as const;
export const MIN_STEPS = 1;
export const MAX_STEPS = 50;
export const MAX_PROMPT = 2000;
export const MIN_PASSWORD = 8;
export const MAX_BATCH = 4;
export const GUIDANCE_MAX = 30;
export const SEED_MAX = 2 ** 32 - 1;
/** img2img/inpaint strength: the API takes (0, 1] (0 would return the input unchanged). */
export const STRENGTH_MIN = 0.05;
export const STRENGTH_STEP = 0.05;
export const STRENGTH_DEFAULT = 0.75;

export type JobKind = "txt2img" | "img2img" | "inpaint";

export function validateCredentials(email: string, password: string): FieldErrors {
  const errors: FieldErrors = {};
  if (!email.trim()) errors.email = ["Enter your e-mail address."];
  else if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(email.trim())) errors.email = ["Enter a valid e-mail address."];
  Object.assign(errors, validateNewPassword(password, "password"));
  return errors;
}

export function validateNewPassword(password: string, field = "password"): FieldErrors {
  if (!password) return { [field]: ["Enter a password."] };
  if (password.length < MIN_PASSWORD) return { [field]: [`Use at least ${MIN_PASSWORD} characters.`] };
  return {};
}

export interface GenerateValues {
  kind: JobKind;
  prompt: string;
  negativePrompt: string;
  width: string;
  height: string;
  steps: string;
  guidance: string;
  seedMode: "random" | "fixed";
  seed: string;
  scheduler: string;
  n: string;
  strength: string;
  /** The catalogue's name (GET /api/v1/models); absent in drafts kept before there was a choice. */
  model?: string;
  /** LoRA adapters of the model, in the order they apply; read through `lorasOf` (a draft may hold anything). */
  loras?: LoraChoice[];
  /** The person chose the width or height themselves (or a picture's size set them): a new model keeps that size. */
  customSize?: boolean;
}

/** A shape the form offers, at the size that suits the plan and the model. */
export interface SizePreset {
  ratio: string;
  /** null: no size of this shape fits the plan. */
  size: { width: number; height: number } | null;
}

export const ASPECT_RATIOS = ["1:1", "4:3", "3:4", "3:2", "2:3", "16:9", "9:16"] as const;

/** Whether the model takes this side: at most its largest, a multiple of its step. */
function modelTakes(side: number, model: ModelInfo | null): boolean {
  return !model || (side <= model.limits.max_size && side % model.limits.size_multiple === 0);
}

/** For each ratio, a width×height from SIZES of exactly that shape within the plan's limits (any
 * size without limits) and the model's, so a preset always matches the width and height selects.
 * Without a model: the largest such size. With one: the size nearest the model's native area
 * (native×native, what it was made for), the larger on a tie, so a 1024 model offers 1024×576
 * where a 512 model offers 576×384. */
export function sizePresets(limits: Limits, model: ModelInfo | null = null): SizePreset[] {
  const maxWidth = limits?.max_width ?? Infinity;
  const maxHeight = limits?.max_height ?? Infinity;
  const native = model ? Math.min(model.limits.native_size, model.limits.max_size) ** 2 : Infinity;
  // Distance from the native area on a log scale: twice the area is as far as half of it.
  const distance = (width: number, height: number) => (model ? Math.abs(Math.log((width * height) / native)) : -width * height);
  return ASPECT_RATIOS.map((ratio) => {
    const [across, down] = ratio.split(":").map(Number);
    let best: SizePreset["size"] = null;
    for (const width of SIZES) {
      for (const height of SIZES) {
        if (width * down !== height * across || width > maxWidth || height > maxHeight) continue;
        if (!modelTakes(width, model) || !modelTakes(height, model)) continue;
        const nearer = !best || distance(width, height) < distance(best.width, best.height)
          || (distance(width, height) === distance(best.width, best.height) && width * height > best.width * best.height);
        if (nearer) best = { width, height };
      }
    }
    return { ratio, size: best };
  });
}

/** The preset ratio a width×height has exactly ("16:9"), or null for any other shape. */
export function ratioOf(width: number, height: number): string | null {
  return ASPECT_RATIOS.find((ratio) => {
    const [across, down] = ratio.split(":").map(Number);
    return width > 0 && width * down === height * across;
  }) ?? null;
}

export type Limits = Usage["limits"] | null;

const isInt = (value: string) => /^\d+$/.test(value.trim());

/** What the form refuses before sending, worded for the person and the plan they are on. */
/** What the form's job costs, in the server's units (img2img and inpaint: the steps they run). */
export function valuesCost(v: GenerateValues): number {
  return costUnits(Number(v.width), Number(v.height), denoisedSteps(v.kind, Number(v.steps), Number(v.strength)), Number(v.n));
}

export function validateGenerate(v: GenerateValues, limits: Limits, remainingToday: number | null = null): FieldErrors {
  const errors: FieldErrors = {};
  if (!v.prompt.trim()) errors.prompt = ["Describe the image you want."];
  else if (v.prompt.length > MAX_PROMPT) errors.prompt = [`Keep the prompt under ${MAX_PROMPT} characters.`];
  if (v.negativePrompt.length > MAX_PROMPT) errors.negative_prompt = [`Keep it under ${MAX_PROMPT} characters.`];

  const maxSteps = Math.min(MAX_STEPS, limits?.max_steps ?? MAX_STEPS);
  const steps = Number(v.steps);
  if (!isInt(v.steps) || steps < MIN_STEPS) errors.steps = [`Steps must be a whole number from ${MIN_STEPS} to ${maxSteps}.`];
  else if (steps > maxSteps) {
    errors.steps = [limits && limits.max_steps < MAX_STEPS
      ? `Your plan allows up to ${maxSteps} steps.`
      : `Steps must be a whole number from ${MIN_STEPS} to ${maxSteps}.`];
  }
  for (const side of ["width", "height"] as const) {
    const max = side === "width" ? limits?.max_width : limits?.max_height;
    if (max && Number(v[side]) > max) errors[side] = [`Your plan allows up to ${max}px.`];
  }
  const guidance = Number(v.guidance);
  if (v.guidance.trim() === "" || !Number.isFinite(guidance) || guidance < 0 || guidance > GUIDANCE_MAX) {
    errors.guidance = [`Guidance must be a number from 0 to ${GUIDANCE_MAX}.`];
  }
  if (v.seedMode === "fixed" && (!isInt(v.seed) || Number(v.seed) > SEED_MAX)) {
    errors.seed = [`A seed is a whole number from 0 to ${SEED_MAX}.`];
  }
  const n = Number(v.n);
  if (!isInt(v.n) || n < 1 || n > MAX_BATCH) errors.n = [`Make 1 to ${MAX_BATCH} images at a time.`];
  else if (remainingToday !== null && n > remainingToday) {
    errors.n = [remainingToday === 0
      ? "You have no images left today; your allowance resets at midnight UTC."
      : `You have ${remainingToday} image${remainingToday === 1 ? "" : "s"} left today.`];
  }
  if (v.kind !== "txt2img") {
    const strength = Number(v.strength);
    if (v.strength.trim() === "" || !Number.isFinite(strength) || strength <= 0 || strength > 1) {
      errors.strength = ["Strength is a number above 0 and at most 1."];
    } else if (!errors.steps && Math.trunc(steps * strength) < 1) {
      errors.strength = [`At strength ${strength} no step of the ${steps} runs: raise the strength or the steps (steps × strength at least 1).`];
    }
  }
  // The server refuses outright a job that costs more than the whole per-minute budget.
  const perMinute = limits?.requests_per_minute;
  if (perMinute !== undefined && !errors.steps && !errors.n && !errors.width && !errors.height) {
    const cost = valuesCost(v);
    if (cost > perMinute) {
      errors.cost = [`This job costs ${costInWords(cost)}; your plan allows ${costInWords(perMinute)} a minute. Use fewer steps or images, or a smaller size.`];
    }
  }
  return errors;
}

export const FAMILY_LABELS: Record<string, string> = {
  sd1: "Stable Diffusion 1.x", sd2: "Stable Diffusion 2.x", sdxl: "SDXL", sd3: "Stable Diffusion 3", flux: "FLUX.1",
};

/** The model's family and variant in words: "FLUX.1 schnell", "SDXL". */
export function modelFamily(model: ModelInfo): string {
  const family = FAMILY_LABELS[model.family] ?? model.family;
  return model.variant === "base" ? family : `${family} ${model.variant}`;
}

/** The form's values moved onto a model: its steps and guidance, nothing it cannot take (a
 * negative prompt, a kind, a scheduler), and its size (see `sizeForModel`). LoRAs the model does
 * not offer are the form's to drop, with a word to the person. */
export function valuesForModel(v: GenerateValues, model: ModelInfo, limits: Limits): GenerateValues {
  const m = model.limits;
  const size = sizeForModel(v, model, limits);
  return {
    ...v, model: model.name, width: String(size.width), height: String(size.height),
    customSize: size.kept && v.customSize,
    steps: String(m.default_steps), guidance: String(m.default_guidance),
    negativePrompt: m.negative_prompt ? v.negativePrompt : "",
    kind: (model.kinds as string[]).includes(v.kind) ? v.kind : "txt2img",
    scheduler: !model.schedulers || model.schedulers.includes(v.scheduler) ? v.scheduler : "default",
  };
}

/** The size on a new model: a size the person chose stays while the model and the plan take it;
 * any other moves to the model's preset of the same shape (native-sized, within the plan), or to
 * its native square when the shape is not a preset's. */
export function sizeForModel(v: GenerateValues, model: ModelInfo, limits: Limits): { width: number; height: number; kept: boolean } {
  const width = Number(v.width);
  const height = Number(v.height);
  const fits = (side: number, planMax: number | undefined) => side > 0 && modelTakes(side, model) && side <= (planMax ?? Infinity);
  if (v.customSize && fits(width, limits?.max_width) && fits(height, limits?.max_height)) return { width, height, kept: true };
  const ratio = ratioOf(width, height);
  const preset = ratio ? sizePresets(limits, model).find((p) => p.ratio === ratio)?.size : null;
  if (preset) return { ...preset, kept: false };
  const m = model.limits;
  const side = (planMax: number | undefined) => largestSide(Math.min(m.native_size, m.max_size, planMax ?? Infinity), m.size_multiple);
  return { width: side(limits?.max_width), height: side(limits?.max_height), kept: false };
}

/** The largest side the selects offer that is at most `max` and a multiple of `multiple`. */
function largestSide(max: number, multiple: number): number {
  const fits = SIZES.filter((size) => size <= max && size % multiple === 0);
  return fits.length ? fits[fits.length - 1] : SIZES[0];
}

/** What the chosen model refuses (the server says the same, as `outside_model_limits`). */
export function validateModel(v: GenerateValues, model: ModelInfo | null): FieldErrors {
  if (!model) return {};
  const errors: FieldErrors = {};
  const name = `${model.name} (${modelFamily(model)})`;
  if (model.state === "unavailable") errors.model = [`${name} is not being served right now; pick another model.`];
  else if (!model.allowed) errors.model = [`${name} is not part of your plan.`];
  const m = model.limits;
  if (!(model.kinds as string[]).includes(v.kind)) errors.kind = [`${name} cannot do this; it does ${model.kinds.join(", ")}.`];
  if (isInt(v.steps) && Number(v.steps) > m.max_steps) errors.steps = [`${name} takes up to ${m.max_steps} steps.`];
  if (Number(v.guidance) > m.max_guidance) {
    errors.guidance = [m.max_guidance === 0 ? `${name} runs without guidance: use 0.` : `${name} takes guidance up to ${m.max_guidance}.`];
  }
  if (v.negativePrompt.trim() && !m.negative_prompt) errors.negative_prompt = [`${name} takes no negative prompt.`];
  for (const side of ["width", "height"] as const) {
    const value = Number(v[side]);
    if (value > m.max_size) errors[side] = [`${name} makes up to ${m.max_size}px.`];
    else if (value % m.size_multiple) errors[side] = [`${name} needs a multiple of ${m.size_multiple}px.`];
  }
  if (model.schedulers && !model.schedulers.includes(v.scheduler)) errors.scheduler = [`${name} runs ${model.schedulers.join(", ")}.`];
  return errors;
}

/** What an img2img or inpaint job needs besides its values: a picture, and for inpaint some paint. */
export function validateInputs(kind: JobKind, hasInput: boolean, painted: boolean): FieldErrors {
  if (kind === "txt2img") return {};
  if (!hasInput) return { init_image: ["Choose the picture to start from: upload one, or use one of your images."] };
  if (kind === "inpaint" && !painted) return { mask: ["Paint over the part of the picture that should change."] };
  return {};
}

export const hasErrors = (errors: FieldErrors) => Object.keys(errors).length > 0;

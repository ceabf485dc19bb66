// The generate form's values and the API's job: a job's parameters as values ("use these settings
// again"), values as the request sent, the API's field errors mapped back onto the form, and a 429
// in words. No React here: GenerateForm holds the state and draws it.
import type { ApiError, FieldErrors, JobRequest, ModelInfo, Usage } from "./api";
import { costInWords } from "./cost";
import { fitWithin, type InputImage } from "./imageInput";
import { isLoraField, loraFocusId, lorasOf, lorasRequest } from "./loras";
import { maskDataUrl, type Stroke } from "./mask";
import { STRENGTH_DEFAULT, type GenerateValues, type JobKind } from "./validation";

export const DEFAULT_VALUES: GenerateValues = {
  kind: "txt2img", prompt: "", negativePrompt: "", width: "256", height: "256", steps: "20", guidance: "7.5",
  seedMode: "random", seed: "", scheduler: "default", n: "1", strength: String(STRENGTH_DEFAULT), model: "default",
  loras: [], customSize: false,
};

export const KINDS: { kind: JobKind; label: string; hint: string }[] = [
  { kind: "txt2img", label: "Text to image", hint: "from the prompt alone" },
  { kind: "img2img", label: "Image to image", hint: "a new picture from yours" },
  { kind: "inpaint", label: "Inpaint", hint: "repaint the part you brush over" },
];

/** The form's values for a job's parameters ("use these settings again"). */
export function valuesFromParams(params: Record<string, unknown>, seed?: number): GenerateValues {
  const str = (key: string, fallback: string) => (params[key] === undefined || params[key] === null ? fallback : String(params[key]));
  const fixed = seed ?? (typeof params.seed === "number" ? params.seed : undefined);
  // An image-based job keeps its kind: the form keeps the input image it has (the API does not
  // give the job's input back), and asks for one when it has none.
  const kind = KINDS.some((k) => k.kind === params.kind) ? (params.kind as JobKind) : "txt2img";
  return {
    kind, strength: str("strength", DEFAULT_VALUES.strength),
    prompt: str("prompt", ""), negativePrompt: str("negative_prompt", ""), width: str("width", DEFAULT_VALUES.width),
    height: str("height", DEFAULT_VALUES.height), steps: str("steps", DEFAULT_VALUES.steps),
    guidance: str("guidance", DEFAULT_VALUES.guidance), scheduler: str("scheduler", "default"),
    // One image's seed reproduces that image: a batch would add the seeds after it.
    n: seed === undefined ? str("n", "1") : "1",
    seedMode: fixed === undefined ? "random" : "fixed", seed: fixed === undefined ? "" : String(fixed),
    model: str("model", "default"), loras: lorasOf(params.loras), customSize: false,
  };
}

/** A 429 in words: which limit, and the plan's number where we know it. `cost` is the refused
 * job's, in the units the per-minute limit counts (never "requests": a big job spends several). */
export function limitMessage(error: ApiError, usage: Usage | null, cost?: number): string {
  const limits = usage?.limits;
  switch (error.code) {
    case "rate_limited":
      return `Your plan's ${limits ? `${costInWords(limits.requests_per_minute)} a minute are` : "cost units for this minute are"} used up for now`
        + `${cost === undefined ? "" : ` and this job costs ${costInWords(cost)}`}; they refill as time passes.`;
    case "quota_exceeded":
      return `You have used today's images${limits ? ` (${limits.images_per_day} a day)` : ""}.`;
    case "concurrency_limit":
      return `You already have as many jobs queued or running as your plan allows${limits ? ` (${limits.concurrency})` : ""}.`;
    default:
      return /[.!?]$/.test(error.message) ? error.message : `${error.message}.`;
  }
}

/** What is sent with an img2img or inpaint job besides the values. */
export interface EditInputs {
  input: InputImage | null;
  strokes: Stroke[];
}

/** The mask's size: the input's, within the plan (the API refuses a larger mask as it would the image). */
export function maskSize(input: InputImage, usage: Usage | null) {
  return fitWithin(input.width, input.height, usage?.limits.max_width ?? Infinity, usage?.limits.max_height ?? Infinity);
}

export function toRequest(v: GenerateValues, { input, strokes }: EditInputs, usage: Usage | null, model: ModelInfo | null): JobRequest {
  const request: JobRequest = {
    kind: v.kind, prompt: v.prompt.trim(), width: Number(v.width), height: Number(v.height),
    steps: Number(v.steps), guidance: Number(v.guidance), n: Number(v.n),
  };
  // Only a model the catalogue lists: a draft's model that is gone sends the default instead.
  if (model && model.name !== "default") request.model = model.name;
  if (v.negativePrompt.trim() && model?.limits.negative_prompt !== false) request.negative_prompt = v.negativePrompt.trim();
  if (v.seedMode === "fixed") request.seed = Number(v.seed);
  if (v.scheduler !== "default") request.scheduler = v.scheduler;
  Object.assign(request, lorasRequest(lorasOf(v.loras)));
  if (v.kind !== "txt2img" && input) {
    request.init_image = input.ref;
    request.strength = Number(v.strength);
    if (v.kind === "inpaint") {
      const size = maskSize(input, usage);
      request.mask = maskDataUrl(strokes, size.width, size.height);
    }
  }
  return request;
}

export const FIELD_NAMES: Record<string, keyof GenerateValues> = {
  prompt: "prompt", negative_prompt: "negativePrompt", width: "width", height: "height", steps: "steps",
  guidance: "guidance", seed: "seed", scheduler: "scheduler", n: "n", strength: "strength", model: "model",
};
/** Fields shown by their own components (the picker, the painter, the cost line), not by a Field. */
export const OWN_FIELDS = new Set(["init_image", "mask", "cost"]);
/** The element that takes focus for an error on each field, where its id differs from the name. */
const FOCUS_IDS: Record<string, string> = { negative_prompt: "negative-prompt", init_image: "init_image", mask: "mask", cost: "cost" };
export const focusId = (field: string) => (isLoraField(field) ? loraFocusId(field) : FOCUS_IDS[field] ?? field);
/** Only the errors of the LoRA chooser, or all the others. */
export const loraErrors = (errors: FieldErrors, lora: boolean) => Object.fromEntries(Object.entries(errors).filter(([name]) => isLoraField(name) === lora));

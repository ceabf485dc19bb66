import type { FieldErrors, JobRequest, ModelInfo } from "./api";

/** The API's bounds (pre_inference's job rules): at most 4 LoRAs a job, each weighted -2 to 2, 1 by default. */
export const LORAS_MAX = 4;
export const LORA_WEIGHT_MIN = -2;
export const LORA_WEIGHT_MAX = 2;
export const LORA_WEIGHT_STEP = 0.05;
export const LORA_WEIGHT_DEFAULT = 1;

/** A LoRA adapter the form applies. The weight stays text while it is typed, like the form's other numbers. */
export interface LoraChoice {
  name: string;
  weight: string;
}

/** The LoRAs in a draft or a job's parameters: well-formed entries only, each name once, at most
 * LORAS_MAX (a stored draft may hold anything, an older job something else). */
export function lorasOf(value: unknown): LoraChoice[] {
  if (!Array.isArray(value)) return [];
  const seen = new Set<string>();
  const loras: LoraChoice[] = [];
  for (const entry of value) {
    if (!entry || typeof entry !== "object") continue;
    const { name, weight } = entry as Record<string, unknown>;
    if (typeof name !== "string" || !name || seen.has(name)) continue;
    seen.add(name);
    const text = typeof weight === "number" || typeof weight === "string" ? String(weight) : String(LORA_WEIGHT_DEFAULT);
    loras.push({ name, weight: text });
  }
  return loras.slice(0, LORAS_MAX);
}

/** The LoRAs the model's workers offer (none without a model). */
export const offeredLoras = (model: ModelInfo | null): string[] => model?.loras ?? [];

/** What the form refuses before sending, under the names the API uses (`loras[0].weight`). */
export function validateLoras(loras: LoraChoice[], model: ModelInfo | null): FieldErrors {
  const errors: FieldErrors = {};
  if (loras.length > LORAS_MAX) errors.loras = [`A job takes at most ${LORAS_MAX} LoRAs.`];
  const offered = offeredLoras(model);
  loras.forEach(({ name, weight }, index) => {
    const value = Number(weight);
    if (weight.trim() === "" || !Number.isFinite(value) || value < LORA_WEIGHT_MIN || value > LORA_WEIGHT_MAX) {
      errors[`loras[${index}].weight`] = [`A weight is a number from ${LORA_WEIGHT_MIN} to ${LORA_WEIGHT_MAX}.`];
    }
    if (model && !offered.includes(name)) errors[`loras[${index}].name`] = [`${model.name} does not offer this LoRA.`];
  });
  return errors;
}

/** The request's `loras`; absent without any, so such a job is what it was before LoRAs. */
export function lorasRequest(loras: LoraChoice[]): Pick<JobRequest, "loras"> {
  return loras.length ? { loras: loras.map(({ name, weight }) => ({ name, weight: Number(weight) })) } : {};
}

/** Whether an error field is one of the LoRA chooser's (`loras`, `loras[1].name`). */
export const isLoraField = (field: string) => field === "loras" || field.startsWith("loras[");

/** The element that takes focus for an error on a LoRA field. */
export function loraFocusId(field: string): string {
  const match = /^loras\[(\d+)\]\.(\w+)$/.exec(field);
  if (!match) return "lora-add";
  return match[2] === "weight" ? `lora-weight-${match[1]}` : `lora-remove-${match[1]}`;
}

/** "detail × 0.8, ink × 1": a job's LoRAs in words. */
export const lorasInWords = (loras: LoraChoice[]) => loras.map(({ name, weight }) => `${name} × ${weight}`).join(", ");

/** What to tell the person when a new model drops LoRAs it does not offer. */
export function droppedNotice(modelName: string | null, names: string[]): string {
  const quoted = names.map((name) => `“${name}”`);
  const list = quoted.length > 1 ? `${quoted.slice(0, -1).join(", ")} and ${quoted[quoted.length - 1]}` : quoted[0];
  const who = modelName ?? "This model";
  return names.length > 1
    ? `${who} does not offer the LoRAs ${list}, so they were removed.`
    : `${who} does not offer the LoRA ${list}, so it was removed.`;
}

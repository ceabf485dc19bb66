import type { FieldErrors, Usage } from "./api";

export const SIZES = [256, 384, 512, 640, 768, 1024] as const;
export const MIN_STEPS = 1;
export const MAX_STEPS = 50;
export const MAX_PROMPT = 2000;
export const MIN_PASSWORD = 8;
export const MAX_BATCH = 4;
export const GUIDANCE_MAX = 30;
export const SEED_MAX = 2 ** 32 - 1;

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
}

export type Limits = Usage["limits"] | null;

const isInt = (value: string) => /^\d+$/.test(value.trim());

/** What the form refuses before sending, worded for the person and the plan they are on. */
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
  return errors;
}

export const hasErrors = (errors: FieldErrors) => Object.keys(errors).length > 0;

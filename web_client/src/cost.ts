// What a job costs in the server's units, so the form can say it before Generate. This mirrors
// services/pre_inference/app/domain/policy.py `cost_units`; change both together.
// The rate limit (`usage.limits.requests_per_minute`) is counted in these units, per minute.

/** The reference job costs exactly one unit: 512×512 pixels, 30 steps, one image. */
export const REFERENCE_PIXELS = 512 * 512;
export const REFERENCE_STEPS = 30;
/** Nothing costs less than one request. */
export const MIN_COST = 1;

/** The steps the worker runs, which is what a job is charged for: all of a txt2img job's; for
 * img2img and inpaint, which start `strength` of the way down the schedule, `trunc(steps * strength)`
 * (policy.py `denoised_steps`). A strength outside (0, 1] or one that runs no step (the form
 * refuses both) counts every step, so the cost shown is never below what the server will charge. */
export function denoisedSteps(kind: string, steps: number, strength: number): number {
  const denoised = Math.trunc(steps * strength);
  if (kind === "txt2img" || !Number.isFinite(strength) || strength <= 0 || strength > 1 || denoised < 1) return steps;
  return denoised;
}

/** The job's size in units before the minimum: `width*height/512² * steps/30 * n`, `steps` being the denoised ones. */
export function rawCostUnits(width: number, height: number, steps: number, n: number): number {
  return ((width * height) / REFERENCE_PIXELS) * (steps / REFERENCE_STEPS) * n;
}

/** `max(1, raw)`, rounded to 4 places like the server's `round(x, 4)`. */
export function costUnits(width: number, height: number, steps: number, n: number): number {
  return Math.round(Math.max(MIN_COST, rawCostUnits(width, height, steps, n)) * 10_000) / 10_000;
}

/** "1 cost unit", "2.925 cost units": at most 4 places, as the server counts them. */
export function costInWords(units: number): string {
  const number = Number.isInteger(units) ? String(units) : String(Number(units.toFixed(4)));
  return `${number} cost unit${units === 1 ? "" : "s"}`;
}

/** The per-minute budget left at `nowMs`, from `usage.resets_at.minute` (when it is full again).
 * The server's limit is a GCRA bucket: it refills continuously, one unit every 60/perMinute s,
 * so what is left is the part of the minute that has already refilled. */
export function budgetLeft(perMinute: number, fullAtMs: number, nowMs: number): number {
  const emptyFor = Math.min(60_000, Math.max(0, fullAtMs - nowMs));
  return (perMinute * (60_000 - emptyFor)) / 60_000;
}

/** Seconds until `needed` units have flowed back into a budget of `perMinute` that has `left` now:
 * the server's budget refills continuously (one unit every 60/perMinute s), not once a minute. */
export function secondsUntilAffordable(needed: number, left: number, perMinute: number): number {
  if (perMinute <= 0) return Infinity;
  return Math.max(0, Math.ceil(((needed - left) * 60) / perMinute));
}

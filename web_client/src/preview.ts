/**
 * The live preview of a running job: pre_inference's job stream sends `event: preview` with
 * `{job_id, step, image}`, where `image` is a small JPEG (or WebP) data URL the worker made from
 * the latents of a step (no VAE: rough colours, 64–128 px). Only such a data URL is ever put
 * into an <img>: anything else in the message is ignored.
 */
export interface JobPreviewFrame {
  image: string;
  /** The step the picture is from, when the stream said. */
  step: number | null;
}

/** The bound inference.job.progress v2 puts on a preview. */
export const MAX_PREVIEW_CHARS = 16_384;
const PREVIEW_URL = /^data:image\/(jpeg|webp);base64,[A-Za-z0-9+/]+={0,2}$/;

/** The preview in one `event: preview` message of job `jobId`, or null when it is not one. */
export function readPreview(data: string, jobId: string): JobPreviewFrame | null {
  let body: unknown;
  try {
    body = JSON.parse(data);
  } catch {
    return null;
  }
  if (!body || typeof body !== "object") return null;
  const { job_id: id, image, step } = body as Record<string, unknown>;
  if (id !== jobId || typeof image !== "string" || image.length > MAX_PREVIEW_CHARS || !PREVIEW_URL.test(image)) return null;
  return { image, step: typeof step === "number" && Number.isInteger(step) && step >= 0 ? step : null };
}

/** What the preview's picture says to someone who cannot see it. */
export function previewLabel(step: number | null, totalSteps: number | null | undefined, images: number): string {
  const which = images > 1 ? "the first image" : "the image";
  const when = step ? `, at step ${step}${totalSteps ? ` of ${totalSteps}` : ""}` : "";
  return `Rough preview of ${which} being generated${when}`;
}

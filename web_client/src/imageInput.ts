// The picture an img2img or inpaint job starts from: one of the person's images (the API takes its
// id) or a file they upload (sent as a data URL). The API's rules for an upload are in
// services/pre_inference/app/adapters/uploads.py: PNG, JPEG or WebP, at most
// `pre_inference_upload_max_bytes` (8 MiB) decoded, and no larger than the plan's
// max_width×max_height (`exceeds_tier`). A larger picture is scaled down here to fit the plan
// (the worker resizes it to the job's size anyway), so only a file the browser cannot read, or
// one still too heavy after that, is refused.
import type { Limits } from "./validation";

export const UPLOAD_MAX_BYTES = 8 * 1024 * 1024;
export const UPLOAD_TYPES = ["image/png", "image/jpeg", "image/webp"] as const;
/** Sides the API takes are multiples of 8 from 64 (app/domain/jobs.py SIDE_MULTIPLE, SIDE_MIN). */
const SIDE_MULTIPLE = 8;
const SIDE_MIN = 64;

export interface InputImage {
  /** What the API's `init_image` takes: an image id, or a data:image/png;base64 URL. */
  ref: string;
  /** What the page shows (a signed URL, or the data URL itself). */
  url: string;
  width: number;
  height: number;
  /** Where it came from, in words: a file's name, or "one of your images". */
  label: string;
  /** The upload's own size when it was scaled down to fit the plan. */
  scaledFrom?: { width: number; height: number };
}

/** An upload the page refuses, with the sentence to show. */
export class UploadProblem extends Error {}

/** The largest width×height of the same shape within the box (never enlarged). */
export function fitWithin(width: number, height: number, maxWidth: number, maxHeight: number) {
  const scale = Math.min(1, maxWidth / width, maxHeight / height);
  return { width: Math.max(1, Math.floor(width * scale)), height: Math.max(1, Math.floor(height * scale)) };
}

/** A side the API accepts for a job of this input's size: down to a multiple of 8, at least 64. */
export const jobSide = (side: number) => Math.max(SIDE_MIN, Math.floor(side / SIDE_MULTIPLE) * SIDE_MULTIPLE);

/** Bytes a base64 data URL decodes to (what the API's 8 MiB limit counts). */
export function dataUrlBytes(dataUrl: string): number {
  const payload = dataUrl.slice(dataUrl.indexOf(",") + 1);
  const padding = payload.endsWith("==") ? 2 : payload.endsWith("=") ? 1 : 0;
  return Math.floor((payload.length * 3) / 4) - padding;
}

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** Refuses a file the API would refuse by its type, before reading it. */
export function checkUploadType(file: Pick<File, "type" | "name">) {
  if (!(UPLOAD_TYPES as readonly string[]).includes(file.type)) {
    throw new UploadProblem(`“${file.name}” is not a PNG, JPEG or WebP image. Choose one of those.`);
  }
}

/** The refusal for an encoded picture over the API's limit, or null when it fits. */
export function oversizeProblem(dataUrl: string): string | null {
  const bytes = dataUrlBytes(dataUrl);
  return bytes > UPLOAD_MAX_BYTES
    ? `This picture is ${megabytes(bytes)} even at your plan's size; the server takes up to ${megabytes(UPLOAD_MAX_BYTES)}. Try a smaller or simpler picture.`
    : null;
}

/** Reads a chosen file into an input image: checked, scaled down to the plan, re-encoded as PNG. */
export async function readUpload(file: File, limits: Limits): Promise<InputImage> {
  checkUploadType(file);
  let bitmap: ImageBitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new UploadProblem(`“${file.name}” could not be read as a picture. Is the file complete?`);
  }
  const size = fitWithin(bitmap.width, bitmap.height, limits?.max_width ?? Infinity, limits?.max_height ?? Infinity);
  const canvas = document.createElement("canvas");
  canvas.width = size.width;
  canvas.height = size.height;
  const context = canvas.getContext("2d");
  if (!context) throw new UploadProblem("This browser cannot prepare the picture (no canvas).");
  context.drawImage(bitmap, 0, 0, size.width, size.height);
  const scaled = size.width !== bitmap.width || size.height !== bitmap.height;
  const original = { width: bitmap.width, height: bitmap.height };
  bitmap.close();
  const dataUrl = canvas.toDataURL("image/png");
  const problem = oversizeProblem(dataUrl);
  if (problem) throw new UploadProblem(problem);
  return { ref: dataUrl, url: dataUrl, ...size, label: file.name, ...(scaled ? { scaledFrom: original } : {}) };
}

// Hands an image picked elsewhere (the gallery's lightbox) to the generate page. The address
// says which image and how to use it (`/generate?from=<image id>&use=settings|input`); the
// image's parameters wait in this tab's sessionStorage, because the API has no route that
// reads one image back. Reading does not remove them: a reload of that address, or React
// running an effect twice, finds the same hand-off.
import type { GalleryImage } from "./api";

/** "settings": fill the form with the image's parameters and seed; "input": start img2img from it. */
export type HandoffUse = "settings" | "input";

export interface GenerateHandoff {
  use: HandoffUse;
  /** The job's parameters as the API returns them, for `valuesFromParams(params, seed)`. */
  params: Record<string, unknown>;
  seed: number;
  /** The picture: the API takes `image.id` as a job's `init_image`; url and size are for a preview
   * (the url is signed and expires, so it is not worth keeping beyond this tab). */
  image: { id: string; url: string; width: number; height: number };
}

const STORAGE_KEY = "atelier.handoff";
const USES: readonly HandoffUse[] = ["settings", "input"];

export function handoffPath(imageId: string, use: HandoffUse): string {
  return `/generate?from=${encodeURIComponent(imageId)}&use=${use}`;
}

/** Keeps the image for the generate page and returns the address to navigate to. */
export function handOffToGenerate(image: GalleryImage, use: HandoffUse): string {
  const handoff: GenerateHandoff = {
    use,
    params: image.params ?? {},
    seed: image.seed,
    image: { id: image.id, url: image.url, width: image.width, height: image.height },
  };
  try {
    window.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(handoff));
  } catch {
    // Storage blocked or full: the generate page then finds nothing and shows its usual form.
  }
  return handoffPath(image.id, use);
}

function isHandoff(value: unknown): value is Omit<GenerateHandoff, "use"> {
  if (!value || typeof value !== "object") return false;
  const { params, seed, image } = value as Partial<GenerateHandoff>;
  return typeof params === "object" && params !== null && typeof seed === "number"
    && typeof image === "object" && image !== null && typeof image.id === "string" && typeof image.url === "string";
}

/** The hand-off the address names (`?from=<image id>&use=`), or null when there is none or the
 * stored one is for another image (an old link, another tab's pick). */
export function pickUpHandoff(query: URLSearchParams): GenerateHandoff | null {
  const from = query.get("from");
  const use = query.get("use") ?? "settings";
  if (!from || !USES.includes(use as HandoffUse)) return null;
  try {
    const stored: unknown = JSON.parse(window.sessionStorage.getItem(STORAGE_KEY) ?? "null");
    if (!isHandoff(stored) || stored.image.id !== from) return null;
    return { ...stored, use: use as HandoffUse };
  } catch {
    return null;
  }
}

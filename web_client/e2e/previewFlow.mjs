// The "preview" browser flow (not written yet: it reports the platform as lacking it).
import { Unsupported } from "./lib.mjs";

export async function preview() {
  throw new Unsupported("the preview flow is not written yet");
}

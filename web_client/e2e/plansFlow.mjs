// The "plans" browser flow (not written yet: it reports the platform as lacking it).
import { Unsupported } from "./lib.mjs";

export async function plans() {
  throw new Unsupported("the plans flow is not written yet");
}

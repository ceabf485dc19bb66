// The file name a downloaded image gets. The stored key ends in "<index>.png", which says
// nothing once it sits in a Downloads folder among others; the prompt and seed say what it is
// and let the person find its settings again.

const MAX_WORDS = 6;
const MAX_SLUG = 48;

/** "A Lighthouse, at dusk!" -> "a-lighthouse-at-dusk": letters and digits only (accents dropped),
 * so the name is safe on every file system. */
function slug(text: string): string {
  const words = text
    .normalize("NFKD")
    .replace(/[\u0300-\u036f]/g, "")
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter(Boolean)
    .slice(0, MAX_WORDS);
  let joined = words.join("-");
  if (joined.length > MAX_SLUG) joined = joined.slice(0, MAX_SLUG).replace(/-[^-]*$/, "") || joined.slice(0, MAX_SLUG);
  return joined;
}

/** The extension of the stored file (signed URLs carry a query string), png when unsure. */
function extension(url: string): string {
  const match = /\.(png|jpe?g|webp)(?:[?#]|$)/i.exec(url);
  return match ? match[1].toLowerCase() : "png";
}

/** e.g. `atelier-a-lighthouse-at-dusk-1234.png`; without a usable prompt `atelier-1234.png`. */
export function imageFileName(prompt: string | null | undefined, seed: number, url: string): string {
  const words = slug(prompt ?? "");
  return `atelier-${words ? `${words}-` : ""}${seed}.${extension(url)}`;
}

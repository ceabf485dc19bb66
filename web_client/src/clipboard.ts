/** Copies to the clipboard; false where the browser refuses (http, no permission, old browser),
 * and the caller then selects the text for the person to copy by hand. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

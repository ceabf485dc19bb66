/** Server messages are written lower-case so they compose ("…; try again shortly"); shown on
 * their own they read as a sentence: a capital first letter and a closing full stop. */
export function asSentence(message: string): string {
  const text = message.trim();
  if (!text) return text;
  const capitalised = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?…)]$/.test(capitalised) ? capitalised : `${capitalised}.`;
}

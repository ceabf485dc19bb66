import { useEffect, useRef, useState, type Dispatch, type SetStateAction } from "react";

function readDraft<T extends object>(key: string, fallback: T): T | null {
  try {
    const raw = window.localStorage.getItem(key);
    const saved = raw ? (JSON.parse(raw) as unknown) : null;
    if (!saved || typeof saved !== "object") return null;
    // Only the fields the form still has, with the types it expects: an old draft never breaks it.
    const merged = { ...fallback };
    for (const name of Object.keys(fallback) as (keyof T)[]) {
      const value = (saved as Record<string, unknown>)[name as string];
      if (typeof value === typeof fallback[name]) merged[name] = value as T[keyof T];
    }
    return merged;
  } catch {
    return null;
  }
}

function writeDraft(key: string, value: unknown) {
  try {
    window.localStorage.setItem(key, JSON.stringify(value));
  } catch {
    // Storage full or blocked: the draft lives as long as the page.
  }
}

/**
 * Form values kept in localStorage under `key`, so a reload, a closed tab or an ended session
 * keeps what was typed. `key` names the person (drafts are not shared between accounts) and may
 * arrive after the first paint: the stored draft then replaces the values unless they were
 * already edited.
 */
export function useStoredDraft<T extends object>(key: string | null, initial: T): [T, Dispatch<SetStateAction<T>>] {
  const [values, setValues] = useState<T>(() => (key && readDraft(key, initial)) || initial);
  const restoredFor = useRef<string | null>(key);

  useEffect(() => {
    if (key && restoredFor.current === key) writeDraft(key, values);
  }, [key, values]);

  useEffect(() => {
    if (!key || restoredFor.current === key) return;
    restoredFor.current = key;
    const saved = readDraft(key, initial);
    if (saved) setValues((current) => (current === initial ? saved : current));
    // `initial` is the pristine value for this mount; a new identity is no reason to restore again.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [key]);

  return [values, setValues];
}

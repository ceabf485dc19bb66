import type { ReactNode } from "react";

interface Props {
  id: string;
  label: string;
  errors?: string[];
  hint?: string;
  children: (describedBy: string | undefined, invalid: boolean) => ReactNode;
}

/** A labelled control whose errors are announced and tied to it with aria-describedby. */
export function Field({ id, label, errors, hint, children }: Props) {
  const errorId = `${id}-error`;
  const hintId = `${id}-hint`;
  const invalid = Boolean(errors && errors.length);
  const describedBy = [hint ? hintId : null, invalid ? errorId : null].filter(Boolean).join(" ") || undefined;
  return (
    <div className={invalid ? "field field-invalid" : "field"}>
      <label htmlFor={id}>{label}</label>
      {children(describedBy, invalid)}
      {hint && (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      )}
      {invalid && (
        <p className="field-error" id={errorId} data-testid={`${id}-error`}>
          {errors!.join(" ")}
        </p>
      )}
    </div>
  );
}

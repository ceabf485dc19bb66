import { useState, type ChangeEvent, type ReactNode } from "react";
import { UPLOAD_TYPES, UploadProblem, readUpload, type InputImage } from "../imageInput";
import type { Limits } from "../validation";

interface Props {
  input: InputImage | null;
  limits: Limits;
  onChange: (input: InputImage | null) => void;
  errors?: string[];
  /** Shown instead of the plain preview (the inpaint mask painter shows the picture itself). */
  children?: ReactNode;
  /** Reads a file (a test passes its own; the browser's canvas does the real work). */
  read?: (file: File, limits: Limits) => Promise<InputImage>;
}

/** The picture img2img and inpaint start from: an upload, or one handed over from a result or the
 * gallery; its problems are said next to the file button. */
export function InputImagePicker({ input, limits, onChange, errors, children, read = readUpload }: Props) {
  const [problem, setProblem] = useState<string | null>(null);
  const [reading, setReading] = useState(false);
  const messages = [...(problem ? [problem] : []), ...(errors ?? [])];
  const invalid = messages.length > 0;
  const plan = limits ? ` Larger than ${limits.max_width}×${limits.max_height}px is scaled down to fit your plan.` : "";

  async function onFile(event: ChangeEvent<HTMLInputElement>) {
    const file = event.target.files?.[0];
    event.target.value = ""; // choosing the same file again still reads it
    if (!file) return;
    setProblem(null);
    setReading(true);
    try {
      onChange(await read(file, limits));
    } catch (error) {
      setProblem(error instanceof UploadProblem ? error.message : "The picture could not be read.");
    } finally {
      setReading(false);
    }
  }

  return (
    <div className={invalid ? "field input-image field-invalid" : "field input-image"} data-testid="input-image">
      <label htmlFor="init_image">{input ? "Replace the input image" : "Input image"}</label>
      <input id="init_image" type="file" accept={UPLOAD_TYPES.join(",")} onChange={(event) => void onFile(event)}
        aria-describedby={invalid ? "init_image-hint init_image-error" : "init_image-hint"} aria-invalid={invalid}
        data-testid="init-image-file" />
      <p className="hint" id="init_image-hint">
        PNG, JPEG or WebP.{plan} Or choose “Use this image” under a result or in the gallery.
      </p>
      {reading && <p className="hint" role="status">Reading the picture…</p>}
      {invalid && <p className="field-error" id="init_image-error" role="alert" data-testid="init-image-error">{messages.join(" ")}</p>}
      {input && (
        <div className="input-image-chosen" data-testid="input-image-chosen">
          <p className="hint">
            Starting from <strong data-testid="input-image-label">{input.label}</strong>,{" "}
            <span data-testid="input-image-size">{input.width}×{input.height}px</span>
            {input.scaledFrom && ` (scaled down from ${input.scaledFrom.width}×${input.scaledFrom.height}px)`}.{" "}
            <button type="button" className="link-button" onClick={() => onChange(null)} data-testid="input-image-remove">Remove</button>
          </p>
          {children ?? <img className="input-image-preview" src={input.url} alt="The input image" width={input.width} height={input.height} />}
        </div>
      )}
    </div>
  );
}

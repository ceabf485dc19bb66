import type { ModelInfo } from "../api";
import { sizePresets, type Limits } from "../validation";

interface Props {
  width: string;
  height: string;
  limits: Limits;
  /** The chosen model: presets are sized for it (near its native size, within its largest). */
  model?: ModelInfo | null;
  onPick: (width: number, height: number) => void;
}

/** One button per shape, at the size of that shape that suits the model within the plan (the
 * largest the plan allows without a model); a shape no size of which fits the plan is shown,
 * disabled, as needing a higher plan. */
export function SizePresets({ width, height, limits, model = null, onPick }: Props) {
  return (
    <fieldset className="size-presets">
      <legend>Shape</legend>
      <div className="preset-buttons">
        {sizePresets(limits, model).map(({ ratio, size }) => {
          const current = size !== null && String(size.width) === width && String(size.height) === height;
          return (
            <button key={ratio} type="button" className={current ? "preset current" : "preset"} disabled={size === null}
              aria-pressed={current} onClick={() => size && onPick(size.width, size.height)} data-testid={`preset-${ratio}`}>
              <span className="preset-ratio">{ratio}</span>
              <span className="preset-size">{size ? `${size.width}×${size.height}` : "needs a higher plan"}</span>
            </button>
          );
        })}
      </div>
    </fieldset>
  );
}

import { useEffect, useRef, useState, type KeyboardEvent, type PointerEvent } from "react";
import { useKeyboardBrush } from "../hooks/useKeyboardBrush";
import { drawStroke, type Point, type Stroke } from "../mask";

const BRUSH_MIN = 4;
const BRUSH_MAX = 96;
const BRUSH_DEFAULT = 32;
/** The overlay's colour; the canvas is shown half transparent so the picture stays visible. */
const PAINT = "#ff2d78";

interface Props {
  /** The input image, shown under the canvas. */
  imageUrl: string;
  /** The mask's size in pixels (the input image's). */
  width: number;
  height: number;
  strokes: Stroke[];
  onChange: (strokes: Stroke[]) => void;
  errors?: string[];
}

/**
 * A brush over the input image: paint where the picture should change. Pointer events, so a
 * mouse, a pen and a finger all paint (the canvas has touch-action: none, so a finger paints
 * instead of scrolling); undo with the button or Ctrl/⌘+Z while the painter has focus. From the
 * keyboard the focused canvas shows a brush cursor that the arrow keys move (useKeyboardBrush).
 */
export function MaskPainter({ imageUrl, width, height, strokes, onChange, errors }: Props) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const drawing = useRef<{ pointerId: number; stroke: Stroke } | null>(null);
  const [brush, setBrush] = useState(BRUSH_DEFAULT);
  const [erase, setErase] = useState(false);
  const invalid = Boolean(errors?.length);
  const keyboard = useKeyboardBrush({
    width, height, strokes, onChange, brush, erase,
    scale: () => {
      const rect = canvasRef.current?.getBoundingClientRect();
      return rect?.width ? width / rect.width : 1;
    },
    resize: (by) => setBrush((size) => Math.min(BRUSH_MAX, Math.max(BRUSH_MIN, size + by))),
  });

  // Everything is redrawn from the strokes: undo and clear are just shorter lists.
  useEffect(() => {
    const context = canvasRef.current?.getContext("2d");
    if (!context) return;
    context.clearRect(0, 0, width, height);
    for (const stroke of strokes) drawStroke(context, stroke, PAINT, stroke.erase ? "destination-out" : "source-over");
  }, [strokes, width, height]);

  /** Screen coordinates to the mask's pixels (the canvas is scaled to the page's width). */
  function toMask(event: PointerEvent<HTMLCanvasElement>): { point: Point; scale: number } {
    const rect = event.currentTarget.getBoundingClientRect();
    const scale = rect.width ? width / rect.width : 1;
    return { point: { x: (event.clientX - rect.left) * scale, y: (event.clientY - rect.top) * (rect.height ? height / rect.height : 1) }, scale };
  }

  function onPointerDown(event: PointerEvent<HTMLCanvasElement>) {
    if (drawing.current || (event.pointerType === "mouse" && event.button !== 0)) return;
    event.preventDefault();
    event.currentTarget.focus({ preventScroll: true });
    try {
      // The stroke keeps going when the pointer leaves the canvas for a moment.
      event.currentTarget.setPointerCapture(event.pointerId);
    } catch {
      // A pointer the browser no longer tracks (or a test's synthetic one): painting works without.
    }
    const { point, scale } = toMask(event);
    const stroke: Stroke = { size: brush * scale, erase, points: [point] };
    drawing.current = { pointerId: event.pointerId, stroke };
    const context = event.currentTarget.getContext("2d");
    if (context) drawStroke(context, stroke, PAINT, erase ? "destination-out" : "source-over");
  }

  function onPointerMove(event: PointerEvent<HTMLCanvasElement>) {
    const current = drawing.current;
    if (!current || current.pointerId !== event.pointerId) return;
    const { point } = toMask(event);
    const last = current.stroke.points[current.stroke.points.length - 1];
    current.stroke.points.push(point);
    const context = event.currentTarget.getContext("2d");
    // Only the new segment now; the whole stroke is redrawn once it ends.
    if (context) drawStroke(context, { ...current.stroke, points: [last, point] }, PAINT, current.stroke.erase ? "destination-out" : "source-over");
  }

  function onPointerEnd(event: PointerEvent<HTMLCanvasElement>) {
    const current = drawing.current;
    if (!current || current.pointerId !== event.pointerId) return;
    drawing.current = null;
    onChange([...strokes, current.stroke]);
  }

  const undo = () => onChange(strokes.slice(0, -1));

  function onKeyDown(event: KeyboardEvent<HTMLFieldSetElement>) {
    if ((event.ctrlKey || event.metaKey) && !event.shiftKey && event.key.toLowerCase() === "z") {
      event.preventDefault();
      if (strokes.length) undo();
    }
  }

  return (
    <fieldset className={invalid ? "mask-painter field-invalid" : "mask-painter"} onKeyDown={onKeyDown} data-testid="mask-painter">
      <legend>Mask: paint over what should change</legend>
      <div className="mask-stage" style={{ aspectRatio: `${width} / ${height}` }}>
        <img src={imageUrl} alt="The input image" width={width} height={height} draggable={false} />
        <canvas ref={canvasRef} id="mask" width={width} height={height} tabIndex={0}
          role="img" aria-label={`Mask over the input image: ${strokes.length ? `${strokes.length} brush stroke${strokes.length === 1 ? "" : "s"}` : "nothing painted yet"}. Draw with a mouse, pen, finger or the keyboard.`}
          aria-invalid={invalid} aria-describedby={invalid ? "mask-keys mask-error" : "mask-keys"}
          onPointerDown={onPointerDown} onPointerMove={onPointerMove} onPointerUp={onPointerEnd} onPointerCancel={onPointerEnd}
          onKeyDown={keyboard.onKeyDown} onBlur={keyboard.lift}
          data-testid="mask-canvas" data-strokes={strokes.length} />
        {/* Shown only while the canvas has keyboard focus (styles.css): where Space would paint. */}
        <div className={keyboard.penDown ? "mask-cursor pen-down" : "mask-cursor"} aria-hidden="true" data-testid="mask-cursor"
          data-pen={keyboard.penDown ? "down" : "up"}
          style={{ left: `${(keyboard.cursor.x / width) * 100}%`, top: `${(keyboard.cursor.y / height) * 100}%`, width: brush, height: brush }} />
      </div>
      <p id="mask-keys" className="visually-hidden">
        Keyboard: arrow keys move the brush (with Shift, further); Space or Enter puts it down and lifts it, and moving
        while it is down paints; [ and ] make it smaller and larger; Ctrl+Z or ⌘+Z undoes.
      </p>
      <p className="visually-hidden" role="status" data-testid="mask-brush-status">
        {keyboard.penDown ? "Brush down: the arrow keys paint." : "Brush up."} Brush size {brush}.
      </p>
      <div className="mask-tools">
        <label className="brush-size">
          Brush size
          <input type="range" min={BRUSH_MIN} max={BRUSH_MAX} value={brush} onChange={(event) => setBrush(Number(event.target.value))}
            data-testid="brush-size" />
        </label>
        <label className="inline">
          <input type="checkbox" checked={erase} onChange={(event) => setErase(event.target.checked)} data-testid="mask-erase" />
          Erase
        </label>
        <button type="button" className="secondary" onClick={undo} disabled={!strokes.length} aria-keyshortcuts="Control+Z Meta+Z"
          data-testid="mask-undo">Undo</button>
        <button type="button" className="secondary" onClick={() => onChange([])} disabled={!strokes.length} data-testid="mask-clear">
          Clear
        </button>
      </div>
      {invalid && <p className="field-error" id="mask-error" data-testid="mask-error">{errors!.join(" ")}</p>}
    </fieldset>
  );
}

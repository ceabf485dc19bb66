// The inpaint mask as the strokes a person painted, drawn twice: over the input image on screen
// (a tinted overlay) and, at submit, as the PNG the API takes. The worker reads the mask as
// grayscale with white = repaint (services/inference/atelier_inference/jobs.py `load_inputs`), so
// the PNG is black with the painted parts white; erasing paints black again.

/** In the mask's own pixels (the input image's size), not the screen's. */
export interface Point {
  x: number;
  y: number;
}

export interface Stroke {
  /** Brush diameter in mask pixels. */
  size: number;
  erase: boolean;
  points: Point[];
}

type Context = Pick<CanvasRenderingContext2D,
  "beginPath" | "moveTo" | "lineTo" | "arc" | "fill" | "stroke" | "fillRect" | "save" | "restore"
  | "lineCap" | "lineJoin" | "lineWidth" | "strokeStyle" | "fillStyle" | "globalCompositeOperation">;

/** One stroke as round-capped lines (a tap is a dot). */
export function drawStroke(context: Context, stroke: Stroke, color: string, composite: GlobalCompositeOperation = "source-over") {
  const [first, ...rest] = stroke.points;
  if (!first) return;
  context.save();
  context.globalCompositeOperation = composite;
  context.fillStyle = color;
  context.strokeStyle = color;
  context.lineWidth = stroke.size;
  context.lineCap = "round";
  context.lineJoin = "round";
  context.beginPath();
  if (rest.length === 0) {
    context.arc(first.x, first.y, stroke.size / 2, 0, Math.PI * 2);
    context.fill();
  } else {
    context.moveTo(first.x, first.y);
    for (const point of rest) context.lineTo(point.x, point.y);
    context.stroke();
  }
  context.restore();
}

/** True when some paint is left after the erasing (a mask of erase strokes only repaints nothing). */
export const hasPaint = (strokes: Stroke[]) => strokes.some((stroke) => !stroke.erase);

/** The strokes as the API's mask: a PNG data URL, black with white where the image is repainted. */
export function maskDataUrl(strokes: Stroke[], width: number, height: number,
  makeCanvas: (width: number, height: number) => HTMLCanvasElement = defaultCanvas): string {
  const canvas = makeCanvas(width, height);
  const context = canvas.getContext("2d");
  if (!context) throw new Error("This browser cannot draw the mask (no canvas).");
  context.fillStyle = "#000";
  context.fillRect(0, 0, width, height);
  for (const stroke of strokes) drawStroke(context, stroke, stroke.erase ? "#000" : "#fff");
  return canvas.toDataURL("image/png");
}

function defaultCanvas(width: number, height: number): HTMLCanvasElement {
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  return canvas;
}

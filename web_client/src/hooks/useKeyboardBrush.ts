import { useRef, useState, type KeyboardEvent } from "react";
import type { Point, Stroke } from "../mask";

const MOVES: Record<string, [number, number]> = { ArrowLeft: [-1, 0], ArrowRight: [1, 0], ArrowUp: [0, -1], ArrowDown: [0, 1] };
const clamp = (value: number, low: number, high: number) => Math.min(high, Math.max(low, value));

interface Options {
  /** The mask's size in pixels. */
  width: number;
  height: number;
  strokes: Stroke[];
  onChange: (strokes: Stroke[]) => void;
  /** The brush's on-screen diameter, and the mask pixels per screen pixel now (a stroke is kept in mask pixels). */
  brush: number;
  scale: () => number;
  erase: boolean;
  resize: (by: number) => void;
}

/**
 * The mask brush from the keyboard: arrow keys move a cursor (Shift: four times as far), Space or
 * Enter puts the brush down (a dot at once) and lifts it again, and moving while it is down paints;
 * [ and ] resize the brush. The stroke is committed as soon as it starts, so Undo and the mask
 * being empty or not behave as with a mouse; a stroke changed from elsewhere (undo, clear) is
 * never extended.
 */
export function useKeyboardBrush({ width, height, strokes, onChange, brush, scale, erase, resize }: Options) {
  const [where, setCursor] = useState<Point>(() => ({ x: Math.round(width / 2), y: Math.round(height / 2) }));
  // A new input image may be smaller: the cursor stays on it.
  const cursor = { x: clamp(where.x, 0, width), y: clamp(where.y, 0, height) };
  const [penDown, setPenDown] = useState(false);
  const own = useRef<Stroke | null>(null);

  function commit(next: Stroke[], stroke: Stroke | null) {
    own.current = stroke;
    onChange(next);
  }

  const lift = () => {
    setPenDown(false);
    own.current = null;
  };

  function onKeyDown(event: KeyboardEvent<HTMLElement>) {
    if (event.ctrlKey || event.metaKey || event.altKey) {
      lift(); // Ctrl+Z and the like: the painter undoes; the brush must not extend what is gone
      return;
    }
    const move = MOVES[event.key];
    if (move) {
      event.preventDefault(); // no page scroll while steering the brush
      const step = Math.max(2, Math.round(Math.min(width, height) / 32)) * (event.shiftKey ? 4 : 1);
      const next = { x: clamp(cursor.x + move[0] * step, 0, width), y: clamp(cursor.y + move[1] * step, 0, height) };
      setCursor(next);
      const last = strokes[strokes.length - 1];
      if (penDown && last && last === own.current) {
        const extended = { ...last, points: [...last.points, next] };
        commit([...strokes.slice(0, -1), extended], extended);
      }
    } else if (event.key === " " || event.key === "Enter") {
      event.preventDefault();
      if (penDown) {
        lift();
      } else {
        const stroke: Stroke = { size: brush * scale(), erase, points: [cursor] };
        commit([...strokes, stroke], stroke);
        setPenDown(true);
      }
    } else if (event.key === "Escape" && penDown) {
      event.preventDefault();
      lift();
    } else if (event.key === "[" || event.key === "]") {
      event.preventDefault();
      resize(event.key === "]" ? 4 : -4);
    }
  }

  return { cursor, penDown, onKeyDown, lift };
}

import { fireEvent, render, screen } from "@testing-library/react";
import { useState } from "react";
import { describe, expect, it } from "vitest";
import type { Stroke } from "../mask";
import { MaskPainter } from "./MaskPainter";

let latest: Stroke[] = [];

function Painter() {
  const [strokes, setStrokes] = useState<Stroke[]>([]);
  latest = strokes;
  return <MaskPainter imageUrl="/x.png" width={320} height={320} strokes={strokes} onChange={setStrokes} />;
}

const press = (key: string, extra: Record<string, unknown> = {}) =>
  fireEvent.keyDown(screen.getByTestId("mask-canvas"), { key, ...extra });

describe("the mask painter from the keyboard", () => {
  it("is focusable and says how to paint with keys", () => {
    render(<Painter />);
    const canvas = screen.getByTestId("mask-canvas");
    expect(canvas.tabIndex).toBe(0);
    const described = canvas.getAttribute("aria-describedby")!.split(" ").map((id) => document.getElementById(id)!.textContent);
    expect(described.join(" ")).toMatch(/arrow keys move the brush.*Space or Enter.*\[ and \].*Ctrl\+Z/s);
  });

  it("moves a cursor with the arrows, paints a stroke while the brush is down, and undoes it with Ctrl+Z", () => {
    render(<Painter />);
    const canvas = screen.getByTestId("mask-canvas");
    const cursor = screen.getByTestId("mask-cursor");
    canvas.focus();
    expect(cursor.style.left).toBe("50%");
    press("ArrowRight");
    expect(cursor.style.left).toBe("53.125%"); // a step is 1/32 of the mask
    expect(latest).toHaveLength(0); // moving with the brush up paints nothing

    press(" ");
    expect(cursor.getAttribute("data-pen")).toBe("down");
    expect(latest).toHaveLength(1); // a dot at once: the mask is not empty
    expect(latest[0].points).toEqual([{ x: 170, y: 160 }]);
    press("ArrowDown");
    press("ArrowDown", { shiftKey: true });
    expect(latest).toHaveLength(1);
    expect(latest[0].points).toEqual([{ x: 170, y: 160 }, { x: 170, y: 170 }, { x: 170, y: 210 }]);
    expect(latest[0].erase).toBe(false);
    press("Enter");
    expect(cursor.getAttribute("data-pen")).toBe("up");
    press("ArrowLeft");
    expect(latest[0].points).toHaveLength(3); // lifted: moving paints no more
    expect(screen.getByTestId("mask-brush-status").textContent).toMatch(/Brush up/);

    press("z", { ctrlKey: true });
    expect(latest).toHaveLength(0);
    expect(canvas.getAttribute("data-strokes")).toBe("0");
  });

  it("resizes the brush with [ and ], within its bounds, and the next stroke has that size", () => {
    render(<Painter />);
    const size = screen.getByTestId("brush-size") as HTMLInputElement;
    expect(size.value).toBe("32");
    press("]");
    press("]");
    expect(size.value).toBe("40");
    for (let i = 0; i < 30; i++) press("[");
    expect(size.value).toBe("4");
    press(" ");
    expect(latest[0].size).toBe(4);
    expect(screen.getByTestId("mask-cursor").style.width).toBe("4px");
  });

  it("never extends a stroke that was undone meanwhile, and stops at the mask's edge", () => {
    render(<Painter />);
    press(" ");
    fireEvent.click(screen.getByTestId("mask-undo"));
    expect(latest).toHaveLength(0);
    press("ArrowUp");
    expect(latest).toHaveLength(0);
    for (let i = 0; i < 40; i++) press("ArrowUp");
    expect(screen.getByTestId("mask-cursor").style.top).toBe("0%");
  });
});

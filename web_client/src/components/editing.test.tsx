// img2img and inpaint in the form, size presets and the cost line (the canvas itself is checked in
// the browser flow "edit": happy-dom draws nothing).
import { act, fireEvent, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { checkUploadType, dataUrlBytes, fitWithin, jobSide, oversizeProblem, UPLOAD_MAX_BYTES, type InputImage } from "../imageInput";
import { drawStroke, hasPaint, maskDataUrl, type Stroke } from "../mask";
import { USAGE_FREE, fakeApi, json } from "../test/fakeApi";
import { sizePresets } from "../validation";
import { GenerateForm } from "./GenerateForm";
import { MaskPainter } from "./MaskPainter";

const TOKENS = { access: "a", refresh: "r" };
const GALLERY_IMAGE: InputImage = { ref: "img-7", url: "/files/img-7.png", width: 384, height: 256, label: "an image from your gallery" };
const USAGE_PRO = {
  ...USAGE_FREE, tier: "pro",
  limits: { requests_per_minute: 60, images_per_day: 2000, concurrency: 4, max_width: 1024, max_height: 1024, max_steps: 50 },
};

function form(usage: typeof USAGE_FREE | null = USAGE_FREE, inputPreset: InputImage | null = null) {
  const onSubmitted = vi.fn();
  const { api, calls } = fakeApi(() => json(202, { id: "j1", status: "queued" }), TOKENS);
  const view = render(<GenerateForm api={api} busy={false} usage={usage} inputPreset={inputPreset} onSubmitted={onSubmitted} />);
  return { api, calls, onSubmitted, view };
}

describe("size presets", () => {
  it("offer each shape at the largest size the plan allows, and say which need a higher plan", () => {
    const free = Object.fromEntries(sizePresets(USAGE_FREE.limits).map(({ ratio, size }) => [ratio, size]));
    expect(free["1:1"]).toEqual({ width: 512, height: 512 });
    expect(free["3:2"]).toEqual({ width: 384, height: 256 });
    expect(free["4:3"]).toEqual({ width: 512, height: 384 });
    expect(free["16:9"]).toBeNull();
    const pro = Object.fromEntries(sizePresets(USAGE_PRO.limits).map(({ ratio, size }) => [ratio, size]));
    expect(pro["16:9"]).toEqual({ width: 1024, height: 576 });
    expect(pro["9:16"]).toEqual({ width: 576, height: 1024 });
  });

  it("set the width and height selects, and a preset above the plan cannot be picked", async () => {
    form();
    const wide = screen.getByTestId("preset-16:9") as HTMLButtonElement;
    expect(wide.disabled).toBe(true);
    expect(wide.textContent).toContain("needs a higher plan");
    await userEvent.click(screen.getByTestId("preset-3:2"));
    expect((screen.getByLabelText("Width") as HTMLSelectElement).value).toBe("384");
    expect((screen.getByLabelText("Height") as HTMLSelectElement).value).toBe("256");
    expect(screen.getByTestId("preset-3:2").getAttribute("aria-pressed")).toBe("true");
  });
});

describe("the cost line", () => {
  it("shows the job's cost in cost units against the plan's per-minute budget, live as the form changes", async () => {
    form();
    const line = () => screen.getByTestId("cost-line").textContent;
    expect(line()).toContain("This job costs 1 cost unit (the least any job costs).");
    expect(line()).toContain("Your plan allows 5 cost units a minute");
    await userEvent.click(screen.getByTestId("preset-1:1"));
    await userEvent.clear(screen.getByLabelText("Steps"));
    await userEvent.type(screen.getByLabelText("Steps"), "30");
    await userEvent.clear(screen.getByLabelText("Images"));
    await userEvent.type(screen.getByLabelText("Images"), "3");
    expect(screen.getByTestId("cost-units").textContent).toBe("3 cost units");
  });

  it("charges image to image for the steps it runs: strength × steps", async () => {
    form(USAGE_PRO, GALLERY_IMAGE);
    await userEvent.click(screen.getByTestId("preset-1:1"));
    await userEvent.clear(screen.getByLabelText("Steps"));
    await userEvent.type(screen.getByLabelText("Steps"), "30");
    fireEvent.change(screen.getByTestId("strength-range"), { target: { value: "0.5" } });
    expect(screen.getByTestId("cost-units").textContent).toBe("2 cost units");
    expect(screen.getByTestId("cost-denoised").textContent).toBe(" At strength 0.5 it runs 15 of its 30 steps, and is charged for those.");
    await userEvent.click(screen.getByTestId("kind-txt2img"));
    expect(screen.getByTestId("cost-units").textContent).toBe("4 cost units");
    expect(screen.queryByTestId("cost-denoised")).toBeNull();
  });

  it("reads the budget against the time the usage arrived, not the time the form first painted", () => {
    vi.useFakeTimers();
    try {
      const { api } = fakeApi(() => json(202, {}), TOKENS);
      const view = render(<GenerateForm api={api} busy={false} usage={null} onSubmitted={vi.fn()} />);
      expect(screen.getByTestId("cost-line").textContent).not.toContain("left now");
      vi.advanceTimersByTime(2_000);
      const full = { ...USAGE_FREE, resets_at: { ...USAGE_FREE.resets_at, minute: new Date(Date.now()).toISOString() } };
      view.rerender(<GenerateForm api={api} busy={false} usage={full} onSubmitted={vi.fn()} />);
      expect(screen.getByTestId("cost-line").textContent).toContain("5 left now.");
      const spent = { ...USAGE_FREE, resets_at: { ...USAGE_FREE.resets_at, minute: new Date(Date.now() + 54_000).toISOString() } };
      view.rerender(<GenerateForm api={api} busy={false} usage={spent} onSubmitted={vi.fn()} />);
      expect(screen.getByTestId("cost-line").textContent).toContain("0.5 left now, enough for this job in 6 s.");
      act(() => void vi.advanceTimersByTime(6_000));
      expect(screen.getByTestId("cost-line").textContent).toContain("1 left now.");
    } finally {
      vi.useRealTimers();
    }
  });

  it("refuses before sending a job that costs more than the whole minute's budget", async () => {
    const usage = { ...USAGE_FREE, limits: { ...USAGE_FREE.limits, requests_per_minute: 2 }, remaining: { ...USAGE_FREE.remaining, images_today: 50 } };
    const { calls } = form(usage);
    await userEvent.type(screen.getByLabelText("Prompt"), "a red fox");
    await userEvent.click(screen.getByTestId("preset-1:1"));
    await userEvent.clear(screen.getByLabelText("Steps"));
    await userEvent.type(screen.getByLabelText("Steps"), "30"); // 512×512, 30 steps, 1 image: 1 unit
    expect(screen.getByTestId("cost-line").textContent).not.toContain("too large");
    await userEvent.clear(screen.getByLabelText("Images"));
    await userEvent.type(screen.getByLabelText("Images"), "3"); // 3 units > 2
    expect(screen.getByTestId("cost-line").textContent).toContain("too large");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(screen.getByTestId("cost-error").textContent).toBe(
      "This job costs 3 cost units; your plan allows 2 cost units a minute. Use fewer steps or images, or a smaller size.");
    expect(document.activeElement?.id).toBe("cost");
    expect(calls).toHaveLength(0);
  });
});

describe("image to image and inpaint", () => {
  it("asks for a picture, and refuses a file the API would refuse with a sentence", async () => {
    const { calls } = form();
    await userEvent.click(screen.getByTestId("kind-img2img"));
    await userEvent.type(screen.getByLabelText("Prompt"), "a red fox");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(screen.getByTestId("init-image-error").textContent).toMatch(/Choose the picture to start from/);
    expect(document.activeElement?.id).toBe("init_image");
    expect(calls).toHaveLength(0);

    const text = new File(["hello"], "notes.txt", { type: "text/plain" });
    fireEvent.change(screen.getByTestId("init-image-file"), { target: { files: [text] } });
    expect((await screen.findByTestId("init-image-error")).textContent).toContain("“notes.txt” is not a PNG, JPEG or WebP image.");
  });

  it("starts from a handed-over image: image to image at the picture's size, with its id and the strength", async () => {
    const { calls, onSubmitted } = form(USAGE_FREE, GALLERY_IMAGE);
    expect((screen.getByTestId("kind-img2img") as HTMLInputElement).checked).toBe(true);
    expect(screen.getByTestId("input-image-size").textContent).toBe("384×256px");
    expect(screen.getByTestId("preset-3:2").getAttribute("aria-pressed")).toBe("true");
    await userEvent.type(screen.getByLabelText("Prompt"), "the same fox, in winter");
    fireEvent.change(screen.getByTestId("strength-range"), { target: { value: "0.4" } });
    expect((screen.getByLabelText("Strength") as HTMLInputElement).value).toBe("0.4");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    await waitFor(() => expect(onSubmitted).toHaveBeenCalled());
    expect(JSON.parse(String(calls[0].init.body))).toEqual({
      kind: "img2img", prompt: "the same fox, in winter", width: 384, height: 256, steps: 20, guidance: 7.5, n: 1,
      init_image: "img-7", strength: 0.4,
    });
  });

  it("refuses a strength at which no step would run, before sending", async () => {
    const { calls } = form(USAGE_FREE, GALLERY_IMAGE);
    await userEvent.type(screen.getByLabelText("Prompt"), "the same fox");
    await userEvent.clear(screen.getByLabelText("Steps"));
    await userEvent.type(screen.getByLabelText("Steps"), "4");
    fireEvent.change(screen.getByTestId("strength-range"), { target: { value: "0.2" } });
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(await screen.findByText("At strength 0.2 no step of the 4 runs: raise the strength or the steps (steps × strength at least 1).")).toBeTruthy();
    expect(calls).toHaveLength(0);
  });

  it("inpaint needs some paint: strokes from pointer events, undone by Ctrl+Z and the button", async () => {
    const { calls } = form(USAGE_FREE, GALLERY_IMAGE);
    await userEvent.click(screen.getByTestId("kind-inpaint"));
    await userEvent.type(screen.getByLabelText("Prompt"), "a red fox");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(screen.getByTestId("mask-error").textContent).toBe("Paint over the part of the picture that should change.");
    expect(calls).toHaveLength(0);

    const canvas = screen.getByTestId("mask-canvas");
    const stroke = (pointerId: number, pointerType: string) => {
      fireEvent.pointerDown(canvas, { pointerId, pointerType, button: 0, clientX: 10, clientY: 10 });
      fireEvent.pointerMove(canvas, { pointerId, pointerType, clientX: 40, clientY: 30 });
      fireEvent.pointerUp(canvas, { pointerId, pointerType, clientX: 40, clientY: 30 });
    };
    stroke(1, "mouse");
    stroke(2, "touch");
    expect(canvas.getAttribute("data-strokes")).toBe("2");
    expect(screen.queryByTestId("mask-error")).toBeNull();
    fireEvent.keyDown(canvas, { key: "z", ctrlKey: true });
    expect(canvas.getAttribute("data-strokes")).toBe("1");
    await userEvent.click(screen.getByTestId("mask-undo"));
    expect(canvas.getAttribute("data-strokes")).toBe("0");
    expect((screen.getByTestId("mask-undo") as HTMLButtonElement).disabled).toBe(true);
  });

  it("a right click does not paint, and Clear removes every stroke", () => {
    const onChange = vi.fn();
    const strokes: Stroke[] = [{ size: 10, erase: false, points: [{ x: 1, y: 1 }] }];
    render(<MaskPainter imageUrl="/x.png" width={64} height={64} strokes={strokes} onChange={onChange} />);
    const canvas = screen.getByTestId("mask-canvas");
    fireEvent.pointerDown(canvas, { pointerId: 1, pointerType: "mouse", button: 2 });
    fireEvent.pointerUp(canvas, { pointerId: 1, pointerType: "mouse" });
    expect(onChange).not.toHaveBeenCalled();
    fireEvent.click(screen.getByTestId("mask-clear"));
    expect(onChange).toHaveBeenCalledWith([]);
  });
});

describe("the mask as the API takes it", () => {
  it("is black with white paint; erasing paints black; a mask of erasing alone has no paint", () => {
    const drawn: string[] = [];
    const context = {
      fillRect: (...args: number[]) => drawn.push(`fillRect ${args.join(",")} ${context.fillStyle}`),
      save: () => undefined, restore: () => undefined, beginPath: () => undefined, moveTo: () => undefined,
      lineTo: () => undefined, arc: () => undefined,
      fill: () => drawn.push(`dot ${context.fillStyle}`), stroke: () => drawn.push(`line ${context.strokeStyle} ${context.lineWidth}`),
      fillStyle: "", strokeStyle: "", lineWidth: 0, lineCap: "", lineJoin: "", globalCompositeOperation: "",
    };
    const canvas = { getContext: () => context, toDataURL: (type: string) => `data:${type};base64,AAAA` };
    const strokes: Stroke[] = [
      { size: 12, erase: false, points: [{ x: 1, y: 1 }, { x: 5, y: 5 }] },
      { size: 4, erase: true, points: [{ x: 3, y: 3 }] },
    ];
    const url = maskDataUrl(strokes, 64, 48, () => canvas as unknown as HTMLCanvasElement);
    expect(url).toBe("data:image/png;base64,AAAA");
    expect(drawn).toEqual(["fillRect 0,0,64,48 #000", "line #fff 12", "dot #000"]);
    expect(hasPaint(strokes)).toBe(true);
    expect(hasPaint([strokes[1]])).toBe(false);
    drawStroke(context as unknown as CanvasRenderingContext2D, { size: 1, erase: false, points: [] }, "#fff");
    expect(drawn).toHaveLength(3); // an empty stroke draws nothing
  });
});

describe("uploads", () => {
  it("keep the shape when scaled into the plan, and take the API's sides", () => {
    expect(fitWithin(4000, 3000, 512, 512)).toEqual({ width: 512, height: 384 });
    expect(fitWithin(300, 200, 512, 512)).toEqual({ width: 300, height: 200 });
    expect(jobSide(300)).toBe(296);
    expect(jobSide(20)).toBe(64);
  });

  it("count the decoded bytes against the API's 8 MiB and accept only its three types", () => {
    expect(dataUrlBytes("data:image/png;base64,AAAA")).toBe(3);
    expect(dataUrlBytes("data:image/png;base64,AAA=")).toBe(2);
    expect(oversizeProblem("data:image/png;base64,AAAA")).toBeNull();
    const heavy = `data:image/png;base64,${"A".repeat(Math.ceil((UPLOAD_MAX_BYTES + 3) / 3) * 4)}`;
    expect(oversizeProblem(heavy)).toMatch(/the server takes up to 8\.0 MB/);
    expect(() => checkUploadType({ type: "image/gif", name: "cat.gif" })).toThrow(/not a PNG, JPEG or WebP/);
    expect(() => checkUploadType({ type: "image/webp", name: "cat.webp" })).not.toThrow();
  });
});

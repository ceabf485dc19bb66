import { fireEvent, render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { useState } from "react";
import { describe, expect, it, vi } from "vitest";
import type { GalleryImage } from "../api";
import { ImageLightbox } from "./ImageLightbox";

const image = (n: number, params: Record<string, unknown> = {}): GalleryImage => ({
  id: `i${n}`, job_id: "j", url: `/files/jobs/j/${n}.png?sig=s`, seed: 100 + n, width: 256, height: 192,
  params: { prompt: `a heron number ${n}`, steps: 12, guidance: 7, scheduler: "ddim", model: "tiny-sd", ...params },
  created_at: "2026-11-23T10:00:00Z",
});
const IMAGES = [image(1), image(2, { kind: "img2img", strength: 0.6, negative_prompt: "blur" }),
  image(3, { loras: [{ name: "ink", weight: 0.8 }, { name: "detail", weight: 1 }] })];

function Harness({ onClose = () => {}, onUse = () => {}, onDelete }: {
  onClose?: () => void; onUse?: (img: GalleryImage, use: string) => void; onDelete?: (img: GalleryImage) => void;
}) {
  const [index, setIndex] = useState(0);
  return (
    <>
      <button type="button">before</button>
      <ImageLightbox images={IMAGES} index={index} onShow={setIndex} onClose={onClose} onUse={onUse} onDelete={onDelete} />
      <button type="button">after</button>
    </>
  );
}

const position = () => screen.getByTestId("lightbox-position").textContent;

describe("ImageLightbox", () => {
  it("opens as a modal dialog with focus inside, and shows the image's parameters", () => {
    render(<Harness />);
    const dialog = screen.getByTestId("lightbox") as HTMLDialogElement;
    expect(dialog.open).toBe(true);
    expect(dialog.contains(document.activeElement)).toBe(true);
    expect(position()).toBe("Image 1 of 3");
    const facts = screen.getByTestId("lightbox-params").textContent;
    for (const text of ["a heron number 1", "101", "256×192", "12", "ddim", "tiny-sd"]) expect(facts).toContain(text);
    expect(facts).not.toContain("Strength"); // txt2img has none
    expect(facts).not.toContain("LoRAs"); // nor, here, any LoRA
    expect(screen.getByTestId("lightbox-download").getAttribute("download")).toBe("atelier-a-heron-number-1-101.png");
  });

  it("moves with the arrow keys and a sideways swipe, not past either end; Escape closes", () => {
    const onClose = vi.fn();
    render(<Harness onClose={onClose} />);
    const dialog = screen.getByTestId("lightbox");
    fireEvent.keyDown(dialog, { key: "ArrowLeft" });
    expect(position()).toBe("Image 1 of 3");
    fireEvent.keyDown(dialog, { key: "ArrowRight" });
    expect(position()).toBe("Image 2 of 3");
    expect(screen.getByTestId("lightbox-params").textContent).toContain("Image to image");
    expect(screen.getByTestId("lightbox-params").textContent).toContain("0.6");

    const stage = screen.getByTestId("lightbox-stage");
    fireEvent.touchStart(stage, { changedTouches: [{ clientX: 300, clientY: 200 }] });
    fireEvent.touchEnd(stage, { changedTouches: [{ clientX: 200, clientY: 210 }] });
    expect(position()).toBe("Image 3 of 3");
    expect(screen.getByTestId("lightbox-params").textContent).toContain("LoRAsink × 0.8, detail × 1");
    // Mostly vertical: a scroll, not a swipe.
    fireEvent.touchStart(stage, { changedTouches: [{ clientX: 200, clientY: 100 }] });
    fireEvent.touchEnd(stage, { changedTouches: [{ clientX: 260, clientY: 300 }] });
    expect(position()).toBe("Image 3 of 3");
    fireEvent.touchStart(stage, { changedTouches: [{ clientX: 100, clientY: 200 }] });
    fireEvent.touchEnd(stage, { changedTouches: [{ clientX: 220, clientY: 200 }] });
    expect(position()).toBe("Image 2 of 3");

    expect(onClose).not.toHaveBeenCalled();
    fireEvent.keyDown(dialog, { key: "Escape" });
    expect(onClose).toHaveBeenCalledTimes(1);
  });

  it("keeps Tab inside: past the last control back to the first, and Shift+Tab the other way", async () => {
    render(<Harness onDelete={() => {}} />);
    const close = screen.getByTestId("lightbox-close");
    expect(document.activeElement).toBe(close);
    await userEvent.tab({ shift: true });
    expect(document.activeElement).toBe(screen.getByTestId("lightbox-delete"));
    await userEvent.tab();
    expect(document.activeElement).toBe(close);
  });

  it("hands the shown image to its actions, and has no Delete where deleting is unavailable", async () => {
    const onUse = vi.fn();
    const { unmount } = render(<Harness onUse={onUse} />);
    await userEvent.click(screen.getByRole("button", { name: "Next image" }));
    await userEvent.click(screen.getByRole("button", { name: "Use as input" }));
    expect(onUse).toHaveBeenLastCalledWith(IMAGES[1], "input");
    await userEvent.click(screen.getByRole("button", { name: "Use these settings" }));
    expect(onUse).toHaveBeenLastCalledWith(IMAGES[1], "settings");
    expect(screen.queryByTestId("lightbox-delete")).toBeNull();
    unmount();

    const onDelete = vi.fn();
    render(<Harness onDelete={onDelete} />);
    await userEvent.click(screen.getByTestId("lightbox-delete"));
    expect(onDelete).toHaveBeenCalledWith(IMAGES[0]);
  });
});

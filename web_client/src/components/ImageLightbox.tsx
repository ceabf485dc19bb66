import { Fragment, useEffect, useRef, type KeyboardEvent, type TouchEvent } from "react";
import type { GalleryImage } from "../api";
import { imageFileName } from "../downloadName";
import type { HandoffUse } from "../handoff";
import { lorasInWords, lorasOf } from "../loras";

/** A horizontal move at least this long (and mostly sideways) is a swipe to the next image. */
const SWIPE_MIN_PX = 40;

const KINDS: Record<string, string> = { img2img: "Image to image", inpaint: "Inpainting" };

export function promptOf(image: GalleryImage): string {
  return typeof image.params?.prompt === "string" ? image.params.prompt : "";
}

/** Everything needed to make the image again, in the order a person reads it. */
function ImageFacts({ image }: { image: GalleryImage }) {
  const params = image.params ?? {};
  const given = (key: string) => params[key] !== undefined && params[key] !== null && params[key] !== "";
  const kind = typeof params.kind === "string" ? params.kind : "txt2img";
  const loras = lorasOf(params.loras);
  const facts: [string, string][] = [
    ["Prompt", promptOf(image) || "—"],
    ...(given("negative_prompt") ? [["Negative prompt", String(params.negative_prompt)] as [string, string]] : []),
    ["Seed", String(image.seed)],
    ["Size", `${image.width}×${image.height}`],
    ...(["steps", "guidance", "scheduler", "model"] as const)
      .filter(given)
      .map((key): [string, string] => [key[0].toUpperCase() + key.slice(1), String(params[key])]),
    ...(loras.length ? [["LoRAs", lorasInWords(loras)] as [string, string]] : []),
    ...(KINDS[kind] ? [["Made by", KINDS[kind]] as [string, string]] : []),
    ...(KINDS[kind] && given("strength") ? [["Strength", String(params.strength)] as [string, string]] : []),
  ];
  return (
    <dl className="facts" data-testid="lightbox-params">
      {facts.map(([name, value]) => (
        <Fragment key={name}>
          <dt>{name}</dt>
          <dd>{value}</dd>
        </Fragment>
      ))}
      {image.created_at && (
        <>
          <dt>Made</dt>
          <dd><time dateTime={image.created_at}>{new Date(image.created_at).toLocaleString()}</time></dd>
        </>
      )}
    </dl>
  );
}

interface Props {
  images: GalleryImage[];
  index: number;
  onShow: (index: number) => void;
  onClose: () => void;
  onUse: (image: GalleryImage, use: HandoffUse) => void;
  /** Absent where the server cannot delete images. */
  onDelete?: (image: GalleryImage) => void;
}

/**
 * One image large, in a modal <dialog>: the browser keeps focus inside it and the page behind it
 * inert. Arrow keys and a sideways swipe move through `images`; Escape closes. Where focus goes
 * after closing is the caller's choice (the image it shows last may not be the one opened).
 */
export function ImageLightbox({ images, index, onShow, onClose, onUse, onDelete }: Props) {
  const dialogRef = useRef<HTMLDialogElement>(null);
  const closeRef = useRef<HTMLButtonElement>(null);
  const touchStart = useRef<{ x: number; y: number } | null>(null);
  const image = images[index];
  const hasPrevious = index > 0;
  const hasNext = index < images.length - 1;

  useEffect(() => {
    const dialog = dialogRef.current;
    if (dialog && !dialog.open) dialog.showModal?.();
    closeRef.current?.focus();
    return () => dialog?.close?.();
  }, []);

  function step(by: number) {
    const target = index + by;
    if (target >= 0 && target < images.length) onShow(target);
  }

  /** Tab past the last control comes back to the first (and Shift+Tab the other way) instead
   * of leaving for the browser's own controls. */
  function keepTabInside(event: KeyboardEvent<HTMLDialogElement>) {
    const controls = [...event.currentTarget.querySelectorAll<HTMLElement>("button:not(:disabled), a[href]")];
    const [first, last] = [controls[0], controls[controls.length - 1]];
    const wrapTo = event.shiftKey ? (document.activeElement === first ? last : null) : (document.activeElement === last ? first : null);
    if (wrapTo) {
      event.preventDefault();
      wrapTo.focus();
    }
  }

  function onKeyDown(event: KeyboardEvent<HTMLDialogElement>) {
    const moves: Record<string, number> = { ArrowLeft: -1, ArrowRight: 1 };
    if (event.key === "Tab") {
      keepTabInside(event);
    } else if (event.key in moves) {
      event.preventDefault();
      step(moves[event.key]);
    } else if (event.key === "Escape") {
      // Handled here rather than by the dialog's own cancel so that closing always goes
      // through the caller, which puts focus back.
      event.preventDefault();
      onClose();
    }
  }

  function onTouchStart(event: TouchEvent) {
    const touch = event.changedTouches[0];
    touchStart.current = touch ? { x: touch.clientX, y: touch.clientY } : null;
  }

  function onTouchEnd(event: TouchEvent) {
    const start = touchStart.current;
    const touch = event.changedTouches[0];
    touchStart.current = null;
    if (!start || !touch) return;
    const dx = touch.clientX - start.x;
    const dy = touch.clientY - start.y;
    if (Math.abs(dx) >= SWIPE_MIN_PX && Math.abs(dx) > 2 * Math.abs(dy)) step(dx < 0 ? 1 : -1);
  }

  if (!image) return null;
  const prompt = promptOf(image);
  return (
    <dialog ref={dialogRef} className="lightbox" aria-labelledby="lightbox-title" data-testid="lightbox"
      onKeyDown={onKeyDown} onCancel={(event) => {
        event.preventDefault();
        onClose();
      }}>
      <div className="lightbox-head">
        <h2 id="lightbox-title" data-testid="lightbox-position">Image {index + 1} of {images.length}</h2>
        <button ref={closeRef} type="button" className="secondary" onClick={onClose} data-testid="lightbox-close">
          Close<span className="visually-hidden"> the large view</span>
        </button>
      </div>
      <div className="lightbox-body">
        <div className="lightbox-stage" onTouchStart={onTouchStart} onTouchEnd={onTouchEnd} data-testid="lightbox-stage">
          <button type="button" className="secondary lightbox-step" onClick={() => step(-1)} disabled={!hasPrevious}
            aria-label="Previous image" data-testid="lightbox-previous">‹</button>
          <img key={image.id} src={image.url} alt={prompt ? `Generated: ${prompt}` : "Generated image"}
            width={image.width} height={image.height} data-testid="lightbox-image" />
          <button type="button" className="secondary lightbox-step" onClick={() => step(1)} disabled={!hasNext}
            aria-label="Next image" data-testid="lightbox-next">›</button>
        </div>
        <div className="lightbox-info">
          <ImageFacts image={image} />
          <div className="figure-actions lightbox-actions">
            <button type="button" onClick={() => onUse(image, "settings")} data-testid="lightbox-use-settings">Use these settings</button>
            <button type="button" className="secondary" onClick={() => onUse(image, "input")} data-testid="lightbox-use-input">Use as input</button>
            <a className="button" href={image.url} download={imageFileName(prompt, image.seed, image.url)} data-testid="lightbox-download">
              Download
            </a>
            {onDelete && (
              <button type="button" className="secondary danger-text" onClick={() => onDelete(image)} data-testid="lightbox-delete">
                Delete
              </button>
            )}
          </div>
          <p className="hint lightbox-keys">Arrow keys or a swipe show the next image; Escape closes.</p>
        </div>
      </div>
    </dialog>
  );
}

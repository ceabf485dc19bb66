import { useCallback, useEffect, useMemo, useState } from "react";
import { isUnavailable, type GalleryImage, type Job } from "../api";
import { ImageLightbox, promptOf } from "../components/ImageLightbox";
import { LoadError, Loading } from "../components/Loading";
import { PageTitle } from "../components/PageTitle";
import { SelectionBar } from "../components/SelectionBar";
import { imageFileName } from "../downloadName";
import { handOffToGenerate, type HandoffUse } from "../handoff";
import { useRouter } from "../router";
import { useSession } from "../session";

const PAGE_SIZE = 12;
/** Typing filters what is loaded at once; the server is asked once typing pauses. */
const SEARCH_DELAY_MS = 300;
/** The API refuses a longer search (the words past it still filter what is loaded). */
const SEARCH_MAX_WORDS = 8;
const STATUS_ID = "gallery-status";
const openButtonId = (imageId: string) => `gallery-open-${imageId}`;

/** Images from job history, for servers without the gallery route: viewable, not deletable. */
function imagesOfJobs(jobs: Job[]): GalleryImage[] {
  return jobs.flatMap((job) =>
    (job.images ?? []).map((image, index) => ({
      ...image, id: image.id ?? `${job.id}-${index}`, job_id: job.id, params: job.params, created_at: job.created_at,
    })),
  );
}

/** The words of a search, once each, as the API takes them. */
function searchWords(search: string): string[] {
  return [...new Set(search.toLowerCase().split(/\s+/).filter(Boolean))];
}

/** Every word of the search appears in the prompt, in any order and case: what the API's `q`
 * does, applied at once to what is loaded (and alone where the API cannot search). */
function matches(image: GalleryImage, search: string): boolean {
  const prompt = promptOf(image).toLowerCase();
  return searchWords(search).every((word) => prompt.includes(word));
}

/** After removing `removed` from `shown`: the image that took the first one's place, else the one
 * before it; null when nothing is left. */
function neighbourAfter(shown: GalleryImage[], removed: Set<string>): GalleryImage | null {
  const first = shown.findIndex((image) => removed.has(image.id));
  if (first < 0) return null;
  const rest = shown.filter((image) => !removed.has(image.id));
  return rest[Math.min(first, rest.length - 1)] ?? null;
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : "unknown error");

export function GalleryPage() {
  const { api } = useSession();
  const { navigate } = useRouter();
  const [items, setItems] = useState<GalleryImage[]>([]);
  const [cursors, setCursors] = useState<(string | null)[]>([null]); // cursor of each page seen
  const [page, setPage] = useState(0);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [fromJobs, setFromJobs] = useState(false);
  const [status, setStatus] = useState<string | null>(null);
  const [search, setSearch] = useState("");
  const [askedFor, setAskedFor] = useState(""); // the search the loaded pages answer
  const [selected, setSelected] = useState<Set<string>>(() => new Set());
  const [openId, setOpenId] = useState<string | null>(null);
  const [deleting, setDeleting] = useState(false);
  // The element (by id) to focus once the next render is on screen: a deleted card's neighbour,
  // or the card of the image the lightbox showed last.
  const [focusTarget, setFocusTarget] = useState<string | null>(null);

  const load = useCallback(async (cursor: string | null) => {
    setLoading(true);
    setError(null);
    setSelected(new Set());
    setOpenId(null);
    try {
      if (!fromJobs) {
        try {
          const result = await api.listImages(cursor, PAGE_SIZE, askedFor || undefined);
          setItems(result.items);
          setNext(result.next_cursor);
          return;
        } catch (e) {
          if (!isUnavailable(e)) throw e;
          setFromJobs(true);
        }
      }
      const jobs = await api.listJobs(cursor, PAGE_SIZE);
      setItems(imagesOfJobs(jobs.items));
      setNext(jobs.next_cursor);
    } catch (e) {
      setError(e);
    } finally {
      setLoading(false);
    }
  }, [api, fromJobs, askedFor]);

  useEffect(() => {
    void load(cursors[page]);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [page, load]);

  // A new search starts again from the newest page.
  useEffect(() => {
    const words = searchWords(search).slice(0, SEARCH_MAX_WORDS).join(" ");
    if (fromJobs || words === askedFor) return;
    const timer = window.setTimeout(() => {
      setAskedFor(words);
      setCursors([null]);
      setPage(0);
    }, SEARCH_DELAY_MS);
    return () => window.clearTimeout(timer);
  }, [search, askedFor, fromJobs]);

  useEffect(() => {
    if (!focusTarget) return;
    document.getElementById(focusTarget)?.focus();
    setFocusTarget(null);
  }, [focusTarget]);

  const shown = useMemo(() => items.filter((image) => matches(image, search)), [items, search]);
  const chosen = shown.filter((image) => selected.has(image.id));
  const openIndex = openId === null ? -1 : shown.findIndex((image) => image.id === openId);
  const deletable = !fromJobs;

  function searchHint(): string {
    if (!search) return fromJobs ? "Looks through the images on this page." : "Looks through the prompts of all your images.";
    const count = `${shown.length} ${shown.length === 1 ? "image matches" : "images match"}`;
    if (fromJobs) return `${shown.length} of the ${items.length} images on this page match.`;
    return next ? `${count} on this page; Older shows more.` : `${count}.`;
  }

  function closeLightbox() {
    if (openId) setFocusTarget(openButtonId(openId));
    setOpenId(null);
  }

  function use(image: GalleryImage, how: HandoffUse) {
    navigate(handOffToGenerate(image, how));
  }

  /** Deletes `doomed` one by one; keeps what failed selected and says so. */
  async function deleteImages(doomed: GalleryImage[]) {
    setDeleting(true);
    const gone = new Set<string>();
    const failures: string[] = [];
    for (const image of doomed) {
      try {
        await api.deleteImage(image.id);
        gone.add(image.id);
      } catch (e) {
        failures.push(errorText(e));
      }
    }
    setDeleting(false);
    const neighbour = neighbourAfter(shown, gone);
    const remaining = items.filter((image) => !gone.has(image.id));
    setItems(remaining);
    setSelected((old) => new Set([...old].filter((id) => !gone.has(id))));
    const done = gone.size === 1 ? "Image deleted." : gone.size > 1 ? `${gone.size} images deleted.` : "";
    setStatus(failures.length ? `${done} Could not delete ${failures.length === 1 ? "an image" : `${failures.length} images`}: ${failures[0]}`.trim() : done);
    if (remaining.length === 0 && (next || page > 0)) void load(cursors[page]); // bring in the older ones
    return { neighbour, deletedAny: gone.size > 0 };
  }

  async function deleteOne(image: GalleryImage, from: "card" | "lightbox") {
    if (!window.confirm("Delete this image? This cannot be undone.")) return;
    const { neighbour, deletedAny } = await deleteImages([image]);
    if (!deletedAny) return; // it is still there, and so is focus
    if (from === "lightbox" && neighbour) {
      setOpenId(neighbour.id); // keep looking through the rest, focus stays in the dialog
      return;
    }
    setOpenId(null);
    setFocusTarget(neighbour ? openButtonId(neighbour.id) : STATUS_ID);
  }

  async function deleteSelected() {
    const count = chosen.length;
    if (!count || !window.confirm(`Delete ${count === 1 ? "this image" : `these ${count} images`}? This cannot be undone.`)) return;
    const { neighbour } = await deleteImages(chosen);
    setFocusTarget(neighbour ? openButtonId(neighbour.id) : STATUS_ID);
  }

  function toggle(id: string, on: boolean) {
    setSelected((old) => {
      const updated = new Set(old);
      if (on) updated.add(id);
      else updated.delete(id);
      return updated;
    });
  }

  return (
    <>
      <PageTitle>Gallery</PageTitle>
      {fromJobs && (
        <p className="banner banner-info" data-testid="gallery-fallback">
          Showing images from your job history; deleting images is not available on this server yet.
        </p>
      )}
      <p role="status" aria-live="polite" className="hint" id={STATUS_ID} tabIndex={-1} data-testid="gallery-status">{status}</p>
      {loading && <Loading what="your images" />}
      {error !== null && <LoadError error={error} what="Your gallery" />}
      {!loading && !error && items.length === 0 && !search && <p className="card" data-testid="gallery-empty">No images yet. Generate one and it will appear here.</p>}
      {(items.length > 0 || search) && (
        <div className="gallery-tools">
          <div className="field gallery-search">
            <label htmlFor="gallery-search">Search prompts</label>
            <input id="gallery-search" type="search" value={search} onChange={(event) => setSearch(event.target.value)}
              aria-describedby="gallery-search-hint" data-testid="gallery-search" />
            <p className="hint" id="gallery-search-hint" data-testid="gallery-search-hint">
              {searchHint()}
            </p>
          </div>
          {deletable && (
            <SelectionBar shown={shown.length} selected={chosen.length} busy={deleting}
              onSelectAll={(all) => setSelected(all ? new Set(shown.map((image) => image.id)) : new Set())}
              onDelete={() => void deleteSelected()} />
          )}
        </div>
      )}
      <ul className="gallery gallery-list" aria-label="Your images">
        {shown.map((image) => {
          const prompt = promptOf(image);
          const isSelected = selected.has(image.id);
          return (
            <li key={image.id} className={isSelected ? "image-card card selected" : "image-card card"} data-testid="gallery-item">
              <button type="button" className="gallery-open" id={openButtonId(image.id)} onClick={() => setOpenId(image.id)}
                aria-haspopup="dialog" data-testid="gallery-open">
                <img src={image.url} alt={prompt ? `Generated: ${prompt}` : "Generated image"} width={image.width} height={image.height} loading="lazy" />
                <span className="visually-hidden"> (seed {image.seed}): view large</span>
              </button>
              <p className="prompt">{prompt}</p>
              <p className="hint">
                Seed <span data-testid="gallery-seed">{image.seed}</span> · {image.width}×{image.height}
                {image.created_at && <> · <time dateTime={image.created_at}>{new Date(image.created_at).toLocaleString()}</time></>}
              </p>
              <div className="figure-actions">
                {deletable && (
                  <label className="inline">
                    <input type="checkbox" checked={isSelected} onChange={(event) => toggle(image.id, event.target.checked)}
                      data-testid="gallery-select" />
                    Select<span className="visually-hidden"> image with seed {image.seed}</span>
                  </label>
                )}
                <a href={image.url} download={imageFileName(prompt, image.seed, image.url)} data-testid="gallery-download">
                  Download<span className="visually-hidden"> image with seed {image.seed}</span>
                </a>
                {deletable && (
                  <button type="button" className="link-button danger-text" onClick={() => void deleteOne(image, "card")} data-testid="gallery-delete">
                    Delete<span className="visually-hidden"> image with seed {image.seed}</span>
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
      {search && !loading && !error && shown.length === 0 && (
        <p className="card" data-testid="gallery-no-match">
          No image{fromJobs || next || page > 0 ? " on this page" : ""} has “{search.trim()}” in its prompt.
        </p>
      )}
      <nav className="pager" aria-label="Gallery pages">
        <button type="button" className="secondary" disabled={page === 0 || loading} onClick={() => setPage((p) => p - 1)}>Newer</button>
        <span>Page {page + 1}</span>
        <button type="button" className="secondary" disabled={!next || loading} data-testid="gallery-next"
          onClick={() => {
            setCursors((old) => [...old.slice(0, page + 1), next]);
            setPage((p) => p + 1);
          }}>
          Older
        </button>
      </nav>
      {openIndex >= 0 && (
        <ImageLightbox images={shown} index={openIndex} onShow={(index) => setOpenId(shown[index].id)} onClose={closeLightbox}
          onUse={use} onDelete={deletable ? (image) => void deleteOne(image, "lightbox") : undefined} />
      )}
    </>
  );
}

import { useCallback, useEffect, useState } from "react";
import { isUnavailable, type GalleryImage, type Job } from "../api";
import { LoadError, Loading } from "../components/Loading";
import { PageTitle } from "../components/PageTitle";
import { useSession } from "../session";

const PAGE_SIZE = 12;

/** Images from job history, for servers without the gallery route: viewable, not deletable. */
function imagesOfJobs(jobs: Job[]): GalleryImage[] {
  return jobs.flatMap((job) =>
    (job.images ?? []).map((image, index) => ({
      ...image, id: image.id ?? `${job.id}-${index}`, job_id: job.id, params: job.params, created_at: job.created_at,
    })),
  );
}

function Params({ params }: { params?: Record<string, unknown> }) {
  if (!params) return null;
  const shown = ["steps", "guidance", "scheduler", "negative_prompt"].filter((k) => params[k] !== undefined && params[k] !== null && params[k] !== "");
  return (
    <dl className="params">
      {shown.map((k) => (
        <div key={k}><dt>{k.replace("_", " ")}</dt><dd>{String(params[k])}</dd></div>
      ))}
    </dl>
  );
}

export function GalleryPage() {
  const { api } = useSession();
  const [items, setItems] = useState<GalleryImage[]>([]);
  const [cursors, setCursors] = useState<(string | null)[]>([null]); // cursor of each page seen
  const [page, setPage] = useState(0);
  const [next, setNext] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [loading, setLoading] = useState(true);
  const [fromJobs, setFromJobs] = useState(false);
  const [status, setStatus] = useState<string | null>(null);

  const load = useCallback(async (cursor: string | null) => {
    setLoading(true);
    setError(null);
    try {
      if (!fromJobs) {
        try {
          const result = await api.listImages(cursor, PAGE_SIZE);
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
  }, [api, fromJobs]);

  useEffect(() => {
    void load(cursors[page]);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [page, load]);

  async function remove(image: GalleryImage) {
    if (!window.confirm("Delete this image? This cannot be undone.")) return;
    try {
      await api.deleteImage(image.id);
      setItems((old) => old.filter((i) => i.id !== image.id));
      setStatus("Image deleted.");
    } catch (e) {
      setStatus(e instanceof Error ? `Could not delete: ${e.message}` : "Could not delete the image.");
    }
  }

  return (
    <>
      <PageTitle>Gallery</PageTitle>
      {fromJobs && (
        <p className="banner banner-info" data-testid="gallery-fallback">
          Showing images from your job history; deleting images is not available on this server yet.
        </p>
      )}
      <p role="status" aria-live="polite" className="hint" data-testid="gallery-status">{status}</p>
      {loading && <Loading what="your images" />}
      {error !== null && <LoadError error={error} what="Your gallery" />}
      {!loading && !error && items.length === 0 && <p className="card" data-testid="gallery-empty">No images yet. Generate one and it will appear here.</p>}
      <ul className="gallery gallery-list" aria-label="Your images">
        {items.map((image) => {
          const prompt = typeof image.params?.prompt === "string" ? image.params.prompt : "";
          return (
            <li key={image.id} className="image-card card" data-testid="gallery-item">
              <img src={image.url} alt={prompt ? `Generated: ${prompt}` : "Generated image"} width={image.width} height={image.height} loading="lazy" />
              <p className="prompt">{prompt}</p>
              <p className="hint">
                Seed <span data-testid="gallery-seed">{image.seed}</span> · {image.width}×{image.height}
                {image.created_at && <> · <time dateTime={image.created_at}>{new Date(image.created_at).toLocaleString()}</time></>}
              </p>
              <Params params={image.params} />
              <div className="figure-actions">
                <a href={image.url} download>Download</a>
                {!fromJobs && (
                  <button type="button" className="link-button danger-text" onClick={() => void remove(image)} data-testid="gallery-delete">
                    Delete<span className="visually-hidden"> image with seed {image.seed}</span>
                  </button>
                )}
              </div>
            </li>
          );
        })}
      </ul>
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
    </>
  );
}

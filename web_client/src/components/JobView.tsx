import { TERMINAL_STATUSES, jobErrorMessage, jobPhase, progressPercent, type Job, type JobImage } from "../api";
import { imageFileName } from "../downloadName";
import { timeLeftText, useTimeLeft } from "../hooks/useTimeLeft";
import type { JobPreviewFrame } from "../preview";
import { JobPreview } from "./JobPreview";

function statusText(job: Job, timeLeft: string | null = null): string {
  switch (jobPhase(job)) {
    case "queued":
      return typeof job.queue_position === "number"
        ? job.queue_position <= 1 ? "Queued: you are next." : `Queued: position ${job.queue_position} in line.`
        : "Queued, waiting for a worker…";
    case "warming_up":
      return "Warming up: the worker is loading the model…";
    case "running":
      return job.step && job.total_steps
        ? `Generating: step ${job.step} of ${job.total_steps}${timeLeft ? `, ${timeLeft}` : ""}.` : "Generating…";
    case "succeeded":
      return "Done.";
    case "failed":
      return "Failed.";
    case "canceled":
      return "Canceled.";
    default:
      return job.status;
  }
}

/** The address that shows one job: reloading it, or opening it in another tab, re-attaches. */
export const jobPath = (id: string) => `/generate?job=${encodeURIComponent(id)}`;

/** The heading says what the job is now: a canceled or failed batch has no "image" to own. */
export function jobTitle(job: Job): string {
  const count = job.images?.length || Number(job.params?.n) || 1;
  switch (job.status) {
    case "succeeded":
      return count > 1 ? "Your images" : "Your image";
    case "canceled":
      return "Generation canceled";
    case "failed":
      return "Generation failed";
    default:
      return count > 1 ? `Generating ${count} images` : "Generating your image";
  }
}

interface Props {
  job: Job;
  streamError: string | null;
  canceling?: boolean;
  onCancel?: () => void;
  onReuse?: (job: Job, image?: JobImage) => void;
  /** "Use this image": start an img2img or inpaint job from it. */
  onUseAsInput?: (image: JobImage) => void;
  /** The newest rough picture of a running job, shown until its images arrive. */
  preview?: JobPreviewFrame | null;
}

export function JobView({ job, streamError, canceling = false, onCancel, onReuse, onUseAsInput, preview = null }: Props) {
  const percent = progressPercent(job);
  const images = job.images ?? [];
  const prompt = typeof job.params?.prompt === "string" ? job.params.prompt : null;
  const active = !TERMINAL_STATUSES.has(job.status);
  const phase = jobPhase(job);
  const status = statusText(job, timeLeftText(useTimeLeft(job)));
  return (
    <section aria-labelledby="job-title" className="card" data-testid="job-view">
      <h2 id="job-title">{jobTitle(job)}</h2>
      <p aria-live="polite" role="status" data-testid="job-status" data-status={job.status} data-phase={phase}>
        {status}
      </p>
      {active && (
        <div className="progress-row">
          <progress max={100} value={phase === "queued" || phase === "warming_up" ? undefined : percent}
            aria-label="Generation progress" aria-valuetext={status} data-testid="job-progress">
            {percent}%
          </progress>
          {onCancel && (
            <button type="button" className="secondary" onClick={onCancel} disabled={canceling} data-testid="cancel-button">
              {canceling ? "Canceling…" : "Cancel"}
            </button>
          )}
        </div>
      )}
      {(job.status === "failed" || job.status === "canceled") && (
        <p className={job.status === "failed" ? "banner banner-error" : "banner banner-info"} role="alert" data-testid="job-error">
          {jobErrorMessage(job)}
        </p>
      )}
      {streamError && active && (
        <p className="banner banner-warning" role="alert">
          {streamError} Still trying…
        </p>
      )}
      {active && preview && images.length === 0 && (
        <div className="gallery">
          <JobPreview job={job} frame={preview} />
        </div>
      )}
      {images.length > 0 && (
        <div className="gallery">
          {images.map((image, index) => (
            <figure key={image.url} className="image-card">
              <img src={image.url} alt={`Generated image ${index + 1}${prompt ? `: ${prompt}` : ""}`}
                width={image.width} height={image.height} data-testid="generated-image" />
              <figcaption>
                Seed <span data-testid="image-seed">{image.seed}</span> · {image.width}×{image.height}
                <span className="figure-actions">
                  <a href={image.url} download={imageFileName(prompt, image.seed, image.url)} data-testid="download-link">
                    Download<span className="visually-hidden"> image {index + 1}</span>
                  </a>
                  {onReuse && (
                    <button type="button" className="link-button" onClick={() => onReuse(job, image)} data-testid="reuse-button">
                      Use these settings again<span className="visually-hidden"> (seed {image.seed})</span>
                    </button>
                  )}
                  {onUseAsInput && (
                    <button type="button" className="link-button" onClick={() => onUseAsInput(image)} data-testid="use-as-input-button">
                      Use this image<span className="visually-hidden"> {index + 1} as the input</span>
                    </button>
                  )}
                </span>
              </figcaption>
            </figure>
          ))}
        </div>
      )}
    </section>
  );
}

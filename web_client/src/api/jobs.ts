import type { Job } from "./schema";

/** Progress as a whole percentage: steps when the job reports them, else its fraction. */
export function progressPercent(job: Job): number {
  if (job.status === "succeeded") return 100;
  let fraction = 0;
  if (typeof job.step === "number" && typeof job.total_steps === "number" && job.total_steps > 0) {
    fraction = job.step / job.total_steps;
  } else if (typeof job.progress === "number" && Number.isFinite(job.progress)) {
    fraction = job.progress > 1 ? job.progress / 100 : job.progress;
  }
  return Math.round(Math.min(1, Math.max(0, fraction)) * 100);
}

/** The phase to show; older servers only report status, so infer warming-up from step 0. */
export function jobPhase(job: Job): string {
  if (job.phase) return job.phase;
  if (job.status === "running" && (job.step ?? 0) === 0 && !job.progress) return "warming_up";
  return job.status;
}

const REASONS: Record<string, string> = {
  canceled: "You canceled this job.",
  timeout: "The job took too long and was stopped.",
  out_of_memory: "The worker ran out of memory; try a smaller size or fewer images.",
  invalid_request: "The worker could not run these settings.",
  model_unavailable: "The model is not available right now; try again later.",
};

export function jobErrorMessage(job: Job): string {
  const error = job.error;
  if (error && typeof error === "object") {
    // Our wording for reasons we know; the worker's own message for the rest.
    return (error.code && REASONS[error.code]) || error.message || "The job failed.";
  }
  return job.status === "canceled" ? "The job was canceled." : "The job failed.";
}

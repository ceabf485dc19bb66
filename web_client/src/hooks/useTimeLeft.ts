import { useRef } from "react";
import type { Job } from "../api";

interface Seen {
  jobId: string;
  step: number;
  at: number;
}

// Below these the pace is noise: one step's jitter, or steps arriving faster than a person reads.
const MIN_STEPS = 2;
const MIN_ELAPSED_MS = 500;

/** Seconds until a running job's last step, from the pace of the steps this page has seen
 * (the first step seen anchors it, so a reload or the model's load does not skew it); null
 * until enough steps have been seen, or when the job does not report steps. */
export function useTimeLeft(job: Job, now: () => number = Date.now): number | null {
  const first = useRef<Seen | null>(null);
  const step = typeof job.step === "number" ? job.step : null;
  const total = typeof job.total_steps === "number" ? job.total_steps : null;
  if (job.status !== "running" || step === null || total === null || total <= 0) return null;
  if (first.current === null || first.current.jobId !== job.id || step < first.current.step) {
    first.current = { jobId: job.id, step, at: now() };
    return null;
  }
  const stepsDone = step - first.current.step;
  const elapsedMs = now() - first.current.at;
  if (stepsDone < MIN_STEPS || elapsedMs < MIN_ELAPSED_MS) return null;
  const perStep = elapsedMs / 1000 / stepsDone;
  return Math.max(0, Math.round(perStep * (total - step)));
}

/** "about 12 s left", "about 2 min left"; null when there is no estimate. */
export function timeLeftText(seconds: number | null): string | null {
  if (seconds === null) return null;
  if (seconds < 1) return "almost done";
  if (seconds < 90) return `about ${seconds} s left`;
  return `about ${Math.round(seconds / 60)} min left`;
}

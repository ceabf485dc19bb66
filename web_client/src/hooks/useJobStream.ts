import { useEffect, useState } from "react";
import { ApiError, TERMINAL_STATUSES, type ApiClient, type Job } from "../api";
import { readPreview, type JobPreviewFrame } from "../preview";

export const POLL_INTERVAL_MS = 1000;

/**
 * Follows a job until it ends: its Server-Sent Events stream when it works, else polling.
 * Any stream error (route missing, token expired, proxy cut) switches to polling, which refreshes
 * the token and keeps going; a job already finished is never followed. While the job runs, the
 * stream may also bring previews of its first image (`event: preview`); polling brings none.
 */
export function useJobStream(api: ApiClient, initial: Job | null) {
  const [job, setJob] = useState<Job | null>(initial);
  const [streamError, setStreamError] = useState<string | null>(null);
  const [transport, setTransport] = useState<"sse" | "polling" | null>(null);
  const [preview, setPreview] = useState<JobPreviewFrame | null>(null);
  const jobId = initial?.id ?? null;

  useEffect(() => {
    setJob(initial);
    setStreamError(null);
    setPreview(null);
    if (!jobId || (initial && TERMINAL_STATUSES.has(initial.status))) {
      setTransport(null);
      return;
    }
    let stopped = false;
    let source: EventSource | null = null;
    let timer: ReturnType<typeof setTimeout> | undefined;

    const accept = (next: Job) => {
      if (stopped || next.id !== jobId) return false;
      setJob(next);
      setStreamError(null);
      const ended = TERMINAL_STATUSES.has(next.status);
      if (ended) setPreview(null); // the images (or the reason) take its place
      return ended;
    };

    async function poll() {
      try {
        if (accept(await api.getJob(jobId!))) return;
      } catch (error) {
        if (stopped) return;
        const message = error instanceof Error ? error.message : "Cannot load the job.";
        setStreamError(message);
        if (error instanceof ApiError && (error.status === 401 || error.status === 404)) return;
      }
      if (!stopped) timer = setTimeout(poll, POLL_INTERVAL_MS);
    }

    function startPolling() {
      source?.close();
      source = null;
      if (stopped) return;
      setTransport("polling");
      void poll();
    }

    async function follow() {
      // A reloaded tab holds no access token until its first renewal; the stream needs one.
      if (api.isLoggedIn() && !api.accessToken()) await api.renew();
      if (stopped) return;
      source = api.openJobEvents(jobId!);
      if (!source) {
        startPolling();
        return;
      }
      setTransport("sse");
      source.addEventListener("job", (event) => {
        try {
          if (accept(JSON.parse((event as MessageEvent<string>).data) as Job)) {
            source?.close();
            source = null;
          }
        } catch {
          startPolling(); // a message we cannot read: trust the plain GET instead
        }
      });
      source.addEventListener("preview", (event) => {
        // A preview we cannot read is skipped: the next one, or the image, follows anyway.
        const frame = readPreview((event as MessageEvent<string>).data, jobId!);
        if (frame && !stopped) setPreview(frame);
      });
      source.onerror = () => {
        if (source) startPolling();
      };
    }
    void follow();

    return () => {
      stopped = true;
      source?.close();
      clearTimeout(timer);
    };
    // Restart only for a new job; `initial` changes identity with it.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, jobId]);

  return { job, setJob, streamError, transport, preview };
}

import { useEffect, useMemo } from "react";
import { TERMINAL_STATUSES, isUnavailable, type ApiClient, type Job } from "../api";
import { useLoad } from "./useLoad";

export const RECENT_JOBS = 8;
/** How often the list is read again while a job other than the followed one is still going. */
export const RECENT_POLL_MS = 5000;

/** The list with the followed job's live state in it, newest first as the API orders them (a
 * job just submitted is not in the last answer yet). */
export function withLive(jobs: Job[], live: Job | null): Job[] {
  if (!live) return jobs;
  if (jobs.some((job) => job.id === live.id)) return jobs.map((job) => (job.id === live.id ? live : job));
  return [...jobs, live].sort((a, b) => Date.parse(b.created_at) - Date.parse(a.created_at)).slice(0, RECENT_JOBS);
}

/**
 * The person's recent jobs (GET /api/v1/jobs), kept current: the followed job live from its
 * stream, the others read again every few seconds while any of them is still queued or running.
 * `jobs` is null until loaded, and stays null where the server has no job list.
 */
export function useRecentJobs(api: ApiClient, live: Job | null) {
  const list = useLoad(
    () => api.listJobs(null, RECENT_JOBS).then((page) => page.items, (error) => (isUnavailable(error) ? null : Promise.reject(error))),
    [api],
  );
  const jobs = useMemo(() => (list.data ? withLive(list.data, live) : null), [list.data, live]);
  const othersGoing = jobs?.some((job) => job.id !== live?.id && !TERMINAL_STATUSES.has(job.status)) ?? false;
  const { reload } = list;
  const liveId = live?.id ?? null;

  // A newly followed job (just submitted, or picked): read the list again, so the job followed
  // before keeps its place in it.
  useEffect(() => {
    if (liveId) void reload();
  }, [liveId, reload]);

  useEffect(() => {
    if (!othersGoing) return;
    const timer = setInterval(() => void reload(), RECENT_POLL_MS);
    return () => clearInterval(timer);
  }, [othersGoing, reload]);

  return { jobs, error: list.error, reload };
}

import { useState } from "react";
import { ApiError, TERMINAL_STATUSES, isUnavailable, type Job, type JobImage } from "../api";
import { GenerateForm, valuesFromParams } from "../components/GenerateForm";
import { JobView } from "../components/JobView";
import { PageTitle } from "../components/PageTitle";
import { useJobStream } from "../hooks/useJobStream";
import { useLoad } from "../hooks/useLoad";
import { useSession } from "../session";
import type { GenerateValues } from "../validation";

export function GeneratePage() {
  const { api } = useSession();
  // Limits are a help, not a requirement: without /usage the server still enforces them.
  const usage = useLoad(() => api.usage().catch((error) => (isUnavailable(error) ? null : Promise.reject(error))), [api]);
  const [submitted, setSubmitted] = useState<Job | null>(null);
  const [preset, setPreset] = useState<GenerateValues | null>(null);
  const [canceling, setCanceling] = useState(false);
  const [cancelError, setCancelError] = useState<string | null>(null);
  const { job, setJob, streamError } = useJobStream(api, submitted);
  const active = job !== null && !TERMINAL_STATUSES.has(job.status);

  async function cancel() {
    if (!job) return;
    setCanceling(true);
    setCancelError(null);
    try {
      setJob(await api.cancelJob(job.id));
    } catch (error) {
      setCancelError(error instanceof ApiError && error.unavailable ? "Canceling is not available on this server yet." : error instanceof Error ? error.message : "Could not cancel.");
    } finally {
      setCanceling(false);
    }
  }

  function reuse(source: Job, image?: JobImage) {
    setPreset(valuesFromParams(source.params ?? {}, image?.seed));
    window.scrollTo?.(0, 0);
    document.getElementById("prompt")?.focus();
  }

  return (
    <>
      <PageTitle>Generate</PageTitle>
      <GenerateForm api={api} busy={active} usage={usage.data ?? null} preset={preset}
        onSubmitted={(created) => {
          setSubmitted(created);
          setCancelError(null);
          void usage.reload();
        }} />
      {cancelError && <p className="banner banner-error" role="alert">{cancelError}</p>}
      {job && <JobView job={job} streamError={streamError} canceling={canceling} onCancel={() => void cancel()} onReuse={reuse} />}
    </>
  );
}

import { useEffect, useRef, useState } from "react";
import { ApiError, TERMINAL_STATUSES, isUnavailable, type Job, type JobImage } from "../api";
import { GenerateForm } from "../components/GenerateForm";
import { valuesFromParams } from "../jobRequest";
import { pickUpHandoff } from "../handoff";
import type { InputImage } from "../imageInput";
import { JobView, jobPath } from "../components/JobView";
import { PageTitle } from "../components/PageTitle";
import { RecentJobs } from "../components/RecentJobs";
import { useJobStream } from "../hooks/useJobStream";
import { useLoad } from "../hooks/useLoad";
import { useRecentJobs } from "../hooks/useRecentJobs";
import { useRouter } from "../router";
import { useSession } from "../session";
import type { GenerateValues } from "../validation";

export function GeneratePage() {
  const { api, user } = useSession();
  const { query, navigate } = useRouter();
  // Limits are a help, not a requirement: without /usage the server still enforces them.
  const usage = useLoad(() => api.usage().catch((error) => (isUnavailable(error) ? null : Promise.reject(error))), [api]);
  // The model picker is a help too: without the catalogue the form sends the default model.
  const models = useLoad(() => api.models().then((list) => list.models, () => null), [api]);
  const [followed, setFollowed] = useState<Job | null>(null);
  const [preset, setPreset] = useState<GenerateValues | null>(null);
  const [inputPreset, setInputPreset] = useState<InputImage | null>(null);
  const [canceling, setCanceling] = useState(false);
  const [problem, setProblem] = useState<string | null>(null);
  const [revealed, setRevealed] = useState(0);
  const resultRef = useRef<HTMLDivElement>(null);
  const { job, setJob, streamError, preview } = useJobStream(api, followed);
  const recent = useRecentJobs(api, job);
  const active = job !== null && !TERMINAL_STATUSES.has(job.status);
  const requested = query.get("job");
  const handoffKey = `${query.get("from") ?? ""}:${query.get("use") ?? ""}`;

  // An image handed over from the gallery (`?from=<image id>&use=settings|input`): its settings
  // fill the form; as input, it also becomes the picture an image-to-image job starts from.
  useEffect(() => {
    const handoff = pickUpHandoff(query);
    if (!handoff) return;
    const values = valuesFromParams(handoff.params, handoff.seed);
    if (handoff.use === "settings") {
      setPreset(values);
      return;
    }
    // A new picture from this one: same prompt and settings, a fresh seed.
    setPreset({ ...values, kind: "img2img", seedMode: "random", seed: "" });
    setInputPreset({ ref: handoff.image.id, url: handoff.image.url, width: handoff.image.width, height: handoff.image.height, label: "an image from your gallery" });
    // Only a new hand-off address starts this.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [handoffKey]);

  // A job named in the address (a reload, another tab, the link in a refusal): follow it.
  useEffect(() => {
    if (!requested || requested === followed?.id) return;
    let stale = false;
    api.getJob(requested).then(
      (found) => !stale && setFollowed(found),
      (error) => !stale && setProblem(error instanceof ApiError && error.status === 404
        ? "That job is not one of yours, or it no longer exists." : error instanceof Error ? error.message : "Could not load the job."),
    );
    return () => {
      stale = true;
    };
    // Only a new address starts this; following a job updates the address to match.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [api, requested]);

  // Else, once the list arrives: the newest job still going, or the last result.
  useEffect(() => {
    if (requested || followed || !recent.jobs?.length) return;
    setFollowed(recent.jobs.find((candidate) => !TERMINAL_STATUSES.has(candidate.status)) ?? recent.jobs[0]);
  }, [requested, followed, recent.jobs]);

  // A phone shows the form first: bring the progress into view when a job starts.
  useEffect(() => {
    if (revealed) resultRef.current?.scrollIntoView?.({ block: "nearest", behavior: "smooth" });
  }, [revealed]);

  function show(next: Job) {
    setFollowed(next);
    setProblem(null);
    navigate(jobPath(next.id), { replace: true });
    setRevealed((count) => count + 1);
  }

  async function cancel() {
    if (!job) return;
    setCanceling(true);
    setProblem(null);
    try {
      setJob(await api.cancelJob(job.id));
    } catch (error) {
      setProblem(error instanceof ApiError && error.unavailable ? "Canceling is not available on this server yet." : error instanceof Error ? error.message : "Could not cancel.");
    } finally {
      setCanceling(false);
    }
  }

  function backToTheForm() {
    window.scrollTo?.(0, 0);
    document.getElementById("prompt")?.focus();
  }

  function reuse(source: Job, image?: JobImage) {
    setPreset(valuesFromParams(source.params ?? {}, image?.seed));
    backToTheForm();
  }

  function startFromImage(image: JobImage) {
    setInputPreset({ ref: image.id, url: image.url, width: image.width, height: image.height, label: `your image (seed ${image.seed})` });
    backToTheForm();
  }

  return (
    <div className="generate-page">
      <PageTitle>Generate</PageTitle>
      <div className="generate-layout">
        <GenerateForm api={api} busy={active} usage={usage.data ?? null} models={models.data ?? null} preset={preset} inputPreset={inputPreset}
          draftKey={user ? `atelier.draft.${user.id}` : null}
          onSubmitted={(created) => {
            show(created);
            void usage.reload();
            void models.reload(); // states change as workers load and unload models
          }} />
        <div className="generate-side">
          <div ref={resultRef} className="generate-result">
            {problem && <p className="banner banner-error" role="alert">{problem}</p>}
            {job ? (
              <JobView job={job} streamError={streamError} canceling={canceling} onCancel={() => void cancel()} onReuse={reuse}
                preview={preview}
                onUseAsInput={job.status === "succeeded" ? startFromImage : undefined} />
            ) : (
              <p className="card hint generate-placeholder">Your images appear here, with their progress while they are made.</p>
            )}
          </div>
          <RecentJobs jobs={recent.jobs} error={recent.error} currentId={job?.id ?? null} onShow={show} onRerun={(source) => reuse(source)} />
        </div>
      </div>
    </div>
  );
}

import { LoadError } from "./Loading";
import type { Job } from "../api";

const STATE_LABELS: Record<Job["status"], string> = {
  queued: "Queued", running: "Running", succeeded: "Done", failed: "Failed", canceled: "Canceled",
};

function promptOf(job: Job): string {
  return typeof job.params?.prompt === "string" && job.params.prompt ? job.params.prompt : "(no prompt)";
}

/** The parameters a person chose, in their words: "256×256 · 20 steps · 2 images · seed 7". */
export function paramsSummary(job: Job): string {
  const p = job.params ?? {};
  const parts: string[] = [];
  if (p.width && p.height) parts.push(`${p.width}×${p.height}`);
  if (p.steps) parts.push(`${p.steps} steps`);
  const n = Number(p.n ?? 1);
  parts.push(n === 1 ? "1 image" : `${n} images`);
  if (typeof p.seed === "number") parts.push(`seed ${p.seed}`);
  if (typeof p.scheduler === "string" && p.scheduler !== "default") parts.push(p.scheduler);
  if (typeof p.kind === "string" && p.kind !== "txt2img") parts.unshift(p.kind);
  return parts.join(" · ");
}

function stateText(job: Job): string {
  if (job.status === "running" && job.step && job.total_steps) return `Running, step ${job.step} of ${job.total_steps}`;
  return STATE_LABELS[job.status] ?? job.status;
}

interface Props {
  jobs: Job[] | null;
  error: unknown;
  currentId: string | null;
  onShow: (job: Job) => void;
  onRerun: (job: Job) => void;
}

/** The person's latest jobs with their state and parameters: show one (it re-attaches to a
 * running job's progress) or re-run it (its parameters fill the form). */
export function RecentJobs({ jobs, error, currentId, onShow, onRerun }: Props) {
  // A server without the job list: the page works without this view.
  if (!jobs && !error) return null;
  return (
    <section aria-labelledby="recent-title" className="card recent-jobs" data-testid="recent-jobs">
      <h2 id="recent-title">Recent jobs</h2>
      {error ? <LoadError error={error} what="Recent jobs" /> : null}
      {jobs && jobs.length === 0 && <p className="hint">Your jobs will be listed here.</p>}
      {jobs && jobs.length > 0 && (
        <ul className="recent-list">
          {jobs.map((job) => {
            const prompt = promptOf(job);
            const current = job.id === currentId;
            const thumbnail = job.images?.[0];
            return (
              <li key={job.id} className="recent-job" data-testid="recent-job" data-job-id={job.id} data-status={job.status}
                aria-current={current ? "true" : undefined}>
                {thumbnail ? <img className="recent-thumb" src={thumbnail.url} alt="" width={48} height={48} loading="lazy" />
                  : <span className="recent-thumb" aria-hidden="true" />}
                <div className="recent-body">
                  <p className="recent-prompt">{prompt}</p>
                  <p className="hint">
                    <span className={`state state-${job.status}`} data-testid="recent-job-state">{stateText(job)}</span>
                    {" · "}{paramsSummary(job)}
                    {" · "}<time dateTime={job.created_at}>{new Date(job.created_at).toLocaleString(undefined, { dateStyle: "short", timeStyle: "short" })}</time>
                  </p>
                </div>
                <div className="recent-actions">
                  {current ? <span className="hint recent-showing">Shown above</span> : (
                    <button type="button" className="secondary" onClick={() => onShow(job)} data-testid="show-job">
                      Show<span className="visually-hidden">: {prompt}</span>
                    </button>
                  )}
                  <button type="button" className="secondary" onClick={() => onRerun(job)} data-testid="rerun-job">
                    Re-run<span className="visually-hidden">: {prompt}</span>
                  </button>
                </div>
              </li>
            );
          })}
        </ul>
      )}
    </section>
  );
}

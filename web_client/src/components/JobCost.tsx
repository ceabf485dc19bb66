import type { Usage } from "../api";
import { MIN_COST, budgetLeft, costInWords, costUnits, denoisedSteps, rawCostUnits, secondsUntilAffordable } from "../cost";
import { useNow } from "../hooks/useNow";

interface Props {
  width: number;
  height: number;
  steps: number;
  n: number;
  kind: string;
  strength: number;
  usage: Usage | null;
  errors?: string[];
}

const oneDecimal = (units: number) => String(Math.floor(units * 10) / 10);

/** What the job will cost, in the units the plan's per-minute limit counts, before Generate:
 * against the whole budget and against what is left of it now (it refills continuously). */
export function JobCost({ width, height, steps, n, kind, strength, usage, errors }: Props) {
  const perMinute = usage?.limits.requests_per_minute ?? null;
  const fullAt = usage ? Date.parse(usage.resets_at.minute) : NaN;
  const now = useNow(Number.isFinite(fullAt) ? fullAt : 0);
  const valid = [width, height, steps, n].every((value) => Number.isFinite(value) && value > 0);
  if (!valid) return null;
  const denoised = denoisedSteps(kind, steps, strength);
  const cost = costUnits(width, height, denoised, n);
  const least = rawCostUnits(width, height, denoised, n) < MIN_COST;
  const left = perMinute !== null && Number.isFinite(fullAt) ? budgetLeft(perMinute, fullAt, now) : null;
  const invalid = Boolean(errors?.length);

  let budget = "";
  if (perMinute !== null) {
    budget = ` Your plan allows ${costInWords(perMinute)} a minute`;
    if (cost > perMinute) budget += ", so this job is too large: use fewer steps or images, or a smaller size.";
    else if (left !== null && left < cost) budget += `; ${oneDecimal(left)} left now, enough for this job in ${secondsUntilAffordable(cost, left, perMinute)} s.`;
    else if (left !== null) budget += `; ${oneDecimal(left)} left now.`;
    else budget += ".";
  }
  return (
    <div className={invalid ? "job-cost field-invalid" : "job-cost"}>
      <p className="hint" id="cost" tabIndex={-1} data-testid="cost-line" data-cost={cost}>
        This job costs <strong data-testid="cost-units">{costInWords(cost)}</strong>
        {least && " (the least any job costs)"}.
        {denoised !== steps && <span data-testid="cost-denoised"> At strength {strength} it runs {denoised} of its {steps} steps, and is charged for those.</span>}
        {budget}
      </p>
      {invalid && <p className="field-error" data-testid="cost-error">{errors!.join(" ")}</p>}
    </div>
  );
}

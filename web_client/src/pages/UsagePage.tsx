import type { ReactNode } from "react";
import type { Usage } from "../api";
import { LoadError, Loading } from "../components/Loading";
import { PageTitle } from "../components/PageTitle";
import { budgetLeft } from "../cost";
import { useLoad } from "../hooks/useLoad";
import { useNow } from "../hooks/useNow";
import { useSession } from "../session";

function inWords(iso: string, now: number): string {
  const seconds = Math.max(0, Math.ceil((Date.parse(iso) - now) / 1000));
  if (seconds < 60) return `in ${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `in ${minutes} min`;
  return `in ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function Meter({ label, left, total, resets, testId, children }: {
  label: string; left: number; total: number; resets?: string; testId: string; children?: ReactNode;
}) {
  const used = Math.max(0, total - left);
  // The bar shows what is left, like a fuel gauge; a reset time only matters once some is used.
  return (
    <div className="meter" data-testid={testId}>
      <div className="meter-label">
        <span>{label}</span>
        <span><strong>{left}</strong> of {total} left</span>
      </div>
      <meter min={0} max={total} value={left} low={total * 0.2} high={total * 0.5} optimum={total}
        aria-label={`${label}: ${left} of ${total} left`} />
      {resets && used > 0 && <p className="hint">Resets {resets}</p>}
      {children}
    </div>
  );
}

/** The per-minute budget, live: what is left and when it is full again, counted down each second.
 * It is pre_inference's GCRA bucket (app/adapters/ratelimit.py), which refills continuously rather
 * than at the top of each clock minute; resets_at.minute is when it is full again. */
function MinuteBudget({ usage, now }: { usage: Usage; now: number }) {
  const perMinute = usage.limits.requests_per_minute;
  const fullAt = Date.parse(usage.resets_at.minute);
  const left = Math.floor(budgetLeft(perMinute, fullAt, now));
  const full = !(fullAt > now);
  return (
    <Meter label="Cost units per minute" left={left} total={perMinute} testId="usage-minute">
      <p className="hint" data-testid="usage-minute-reset">
        {full ? "Full now." : <>Full again <strong data-testid="usage-minute-countdown">{inWords(usage.resets_at.minute, now)}</strong>.</>}
      </p>
      <p className="hint">
        A job of 512×512 pixels, 30 steps and one image costs 1 cost unit; bigger jobs cost more (the form shows each job’s
        cost before you send it). This budget is not a clock minute: it refills continuously, one cost unit every{" "}
        {Math.round((60 / perMinute) * 10) / 10} s, so it is full a minute after you last spent it. When Generate is refused
        for going over it, the countdown there runs on this same budget: it ends when enough has refilled for that job,
        which can be before it is full.
      </p>
    </Meter>
  );
}

export function UsageView({ usage }: { usage: Usage }) {
  const now = useNow();
  const { limits, remaining, resets_at: resets } = usage;
  return (
    <section className="card" aria-labelledby="usage-title">
      <h2 id="usage-title">Your {usage.tier} plan</h2>
      <MinuteBudget usage={usage} now={now} />
      <Meter label="Images today" left={remaining.images_today} total={limits.images_per_day}
        resets={`${inWords(resets.day, now)} (${new Date(resets.day).toLocaleString()})`} testId="usage-day" />
      <Meter label="Jobs at once" left={remaining.concurrent_jobs} total={limits.concurrency} testId="usage-concurrency" />
      <dl className="facts">
        <dt>Largest image</dt><dd>{limits.max_width}×{limits.max_height}px</dd>
        <dt>Most steps</dt><dd>{limits.max_steps}</dd>
        <dt>Credits</dt><dd data-testid="usage-credits">{remaining.credits ?? "—"}</dd>
      </dl>
    </section>
  );
}

export function UsagePage() {
  const { api } = useSession();
  const usage = useLoad(() => api.usage(), [api]);
  return (
    <>
      <PageTitle>Usage</PageTitle>
      {usage.loading && !usage.data && <Loading what="usage" />}
      {usage.error !== null && <LoadError error={usage.error} what="Usage" />}
      {usage.data && <UsageView usage={usage.data} />}
      {usage.data && <div className="actions"><button type="button" className="secondary" onClick={() => void usage.reload()}>Refresh</button></div>}
    </>
  );
}

import { useEffect, useState } from "react";
import type { Usage } from "../api";
import { LoadError, Loading } from "../components/Loading";
import { PageTitle } from "../components/PageTitle";
import { useLoad } from "../hooks/useLoad";
import { useSession } from "../session";

function inWords(iso: string, now: number): string {
  const seconds = Math.max(0, Math.round((Date.parse(iso) - now) / 1000));
  if (seconds < 60) return `in ${seconds} s`;
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return `in ${minutes} min`;
  return `in ${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

function Meter({ label, left, total, resets, testId }: { label: string; left: number; total: number; resets?: string; testId: string }) {
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
    </div>
  );
}

export function UsageView({ usage }: { usage: Usage }) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const { limits, remaining, resets_at: resets } = usage;
  return (
    <section className="card" aria-labelledby="usage-title">
      <h2 id="usage-title">Your {usage.tier} plan</h2>
      <Meter label="Requests this minute" left={remaining.requests_this_minute} total={limits.requests_per_minute}
        resets={inWords(resets.minute, now)} testId="usage-minute" />
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

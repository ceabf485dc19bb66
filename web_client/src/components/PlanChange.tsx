import { useEffect, useRef, useState } from "react";
import type { Invoice, Plan, Subscription } from "../api";
import { useLoad } from "../hooks/useLoad";
import { money } from "../money";
import { useSession } from "../session";
import { ErrorBanner } from "./ErrorBanner";
import { LoadError, Loading } from "./Loading";

const date = (iso: string) => new Date(iso).toLocaleDateString();

interface Props {
  plan: Plan;
  /** The plan switched from, for the credit line ("the unused part of Pro"). */
  currentName: string;
  onChanged: (result: { subscription: Subscription; invoice: Invoice }) => void;
  onClose: () => void;
}

/** Switching a live subscription to another plan: what it costs now (prorated by payments,
 * never computed here), then a confirm. Nothing changes until the confirm button. */
export function PlanChangeConfirm({ plan, currentName, onChanged, onClose }: Props) {
  const { api } = useSession();
  const quote = useLoad(() => api.changePreview(plan.code), [api, plan.code]);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const heading = useRef<HTMLHeadingElement>(null);

  // Opened from a button further down the page: take keyboard and screen reader focus with it.
  useEffect(() => heading.current?.focus(), [plan.code]);

  async function confirm() {
    setBusy(true);
    setError(null);
    try {
      onChanged(await api.changePlan(plan.code));
    } catch (failure) {
      setError(failure instanceof Error ? failure.message : "Could not change the plan.");
      void quote.reload(); // the price moves with the clock: show what a retry would cost
    } finally {
      setBusy(false);
    }
  }

  const q = quote.data;
  const cost = (cents: number) => money(cents, q?.currency ?? plan.currency);
  return (
    <section className="card plan-change" aria-labelledby="plan-change-title" data-testid="plan-change">
      <h2 id="plan-change-title" tabIndex={-1} ref={heading}>Switch to {plan.name}</h2>
      <ErrorBanner message={error} onDismiss={() => setError(null)} />
      {quote.loading && !q && <Loading what="the price of the switch" />}
      {quote.error !== null && <LoadError error={quote.error} what="The price of the switch" />}
      {q && (
        <>
          <dl className="facts" data-testid="plan-change-quote">
            <dt>Credit for the unused part of {currentName}</dt><dd>−{cost(q.unused_credit_cents)}</dd>
            <dt>{plan.name} for the rest of this period</dt><dd>{cost(q.remaining_charge_cents)}</dd>
            {q.account_credit_applied_cents > 0 && (
              <><dt>Account credit used</dt><dd>−{cost(q.account_credit_applied_cents)}</dd></>
            )}
            <dt>Due now</dt><dd><strong data-testid="change-amount-due">{cost(q.amount_due_cents)}</strong></dd>
            {q.account_credit_added_cents > 0 && (
              <><dt>Kept as credit for your next invoices</dt><dd data-testid="change-credit">{cost(q.account_credit_added_cents)}</dd></>
            )}
            <dt>From {date(q.next_billing_at)}</dt>
            <dd>{cost(q.next_price_cents)}{plan.interval ? ` / ${plan.interval}` : ""}</dd>
          </dl>
          <p className="hint">The switch takes effect at once, and your plan keeps renewing on the same date.</p>
        </>
      )}
      <div className="actions">
        <button type="button" onClick={() => void confirm()} disabled={busy || !q} data-testid="confirm-change">
          {busy ? "Switching…" : q && q.amount_due_cents > 0 ? `Pay ${cost(q.amount_due_cents)} and switch` : `Switch to ${plan.name}`}
        </button>
        <button type="button" className="secondary" onClick={onClose} disabled={busy} data-testid="keep-plan">
          Keep {currentName}
        </button>
      </div>
    </section>
  );
}

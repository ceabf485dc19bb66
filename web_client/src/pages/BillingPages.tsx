import { useEffect, useRef, useState } from "react";
import { ApiError, type Plan, type Subscription } from "../api";
import { ErrorBanner } from "../components/ErrorBanner";
import { LoadError, Loading } from "../components/Loading";
import { PageTitle } from "../components/PageTitle";
import { Link, useRouter } from "../router";
import { useLoad } from "../hooks/useLoad";
import { useSession } from "../session";
import { money } from "../money";
import { PlanList } from "../components/PlanList";
import { PlanChangeConfirm } from "../components/PlanChange";

const date = (iso?: string | null) => (iso ? new Date(iso).toLocaleDateString() : "—");
const planName = (plans: Plan[] | null, code: string) => plans?.find((p) => p.code === code)?.name ?? code;

export function PricingPage() {
  const { api, loggedIn, user } = useSession();
  const { navigate } = useRouter();
  const plans = useLoad(() => api.plans(), [api]);
  // What each plan gives comes from the policy the job API enforces; pricing still shows without it.
  const tiers = useLoad(() => api.tiers().catch(() => null), [api]);
  // A live subscription turns the other plans' purchase into a prorated switch.
  const subscription = useLoad(() => (loggedIn ? api.subscription().catch(() => null) : Promise.resolve(null)), [api, loggedIn]);
  const sub = subscription.data;
  const switchFrom = sub && sub.status === "active" && !sub.cancel_at_period_end ? sub.plan : null;
  const [switchTo, setSwitchTo] = useState<Plan | null>(null);
  const [buying, setBuying] = useState<string | null>(null);
  const [banner, setBanner] = useState<string | null>(null);

  async function buy(item: Plan) {
    if (switchFrom && item.kind === "plan") {
      setSwitchTo(item);
      return;
    }
    if (!loggedIn) {
      navigate(`/login?next=${encodeURIComponent("/pricing")}`);
      return;
    }
    setBuying(item.code);
    setBanner(null);
    try {
      const { checkout_url } = await api.checkout(item);
      window.location.assign(checkout_url); // the provider's hosted page; it comes back to /billing
    } catch (error) {
      setBanner(error instanceof ApiError && error.unavailable ? "Checkout is not available on this server yet."
        : error instanceof Error ? error.message : "Could not start the checkout.");
      setBuying(null);
    }
  }

  return (
    <>
      <PageTitle>Pricing</PageTitle>
      <ErrorBanner message={banner} onDismiss={() => setBanner(null)} />
      {plans.loading && <Loading what="plans" />}
      {plans.error !== null && <LoadError error={plans.error} what="Pricing" />}
      {sub?.status === "canceled" && (
        <p className="banner banner-info" role="status" data-testid="resume-to-switch">
          Your subscription is canceled. <Link to="/billing">Resume it on the billing page</Link> to switch plans.
        </p>
      )}
      {switchTo && switchFrom && (
        <PlanChangeConfirm plan={switchTo} currentName={planName(plans.data, switchFrom)} onClose={() => setSwitchTo(null)}
          onChanged={() => navigate(`/billing?changed=${encodeURIComponent(switchTo.code)}`)} />
      )}
      {plans.data && (
        <PlanList plans={plans.data.filter((p) => p.kind !== "pack")} tiers={tiers.data} title="Plans"
          currentTier={loggedIn ? user?.tier ?? null : null} switchFrom={switchFrom} buying={buying}
          onBuy={(item) => void buy(item)} />
      )}
      {plans.data && (
        <PlanList plans={plans.data.filter((p) => p.kind === "pack")} tiers={tiers.data} title="Credit packs"
          buying={buying} onBuy={(item) => void buy(item)} />
      )}
    </>
  );
}

export function BillingPage() {
  const { api, reloadUser } = useSession();
  const { query } = useRouter();
  const checkout = query.get("checkout");
  const changed = query.get("changed");
  const subscription = useLoad(() => api.subscription(), [api]);
  const plans = useLoad(() => api.plans().catch(() => [] as Plan[]), [api]);
  const [switchTo, setSwitchTo] = useState<Plan | null>(null);
  const [switched, setSwitched] = useState<string | null>(null);
  const invoices = useLoad(() => api.invoices(), [api]);
  const ledger = useLoad(() => api.ledger(), [api]);
  const [banner, setBanner] = useState<string | null>(null);
  const [canceling, setCanceling] = useState(false);
  const [resuming, setResuming] = useState(false);
  const [arrived, setArrived] = useState(false);

  // Back from a checkout: the payment reaches this service by the provider's webhook a moment
  // later, so the page asks again until it shows (a subscription, or one more invoice), instead
  // of leaving the user to reload.
  const invoiceCount = invoices.data?.length ?? null;
  const firstCount = useRef<number | null>(null);
  if (firstCount.current === null && invoiceCount !== null) firstCount.current = invoiceCount;
  const landed = arrived || (invoiceCount !== null && firstCount.current !== null && invoiceCount > firstCount.current);
  useEffect(() => {
    if (checkout !== "success" || landed) return;
    let tries = 0;
    const timer = setInterval(() => {
      if (++tries > 20) return clearInterval(timer);
      void Promise.all([subscription.reload(), invoices.reload(), ledger.reload()]);
    }, 1500);
    return () => clearInterval(timer);
  }, [checkout, landed]); // eslint-disable-line react-hooks/exhaustive-deps
  useEffect(() => {
    if (landed) {
      setArrived(true);
      void reloadUser();
    }
  }, [landed, reloadUser]);

  async function resume() {
    setResuming(true);
    try {
      subscription.setData(await api.resumeSubscription());
      void reloadUser();
    } catch (error) {
      setBanner(error instanceof Error ? error.message : "Could not resume the subscription.");
    } finally {
      setResuming(false);
    }
  }

  function planChanged(result: { subscription: Subscription }) {
    subscription.setData(result.subscription);
    setSwitched(result.subscription.plan);
    setSwitchTo(null);
    void Promise.all([invoices.reload(), ledger.reload(), reloadUser()]);
  }

  async function cancel() {
    if (!window.confirm("Cancel your subscription? You keep your plan until the end of the period.")) return;
    setCanceling(true);
    try {
      subscription.setData(await api.cancelSubscription());
      void reloadUser();
    } catch (error) {
      setBanner(error instanceof ApiError && error.unavailable ? "Canceling is not available on this server yet."
        : error instanceof Error ? error.message : "Could not cancel.");
    } finally {
      setCanceling(false);
    }
  }

  const sub = subscription.data;
  const { user } = useSession();
  const tierShown = user?.tier;
  // After a purchase the new tier reaches auth through events: once the subscription shows it,
  // renew the access token (its tier claim sets the limits) and the profile.
  const wantedTier = sub && sub.status === "active" ? sub.tier : null;
  useEffect(() => {
    if (!wantedTier || !tierShown || wantedTier === tierShown) return;
    let stopped = false;
    let tries = 0;
    const timer = setInterval(() => {
      if (stopped || ++tries > 10) return clearInterval(timer);
      void api.renew().then(async () => {
        if (!stopped) await reloadUser();
      });
    }, 2000);
    return () => {
      stopped = true;
      clearInterval(timer);
    };
  }, [api, wantedTier, tierShown, reloadUser]);
  const active = sub && sub.status === "active" && !sub.cancel_at_period_end;
  // The other paid plans of the same billing interval: payments prorates within one period.
  const current = plans.data?.find((p) => p.code === sub?.plan);
  const others = (plans.data ?? []).filter((p) => p.kind === "plan" && p.price_cents > 0 && p.code !== sub?.plan
    && (!current || (p.interval === current.interval && p.currency === current.currency)));
  return (
    <>
      <PageTitle>Billing</PageTitle>
      {checkout === "success" && (
        <p className="banner banner-info" role="status" data-testid="checkout-success">
          Thank you! Your payment went through. Your plan and credits update within a few seconds.
        </p>
      )}
      {checkout === "canceled" && <p className="banner banner-warning" role="status">The checkout was canceled; nothing was charged.</p>}
      {(switched ?? changed) && sub && sub.plan === (switched ?? changed) && (
        <p className="banner banner-info" role="status" data-testid="plan-changed">
          You are now on {planName(plans.data, sub.plan)}. The prorated charge or credit is in your invoices below.
        </p>
      )}
      <ErrorBanner message={banner} onDismiss={() => setBanner(null)} />
      <section className="card" aria-labelledby="sub-title">
        <h2 id="sub-title">Subscription</h2>
        {subscription.loading && !subscription.data && <Loading what="your subscription" />}
        {subscription.error !== null && <LoadError error={subscription.error} what="Subscription status" />}
        {!subscription.loading && !subscription.error && !sub && (
          <p data-testid="no-subscription">You are on the free plan. <Link to="/pricing">See plans</Link></p>
        )}
        {sub && (
          <>
            <dl className="facts" data-testid="subscription">
              <dt>Plan</dt><dd data-testid="subscription-plan">{sub.plan} ({sub.tier})</dd>
              <dt>Status</dt><dd data-testid="subscription-status">{sub.status}{sub.cancel_at_period_end ? ", ends at the end of the period" : ""}</dd>
              <dt>{active ? "Renews" : "Ends"}</dt><dd>{date(sub.current_period_end)}</dd>
            </dl>
            {active && (
              <div className="actions">
                {others.map((plan) => (
                  <button key={plan.code} type="button" className="secondary" onClick={() => setSwitchTo(plan)}
                    disabled={switchTo?.code === plan.code} data-testid={`switch-${plan.code}`}>
                    Switch to {plan.name} ({money(plan.price_cents, plan.currency)}{plan.interval ? ` / ${plan.interval}` : ""})
                  </button>
                ))}
                <button type="button" className="secondary" onClick={() => void cancel()} disabled={canceling} data-testid="cancel-subscription">
                  {canceling ? "Canceling…" : "Cancel subscription"}
                </button>
              </div>
            )}
            {sub.status === "canceled" && new Date(sub.current_period_end) > new Date() && (
              <div className="actions">
                <p className="hint">Changed your mind? Your plan keeps renewing if you resume it before {date(sub.current_period_end)}.</p>
                <button type="button" onClick={() => void resume()} disabled={resuming} data-testid="resume-subscription">
                  {resuming ? "Resuming…" : "Resume subscription"}
                </button>
              </div>
            )}
          </>
        )}
      </section>
      {active && sub && switchTo && (
        <PlanChangeConfirm plan={switchTo} currentName={planName(plans.data, sub.plan)} onChanged={planChanged}
          onClose={() => setSwitchTo(null)} />
      )}
      <section className="card" aria-labelledby="invoices-title">
        <h2 id="invoices-title">Invoices</h2>
        {invoices.loading && <Loading what="invoices" />}
        {invoices.error !== null && <LoadError error={invoices.error} what="Invoices" />}
        {invoices.data && invoices.data.length === 0 && <p>No invoices yet.</p>}
        {invoices.data && invoices.data.length > 0 && (
          <div className="table-wrap">
            <table data-testid="invoices" className="table-stack">
              <thead><tr><th scope="col">Date</th><th scope="col">Description</th><th scope="col">Amount</th><th scope="col">Status</th></tr></thead>
              <tbody>
                {invoices.data.map((inv) => (
                  <tr key={inv.id}>
                    <td data-label="Date">{date(inv.paid_at)}</td>
                    <td data-label="Description">{inv.description || inv.id}{inv.credits ? ` (${inv.credits} credits)` : ""}</td>
                    <td data-label="Amount">{money(inv.amount_cents, inv.currency)}{inv.refunded_cents ? `, ${money(inv.refunded_cents, inv.currency)} refunded` : ""}</td>
                    <td data-label="Status">{inv.status}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="card" aria-labelledby="ledger-title">
        <h2 id="ledger-title">Credits and payments</h2>
        {ledger.loading && <Loading what="ledger" />}
        {ledger.error !== null && <LoadError error={ledger.error} what="The ledger" />}
        {ledger.data && (
          <p data-testid="credit-balance">Credit balance: <strong>{ledger.data.credit_balance ?? 0}</strong></p>
        )}
        {ledger.data && ledger.data.items.length === 0 && <p>No entries yet.</p>}
        {ledger.data && ledger.data.items.length > 0 && (
          <ul className="ledger" data-testid="ledger">
            {ledger.data.items.map((e) => (
              <li key={e.id}>
                <time dateTime={e.created_at}>{date(e.created_at)}</time> {e.memo || e.kind}:{" "}
                <strong>{e.unit && /^[A-Za-z]{3}$/.test(e.unit) ? money(Number(e.amount), e.unit) : `${e.amount} ${e.unit ?? ""}`}</strong>
              </li>
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

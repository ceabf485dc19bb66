import type { Plan, Tier, Tiers } from "../api";
import { money } from "../money";

/** What a tier gives, in a few short lines a visitor can compare across plans. */
export function tierFacts(tier: Tier | undefined, costUnit: Tiers["cost_unit"] | undefined): string[] {
  if (!tier) return [];
  return [
    `Images up to ${tier.max_width}×${tier.max_height} px, up to ${tier.max_steps} steps`,
    `${tier.images_per_day.toLocaleString()} images a day, ${tier.max_n} per job`,
    `${tier.concurrency} ${tier.concurrency === 1 ? "job" : "jobs"} at a time`,
    `${tier.cost_units_per_minute} cost units a minute${costUnit ? ` (one unit: a ${costUnit.width}×${costUnit.height}, ${costUnit.steps}-step image)` : ""}`,
    tier.priority > 1 ? "Priority in the queue when it is busy" : "Standard place in the queue",
    ...(tier.per_key ? ["Limits per API key, for partners serving their own users"] : []),
  ];
}

interface Props {
  plans: Plan[];
  tiers: Tiers | null;
  /** The signed-in user's tier: that plan is marked and offers no purchase. */
  currentTier?: string | null;
  /** The code of the plan of a live subscription: that plan is marked (whatever the tier says
   * meanwhile), and the other paid plans offer a switch instead of a second subscription. */
  switchFrom?: string | null;
  buying?: string | null;
  onBuy?: (plan: Plan) => void;
  title: string;
}

/** Plan or credit-pack cards with what each gives; shared by the front page and pricing. */
export function PlanList({ plans, tiers, currentTier = null, switchFrom = null, buying = null, onBuy, title }: Props) {
  if (plans.length === 0) return null;
  const byTier = new Map((tiers?.tiers ?? []).map((tier) => [tier.tier, tier]));
  return (
    <section aria-label={title}>
      <h2>{title}</h2>
      <ul className="plans">
        {plans.map((item) => {
          const current = item.kind === "plan" && (switchFrom !== null ? item.code === switchFrom
            : currentTier !== null && item.tier === currentTier);
          const switching = item.kind === "plan" && switchFrom !== null;
          const facts = item.kind === "plan" ? tierFacts(byTier.get(item.tier ?? ""), tiers?.cost_unit) : [];
          return (
            <li key={item.code} className={`card plan${current ? " plan-current" : ""}`} data-testid={`plan-${item.code}`}>
              <h3>{item.name}{current && <span className="badge" data-testid="current-plan"> Your plan</span>}</h3>
              <p className="price">
                {money(item.price_cents, item.currency)}
                {item.interval && item.price_cents > 0 && <span className="hint"> / {item.interval}</span>}
              </p>
              {item.kind === "pack" ? (
                <p className="hint">{item.credits ?? ""} credits: each pays for one image beyond your plan's daily allowance.</p>
              ) : facts.length > 0 ? (
                <ul className="plan-facts" data-testid={`plan-facts-${item.code}`}>
                  {facts.map((fact) => <li key={fact}>{fact}</li>)}
                </ul>
              ) : (
                <p className="hint">The {item.tier} tier</p>
              )}
              {onBuy && item.price_cents > 0 && !current && (
                <button type="button" onClick={() => onBuy(item)} disabled={buying !== null}
                  data-testid={`${switching ? "switch" : "buy"}-${item.code}`}>
                  {switching ? `Switch to ${item.name}`
                    : buying === item.code ? "Opening checkout…" : item.kind === "pack" ? "Buy" : "Subscribe"}
                  {!switching && <span className="visually-hidden"> {item.name}</span>}
                </button>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

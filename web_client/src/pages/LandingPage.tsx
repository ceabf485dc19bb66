import { PlanList } from "../components/PlanList";
import { PageTitle } from "../components/PageTitle";
import { useLoad } from "../hooks/useLoad";
import { Link } from "../router";
import { useSession } from "../session";

/** The front page for visitors: what Atelier is and what each plan gives, before any sign-up. */
export function LandingPage() {
  const { api } = useSession();
  const plans = useLoad(() => api.plans().catch(() => []), [api]);
  const tiers = useLoad(() => api.tiers().catch(() => null), [api]);
  return (
    <>
      <PageTitle>Images from words, on your own terms</PageTitle>
      <section className="hero" data-testid="landing">
        <p className="lead">
          Atelier turns a sentence into pictures. Describe what you want, watch it take shape step by step, and keep
          everything you make in your gallery, with the settings that made it so you can make it again.
        </p>
        <div className="actions hero-actions">
          <Link to="/signup" className="button" data-testid="landing-signup">Start free</Link>
          <Link to="/login" className="button secondary">Log in</Link>
        </div>
      </section>
      <section aria-labelledby="how-title" className="card">
        <h2 id="how-title">How it works</h2>
        <ol className="steps">
          <li><strong>Describe it.</strong> A prompt, a size, how many images; start from one of your pictures or paint over part of it.</li>
          <li><strong>Watch it.</strong> Progress arrives live; cancel any time, and a reload never loses a running job.</li>
          <li><strong>Keep it.</strong> Your gallery keeps each image with its prompt and seed; download it, reuse its settings, or build on it.</li>
          <li><strong>Build on it.</strong> Developers get the same engine through API keys, with the same limits as this page.</li>
        </ol>
      </section>
      {plans.data && plans.data.length > 0 && (
        <>
          <PlanList plans={plans.data.filter((p) => p.kind !== "pack")} tiers={tiers.data} title="Plans" />
          <p className="hint">
            Need more than your plan's daily images? Credit packs add them one image per credit.{" "}
            <Link to="/pricing">See prices and credit packs</Link>.
          </p>
        </>
      )}
    </>
  );
}

import { useEffect, useState } from "react";
import { Link, useRouter } from "../router";
import { useSession } from "../session";

const MEMBER_LINKS: [string, string][] = [
  ["/generate", "Generate"], ["/gallery", "Gallery"], ["/usage", "Usage"], ["/keys", "API keys"],
  ["/pricing", "Pricing"], ["/billing", "Billing"], ["/account", "Account"],
];
const VISITOR_LINKS: [string, string][] = [["/login", "Log in"], ["/signup", "Sign up"], ["/pricing", "Pricing"]];

/** Brand, who is logged in, and the main navigation. On a narrow screen a member's links fold
 * behind a Menu button (styles.css decides when), so the header never overflows a phone; a
 * visitor's three links fit as they are. */
export function SiteHeader() {
  const { loggedIn, user, logOut } = useSession();
  const { path, navigate } = useRouter();
  const [open, setOpen] = useState(false);

  // A followed link closes the menu.
  useEffect(() => setOpen(false), [path]);

  useEffect(() => {
    if (!open) return;
    const onKey = (event: KeyboardEvent) => {
      if (event.key === "Escape") setOpen(false);
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [open]);

  const links = loggedIn ? MEMBER_LINKS : VISITOR_LINKS;
  return (
    <header className={loggedIn ? "masthead has-menu" : "masthead"}>
      <a className="skip-link" href="#main">Skip to content</a>
      <div className="brand">
        <Link to="/">Atelier</Link>
        {user && <span className="hint user-chip" data-testid="user-chip">{user.email} · {user.tier}</span>}
      </div>
      {loggedIn && (
        <button type="button" className="secondary menu-button" aria-expanded={open} aria-controls="main-nav"
          onClick={() => setOpen((was) => !was)} data-testid="menu-button">
          {open ? "Close" : "Menu"}
        </button>
      )}
      <nav id="main-nav" aria-label="Main" className={open ? "open" : undefined}>
        <ul>
          {links.map(([to, label]) => <li key={to}><Link to={to}>{label}</Link></li>)}
          {loggedIn && (
            <li>
              <button type="button" className="link-button nav-logout" data-testid="nav-logout"
                onClick={() => void logOut().then(() => navigate("/login", { replace: true }))}>
                Log out
              </button>
            </li>
          )}
        </ul>
      </nav>
    </header>
  );
}

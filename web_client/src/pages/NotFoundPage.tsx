import { PageTitle } from "../components/PageTitle";
import { Link, useRouter } from "../router";
import { useSession } from "../session";

/** Any address the app has no page for: say so plainly and offer the ways back in. */
export function NotFoundPage() {
  const { path } = useRouter();
  const { loggedIn } = useSession();
  return (
    <>
      <PageTitle>Page not found</PageTitle>
      <section className="card not-found" data-testid="not-found">
        <p>
          There is no page at <code>{path}</code>. The link may be mistyped, or the page may have moved.
        </p>
        <ul className="link-list">
          {loggedIn ? (
            <>
              <li><Link to="/generate">Generate an image</Link></li>
              <li><Link to="/gallery">Open your gallery</Link></li>
            </>
          ) : (
            <>
              <li><Link to="/login">Log in</Link></li>
              <li><Link to="/signup">Create an account</Link></li>
            </>
          )}
          <li><Link to="/pricing">See the plans</Link></li>
        </ul>
      </section>
    </>
  );
}

import { useEffect, useRef, useState, type FormEvent } from "react";
import { ApiError, type FieldErrors } from "../api";
import { AuthForm } from "../components/AuthForm";
import { ErrorBanner } from "../components/ErrorBanner";
import { Field } from "../components/Field";
import { PageTitle } from "../components/PageTitle";
import { Link, useRouter } from "../router";
import { asSentence } from "../sentences";
import { useSession } from "../session";
import { hasErrors, MIN_PASSWORD, validateNewPassword } from "../validation";

export function LoginPage({ mode }: { mode: "login" | "signup" }) {
  const { api, notice, signedIn } = useSession();
  const { query, navigate } = useRouter();
  const next = query.get("next");
  return (
    <>
      <PageTitle>{mode === "signup" ? "Create an account" : "Log in"}</PageTitle>
      <AuthForm api={api} notice={notice} primary={mode}
        onLoggedIn={() => {
          signedIn();
          navigate(next && next.startsWith("/") && !next.startsWith("//") ? next : "/generate", { replace: true });
        }} />
      <p className="center">
        <Link to="/reset-password">Forgot your password?</Link>
      </p>
    </>
  );
}

export function VerifyPage() {
  const { api, loggedIn, reloadUser } = useSession();
  const { query } = useRouter();
  const token = query.get("token") ?? "";
  const [state, setState] = useState<"working" | "done" | "already" | "failed">(token ? "working" : "failed");
  const [message, setMessage] = useState(token ? "" : "This link has no verification token. Open the link from the e-mail again.");
  const sent = useRef(false);

  useEffect(() => {
    if (!token || sent.current) return;
    sent.current = true; // one POST even under StrictMode's double effects: the token is single-use
    api.verifyEmail(token).then(
      () => {
        setState("done");
        if (loggedIn) void reloadUser();
      },
      (error) => {
        // A link opened a second time: the address is verified, which is all the person wanted.
        if (error instanceof ApiError && error.code === "already_verified") {
          setState("already");
          if (loggedIn) void reloadUser();
          return;
        }
        setState("failed");
        setMessage(error instanceof ApiError && error.unavailable
          ? "E-mail verification is not available on this server yet."
          : error instanceof Error ? error.message : "The link could not be verified.");
      },
    );
  }, [api, token, loggedIn, reloadUser]);

  return (
    <>
      <PageTitle>Verify your e-mail</PageTitle>
      <section className="card" aria-live="polite">
        {state === "working" && <p role="status">Checking your link…</p>}
        {state === "done" && (
          <p className="banner banner-info" role="status" data-testid="verify-success">
            Your e-mail address is verified. <Link to={loggedIn ? "/generate" : "/login"}>{loggedIn ? "Start generating" : "Log in"}</Link>
          </p>
        )}
        {state === "already" && (
          <p className="banner banner-info" role="status" data-testid="verify-already">
            This e-mail address is already verified; the link has done its work. <Link to={loggedIn ? "/generate" : "/login"}>{loggedIn ? "Start generating" : "Log in"}</Link>
          </p>
        )}
        {state === "failed" && <p className="banner banner-error" role="alert" data-testid="verify-error">{asSentence(message)}</p>}
      </section>
    </>
  );
}

export function ResetPasswordPage() {
  const { api } = useSession();
  const { query } = useRouter();
  const token = query.get("token");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [fields, setFields] = useState<FieldErrors>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const errors: FieldErrors = token ? validateNewPassword(password) : email.trim() ? {} : { email: ["Enter your e-mail address."] };
    setFields(errors);
    setBanner(null);
    if (hasErrors(errors)) return;
    setBusy(true);
    try {
      if (token) {
        await api.confirmPasswordReset(token, password);
        setDone("Your password has been changed. You can log in with it now.");
      } else {
        await api.requestPasswordReset(email.trim());
        setDone(`If an account exists for ${email.trim()}, we have sent it a link to choose a new password.`);
      }
    } catch (error) {
      if (error instanceof ApiError && hasErrors(error.fields)) {
        setFields({ ...error.fields, ...(error.fields.new_password ? { password: error.fields.new_password } : {}) });
      }
      setBanner(error instanceof ApiError && error.unavailable ? "Password reset is not available on this server yet."
        : error instanceof Error ? error.message : "Something went wrong.");
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <PageTitle>{token ? "Choose a new password" : "Reset your password"}</PageTitle>
      <section className="card">
        <ErrorBanner message={banner} onDismiss={() => setBanner(null)} />
        {done ? (
          <p className="banner banner-info" role="status" data-testid="reset-done">
            {done} {token && <Link to="/login">Log in</Link>}
          </p>
        ) : (
          <form onSubmit={submit} noValidate aria-busy={busy}>
            {token ? (
              <Field id="new-password" label="New password" errors={fields.password} hint={`At least ${MIN_PASSWORD} characters.`}>
                {(describedBy, invalid) => (
                  <input id="new-password" type="password" autoComplete="new-password" value={password}
                    onChange={(e) => setPassword(e.target.value)} aria-describedby={describedBy} aria-invalid={invalid}
                    data-testid="new-password-input" />
                )}
              </Field>
            ) : (
              <Field id="reset-email" label="E-mail" errors={fields.email}>
                {(describedBy, invalid) => (
                  <input id="reset-email" type="email" autoComplete="email" value={email}
                    onChange={(e) => setEmail(e.target.value)} aria-describedby={describedBy} aria-invalid={invalid}
                    data-testid="reset-email-input" />
                )}
              </Field>
            )}
            <div className="actions">
              <button type="submit" disabled={busy} data-testid="reset-submit">
                {token ? "Set new password" : "Send reset link"}
              </button>
            </div>
          </form>
        )}
      </section>
    </>
  );
}

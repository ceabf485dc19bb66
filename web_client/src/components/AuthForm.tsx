import { useState, type FormEvent } from "react";
import { ApiError, type ApiClient, type FieldErrors } from "../api";
import { hasErrors, MIN_PASSWORD, validateCredentials } from "../validation";
import { ErrorBanner } from "./ErrorBanner";
import { Field } from "./Field";

interface Props {
  api: ApiClient;
  onLoggedIn: () => void;
  notice?: string | null;
  /** Which action Enter performs and which button leads. */
  primary?: Action;
}

type Action = "signup" | "login";

export function AuthForm({ api, onLoggedIn, notice, primary = "login" }: Props) {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [fields, setFields] = useState<FieldErrors>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(notice ?? null);
  const [busy, setBusy] = useState<Action | null>(null);

  async function submit(action: Action) {
    const errors = validateCredentials(email, password);
    // The length rule is for choosing a password; logging in only needs one typed.
    if (action === "login" && password) delete errors.password;
    setFields(errors);
    setBanner(null);
    setInfo(null);
    if (hasErrors(errors)) return;
    setBusy(action);
    try {
      if (action === "signup") {
        const user = await api.signup(email.trim(), password);
        // The same words whether or not the address already had an account: signup tells no one which addresses exist.
        setInfo(`We sent a message to ${user.email}: follow its link to verify the address, then log in.`);
      } else {
        await api.login(email.trim(), password);
        onLoggedIn();
      }
    } catch (error) {
      if (error instanceof ApiError && hasErrors(error.fields)) setFields(error.fields);
      setBanner(error instanceof Error ? error.message : "Something went wrong.");
    } finally {
      setBusy(null);
    }
  }

  function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    void submit(primary);
  }

  return (
    <section aria-labelledby="auth-title" className="card">
      <h2 id="auth-title">{primary === "signup" ? "Sign up (or log in)" : "Log in (or sign up)"}</h2>
      <ErrorBanner message={banner} onDismiss={() => setBanner(null)} />
      {info && (
        <p className="banner banner-info" role="status" data-testid="auth-info">
          {info}
        </p>
      )}
      <form onSubmit={onSubmit} noValidate aria-busy={busy !== null}>
        <Field id="email" label="E-mail" errors={fields.email}>
          {(describedBy, invalid) => (
            <input
              id="email"
              name="email"
              type="email"
              autoComplete="email"
              value={email}
              onChange={(e) => setEmail(e.target.value)}
              aria-describedby={describedBy}
              aria-invalid={invalid}
              data-testid="email-input"
              required
            />
          )}
        </Field>
        <Field id="password" label="Password" errors={fields.password}
          hint={primary === "signup" ? `At least ${MIN_PASSWORD} characters.` : undefined}>
          {(describedBy, invalid) => (
            <input
              id="password"
              name="password"
              type="password"
              autoComplete={primary === "signup" ? "new-password" : "current-password"}
              value={password}
              onChange={(e) => setPassword(e.target.value)}
              aria-describedby={describedBy}
              aria-invalid={invalid}
              data-testid="password-input"
              required
            />
          )}
        </Field>
        <div className="actions">
          <button
            type={primary === "signup" ? "submit" : "button"}
            className={primary === "signup" ? undefined : "secondary"}
            disabled={busy !== null}
            onClick={primary === "signup" ? undefined : () => void submit("signup")}
            data-testid="signup-button"
          >
            {busy === "signup" ? "Signing up…" : "Sign up"}
          </button>
          <button
            type={primary === "login" ? "submit" : "button"}
            className={primary === "login" ? undefined : "secondary"}
            disabled={busy !== null}
            onClick={primary === "login" ? undefined : () => void submit("login")}
            data-testid="login-button"
          >
            {busy === "login" ? "Logging in…" : "Log in"}
          </button>
        </div>
      </form>
    </section>
  );
}

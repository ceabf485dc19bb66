import { useState, type FormEvent } from "react";
import { ApiError, type FieldErrors } from "../api";
import { ErrorBanner } from "../components/ErrorBanner";
import { Field } from "../components/Field";
import { PageTitle } from "../components/PageTitle";
import { useRouter } from "../router";
import { useSession } from "../session";
import { hasErrors, validateNewPassword } from "../validation";

const describe = (error: unknown, feature: string) =>
  error instanceof ApiError && error.unavailable ? `${feature} is not available on this server yet.`
    : error instanceof Error ? error.message : "Something went wrong.";

function ChangePassword() {
  const { api } = useSession();
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [fields, setFields] = useState<FieldErrors>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const errors: FieldErrors = { ...validateNewPassword(next, "new_password") };
    if (!current) errors.old_password = ["Enter your current password."];
    setFields(errors);
    setBanner(null);
    setDone(false);
    if (hasErrors(errors)) return;
    try {
      await api.changePassword(current, next);
      setDone(true);
      setCurrent("");
      setNext("");
    } catch (error) {
      if (error instanceof ApiError) setFields(error.fields);
      setBanner(describe(error, "Changing the password"));
    }
  }

  return (
    <section className="card" aria-labelledby="password-title">
      <h2 id="password-title">Change password</h2>
      <ErrorBanner message={banner} onDismiss={() => setBanner(null)} />
      {done && <p className="banner banner-info" role="status" data-testid="password-changed">Your password has been changed.</p>}
      <form onSubmit={submit} noValidate>
        <Field id="old_password" label="Current password" errors={fields.old_password}>
          {(d, invalid) => <input id="old_password" type="password" autoComplete="current-password" value={current}
            onChange={(e) => setCurrent(e.target.value)} aria-describedby={d} aria-invalid={invalid} />}
        </Field>
        <Field id="new_password" label="New password" errors={fields.new_password} hint="At least 8 characters.">
          {(d, invalid) => <input id="new_password" type="password" autoComplete="new-password" value={next}
            onChange={(e) => setNext(e.target.value)} aria-describedby={d} aria-invalid={invalid} />}
        </Field>
        <div className="actions"><button type="submit">Change password</button></div>
      </form>
    </section>
  );
}

function DeleteAccount() {
  const { api, ended, setNotice } = useSession();
  const { navigate } = useRouter();
  const [password, setPassword] = useState("");
  const [confirmed, setConfirmed] = useState(false);
  const [fields, setFields] = useState<FieldErrors>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const errors: FieldErrors = {};
    if (!password) errors.password = ["Enter your password to confirm."];
    if (!confirmed) errors.confirm = ["Tick the box to confirm you want to delete everything."];
    setFields(errors);
    setBanner(null);
    if (hasErrors(errors)) return;
    setBusy(true);
    try {
      await api.deleteAccount(password);
      setNotice("Your account and its images have been deleted.");
      ended();
      navigate("/login", { replace: true });
    } catch (error) {
      if (error instanceof ApiError) setFields(error.fields);
      setBanner(describe(error, "Deleting the account"));
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card danger" aria-labelledby="delete-title">
      <h2 id="delete-title">Delete account</h2>
      <p>This deletes your account, your images and your API keys. It cannot be undone.</p>
      <ErrorBanner message={banner} onDismiss={() => setBanner(null)} />
      <form onSubmit={submit} noValidate aria-busy={busy}>
        <Field id="delete-password" label="Password" errors={fields.password}>
          {(d, invalid) => <input id="delete-password" type="password" autoComplete="current-password" value={password}
            onChange={(e) => setPassword(e.target.value)} aria-describedby={d} aria-invalid={invalid} data-testid="delete-password" />}
        </Field>
        <Field id="delete-confirm" label="" errors={fields.confirm}>
          {(d) => (
            <label className="inline">
              <input id="delete-confirm" type="checkbox" checked={confirmed} onChange={(e) => setConfirmed(e.target.checked)}
                aria-describedby={d} data-testid="delete-confirm" />
              I understand that this cannot be undone.
            </label>
          )}
        </Field>
        <div className="actions">
          <button type="submit" className="danger" disabled={busy} data-testid="delete-account">Delete my account</button>
        </div>
      </form>
    </section>
  );
}

export function AccountPage() {
  const { api, user, logOut, reloadUser } = useSession();
  const { navigate } = useRouter();
  const [resent, setResent] = useState<string | null>(null);
  return (
    <>
      <PageTitle>Account</PageTitle>
      <section className="card" aria-labelledby="profile-title">
        <h2 id="profile-title">Profile</h2>
        {user ? (
          <dl className="facts" data-testid="profile">
            <dt>E-mail</dt><dd data-testid="profile-email">{user.email}</dd>
            <dt>Plan</dt><dd data-testid="profile-tier">{user.tier}</dd>
            <dt>E-mail verified</dt>
            <dd data-testid="profile-verified">
              {user.verified ? "Yes" : (
                <>
                  Not yet.{" "}
                  <button type="button" className="link-button" onClick={() => api.resendVerification().then(
                    () => setResent("We sent a new verification link."),
                    (error) => setResent(describe(error, "Resending the link")),
                  ).finally(() => void reloadUser())}>
                    Send the link again
                  </button>
                </>
              )}
            </dd>
          </dl>
        ) : <p role="status">Loading your profile…</p>}
        {resent && <p role="status" className="hint">{resent}</p>}
        <div className="actions">
          <button type="button" className="secondary" data-testid="logout-button"
            onClick={() => void logOut().then(() => navigate("/login", { replace: true }))}>
            Log out
          </button>
        </div>
      </section>
      <ChangePassword />
      <DeleteAccount />
    </>
  );
}

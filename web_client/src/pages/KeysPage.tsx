import { useRef, useState, type FormEvent } from "react";
import { ApiError, type ApiKey, type CreatedApiKey, type FieldErrors } from "../api";
import { ErrorBanner } from "../components/ErrorBanner";
import { Field } from "../components/Field";
import { LoadError, Loading } from "../components/Loading";
import { PageTitle } from "../components/PageTitle";
import { useLoad } from "../hooks/useLoad";
import { useSession } from "../session";
import { copyText } from "../clipboard";
import { WebhooksSection } from "./WebhooksSection";

/** What a key gets when its creator names no scopes (atelier_identity.scopes.DEFAULT_KEY_SCOPES). */
export const SCOPES: ApiKey["scopes"] = ["jobs:write", "jobs:read", "images:read", "usage:read"];
/** Offered too, unticked: a key holds it only when asked for. */
const OPTIONAL_SCOPES: ApiKey["scopes"] = ["webhooks:manage"];
const sameScopes = (a: ApiKey["scopes"], b: ApiKey["scopes"]) => a.length === b.length && a.every((s) => b.includes(s));


/** The secret, shown once, with a copy button; the page never keeps it after leaving. */
export function NewKeySecret({ created, onDone }: { created: CreatedApiKey; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  return (
    <section className="card secret" aria-labelledby="secret-title" data-testid="new-key">
      <h2 id="secret-title" tabIndex={-1} ref={(el) => el?.focus()}>Your new key “{created.name}”</h2>
      <p><strong>Copy it now: it will not be shown again.</strong></p>
      <div className="row nowrap">
        <label htmlFor="new-key-secret" className="visually-hidden">API key secret</label>
        <input id="new-key-secret" ref={input} readOnly value={created.secret} onFocus={(e) => e.target.select()} data-testid="new-key-secret" />
        <button type="button" data-testid="copy-key"
          onClick={() => void copyText(created.secret).then((ok) => {
            if (!ok) input.current?.select();
            setCopied(ok ? "Copied to the clipboard." : "Press Ctrl+C (or ⌘C) to copy the selected key.");
          })}>
          Copy
        </button>
      </div>
      <p role="status" aria-live="polite" className="hint" data-testid="copy-status">{copied}</p>
      <div className="actions"><button type="button" className="secondary" onClick={onDone}>I have saved it</button></div>
    </section>
  );
}

export function KeysPage() {
  const { api } = useSession();
  const keys = useLoad(() => api.listApiKeys(), [api]);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<ApiKey["scopes"]>([...SCOPES]);
  const [fields, setFields] = useState<FieldErrors>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [created, setCreated] = useState<CreatedApiKey | null>(null);
  const [status, setStatus] = useState<string | null>(null);

  async function create(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const errors: FieldErrors = {};
    if (!name.trim()) errors.name = ["Name the key after where you will use it."];
    if (scopes.length === 0) errors.scopes = ["Choose at least one permission."];
    setFields(errors);
    setBanner(null);
    if (Object.keys(errors).length) return;
    try {
      const key = await api.createApiKey(name.trim(), sameScopes(scopes, SCOPES) ? undefined : scopes);
      setCreated(key);
      setName("");
      void keys.reload();
    } catch (error) {
      if (error instanceof ApiError) setFields(error.fields);
      setBanner(error instanceof ApiError && error.unavailable ? "API keys are not available on this server yet."
        : error instanceof Error ? error.message : "Could not create the key.");
    }
  }

  async function revoke(id: string, keyName: string) {
    if (!window.confirm(`Revoke “${keyName}”? Programs using it stop working within seconds.`)) return;
    try {
      await api.revokeApiKey(id);
      setStatus(`Revoked “${keyName}”.`);
      void keys.reload();
    } catch (error) {
      setStatus(error instanceof Error ? `Could not revoke: ${error.message}` : "Could not revoke.");
    }
  }

  const active = (keys.data ?? []).filter((k) => !k.revoked_at);
  return (
    <>
      <PageTitle>API keys</PageTitle>
      <p>Use a key from your programs: send it as <code>Authorization: Bearer atl_live_…</code> or <code>X-API-Key</code>.</p>
      {created && <NewKeySecret created={created} onDone={() => setCreated(null)} />}
      <section className="card" aria-labelledby="create-key-title">
        <h2 id="create-key-title">Create a key</h2>
        <ErrorBanner message={banner} onDismiss={() => setBanner(null)} />
        <form onSubmit={create} noValidate>
          <Field id="key-name" label="Name" errors={fields.name} hint="For example “production server”.">
            {(d, invalid) => <input id="key-name" value={name} maxLength={100} onChange={(e) => setName(e.target.value)}
              aria-describedby={d} aria-invalid={invalid} data-testid="key-name" />}
          </Field>
          <fieldset>
            <legend>Permissions</legend>
            {[...SCOPES, ...OPTIONAL_SCOPES].map((scope) => (
              <label key={scope} className="inline">
                <input type="checkbox" checked={scopes.includes(scope)}
                  onChange={(e) => setScopes((old) => (e.target.checked ? [...old, scope] : old.filter((s) => s !== scope)))} />
                {scope}
              </label>
            ))}
            {fields.scopes && <p className="field-error">{fields.scopes.join(" ")}</p>}
          </fieldset>
          <div className="actions"><button type="submit" data-testid="create-key">Create key</button></div>
        </form>
      </section>
      <section className="card" aria-labelledby="keys-title">
        <h2 id="keys-title">Your keys</h2>
        <p role="status" aria-live="polite" className="hint">{status}</p>
        {keys.loading && !keys.data && <Loading what="your keys" />}
        {keys.error !== null && <LoadError error={keys.error} what="API keys" />}
        {keys.data && active.length === 0 && <p data-testid="no-keys">No active keys.</p>}
        {active.length > 0 && (
          <ul className="keys" data-testid="key-list">
            {active.map((key) => (
              <li key={key.id} data-testid="key-item">
                <div>
                  <strong>{key.name}</strong> <code>{key.prefix}…</code>
                  <p className="hint">
                    {key.scopes?.join(", ")} · created {new Date(key.created_at).toLocaleDateString()} · last used{" "}
                    {key.last_used_at ? new Date(key.last_used_at).toLocaleString() : "never"}
                  </p>
                </div>
                <button type="button" className="secondary" onClick={() => void revoke(key.id, key.name)} data-testid="revoke-key">
                  Revoke<span className="visually-hidden"> {key.name}</span>
                </button>
              </li>
            ))}
          </ul>
        )}
      </section>
      <WebhooksSection />
    </>
  );
}

import { useRef, useState, type FormEvent } from "react";
import { ApiError, isUnavailable, type CreatedWebhook, type FieldErrors, type Webhook, type WebhookDelivery } from "../api";
import { ErrorBanner } from "../components/ErrorBanner";
import { Field } from "../components/Field";
import { LoadError, Loading } from "../components/Loading";
import { useLoad } from "../hooks/useLoad";
import { useSession } from "../session";
import { copyText } from "../clipboard";

const when = (iso: string | null | undefined) => (iso ? new Date(iso).toLocaleString() : "");

/** The signing secret, shown once (on create and on rotate), with a copy button. */
function WebhookSecret({ created, rotated, onDone }: { created: CreatedWebhook; rotated: boolean; onDone: () => void }) {
  const [copied, setCopied] = useState<string | null>(null);
  const input = useRef<HTMLInputElement>(null);
  return (
    <section className="card secret" aria-labelledby="webhook-secret-title" data-testid="webhook-secret-card">
      <h3 id="webhook-secret-title" tabIndex={-1} ref={(el) => el?.focus()}>
        {rotated ? "New signing secret" : "Signing secret"} for <span className="break">{created.url}</span>
      </h3>
      <p><strong>Copy it now: it will not be shown again.</strong>{rotated && " The old secret no longer signs anything."}</p>
      <div className="row nowrap">
        <label htmlFor="webhook-secret" className="visually-hidden">Webhook signing secret</label>
        <input id="webhook-secret" ref={input} readOnly value={created.secret} onFocus={(e) => e.target.select()} data-testid="webhook-secret" />
        <button type="button" data-testid="copy-webhook-secret"
          onClick={() => void copyText(created.secret).then((ok) => {
            if (!ok) input.current?.select();
            setCopied(ok ? "Copied to the clipboard." : "Press Ctrl+C (or ⌘C) to copy the selected secret.");
          })}>
          Copy
        </button>
      </div>
      <p role="status" aria-live="polite" className="hint">{copied}</p>
      <div className="actions"><button type="button" className="secondary" onClick={onDone}>I have saved it</button></div>
    </section>
  );
}

function deliveryOutcome(d: WebhookDelivery): string {
  if (d.status === "delivered") return `delivered ${when(d.delivered_at)}`;
  if (d.status === "failed") return "given up";
  return d.attempts === 0 ? "queued" : `retrying ${when(d.next_attempt_at)}`;
}

/** An endpoint's delivery log, newest first; one page, with a refresh. */
function DeliveryLog({ endpoint }: { endpoint: Webhook }) {
  const { api } = useSession();
  const log = useLoad(() => api.listWebhookDeliveries(endpoint.id), [api, endpoint.id]);
  return (
    <div className="webhook-log" data-testid="delivery-log">
      <div className="row">
        <h4>Deliveries</h4>
        <button type="button" className="secondary small" onClick={() => void log.reload()} data-testid="refresh-log">Refresh</button>
      </div>
      {log.loading && !log.data && <Loading what="deliveries" />}
      {log.error !== null && <LoadError error={log.error} what="Deliveries" />}
      {log.data && log.data.items.length === 0 && <p className="hint" data-testid="no-deliveries">Nothing sent yet. Send a test event, or finish a job.</p>}
      {log.data && log.data.items.length > 0 && (
        <ul className="deliveries">
          {log.data.items.map((d) => (
            <li key={d.id} data-testid="delivery">
              <div className="delivery-head">
                <code>{d.event}</code>
                <span className={`badge badge-${d.status}`} data-testid="delivery-status">{d.status}</span>
                {d.status_code !== null && d.status_code !== undefined && <span>HTTP {d.status_code}</span>}
              </div>
              <p className="hint">
                {deliveryOutcome(d)} · {d.attempts} {d.attempts === 1 ? "attempt" : "attempts"}
                {d.duration_ms !== null && d.duration_ms !== undefined && ` · ${Math.round(d.duration_ms)} ms`}
                {d.job_id && <> · job <code className="break">{d.job_id}</code></>}
              </p>
              {d.error && <p className="hint delivery-error" data-testid="delivery-error">{d.error}</p>}
              <p className="hint">id <code className="break">{d.id}</code></p>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** A partner's webhook endpoints: add, show the secret once, test, rotate, remove, and each one's delivery log. */
export function WebhooksSection() {
  const { api } = useSession();
  const endpoints = useLoad(() => api.listWebhooks(), [api]);
  const [url, setUrl] = useState("");
  const [description, setDescription] = useState("");
  const [fields, setFields] = useState<FieldErrors>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [shown, setShown] = useState<{ created: CreatedWebhook; rotated: boolean } | null>(null);
  const [status, setStatus] = useState<string | null>(null);
  const [openLog, setOpenLog] = useState<string | null>(null);
  const [logVersion, setLogVersion] = useState(0);

  async function add(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const errors: FieldErrors = {};
    if (!/^https?:\/\/\S+$/i.test(url.trim())) errors.url = ["Enter the full address, starting with https://."];
    setFields(errors);
    setBanner(null);
    if (Object.keys(errors).length) return;
    try {
      const created = await api.createWebhook(url.trim(), description.trim());
      setShown({ created, rotated: false });
      setUrl("");
      setDescription("");
      void endpoints.reload();
    } catch (error) {
      if (error instanceof ApiError) setFields(error.fields);
      setBanner(error instanceof ApiError && error.unavailable ? "Webhooks are not available on this server yet."
        : error instanceof Error ? error.message : "Could not add the endpoint.");
    }
  }

  async function act(what: string, run: () => Promise<void>) {
    try {
      await run();
    } catch (error) {
      setStatus(error instanceof Error ? `Could not ${what}: ${error.message}` : `Could not ${what}.`);
    }
  }

  const remove = (endpoint: Webhook) => act("remove it", async () => {
    if (!window.confirm(`Remove the endpoint ${endpoint.url}? Its delivery log goes with it.`)) return;
    await api.deleteWebhook(endpoint.id);
    setStatus(`Removed ${endpoint.url}.`);
    void endpoints.reload();
  });

  const rotate = (endpoint: Webhook) => act("rotate the secret", async () => {
    if (!window.confirm(`Replace the signing secret of ${endpoint.url}? The old one stops at once.`)) return;
    setShown({ created: await api.rotateWebhookSecret(endpoint.id), rotated: true });
    void endpoints.reload();
  });

  const test = (endpoint: Webhook) => act("send a test event", async () => {
    await api.testWebhook(endpoint.id);
    setStatus(`Test event queued for ${endpoint.url}; it is sent within seconds.`);
    setOpenLog(endpoint.id);
    setLogVersion((v) => v + 1);
  });

  // A server without webhooks: the keys page is whole without this section.
  if (isUnavailable(endpoints.error)) return null;
  const list = endpoints.data?.items ?? [];
  const full = endpoints.data ? list.length >= endpoints.data.limit : false;
  return (
    <section className="card" aria-labelledby="webhooks-title" data-testid="webhooks">
      <h2 id="webhooks-title">Webhooks</h2>
      <p>
        We POST each job’s end (<code>job.succeeded</code>, <code>job.failed</code>, <code>job.canceled</code>) to your
        endpoints as JSON, signed with <code>Atelier-Signature: t=…,v1=…</code> (HMAC-SHA256 of <code>t.body</code> with the
        endpoint’s secret). Failed deliveries are retried for about a day; the same <code>id</code> may arrive twice, so
        ignore ids you have seen. An API key needs the <code>webhooks:manage</code> permission to manage them.
      </p>
      {shown && <WebhookSecret created={shown.created} rotated={shown.rotated} onDone={() => setShown(null)} />}
      <ErrorBanner message={banner} onDismiss={() => setBanner(null)} />
      <form onSubmit={add} noValidate>
        <Field id="webhook-url" label="Endpoint URL" errors={fields.url} hint="A public https address, e.g. https://example.com/atelier/hooks.">
          {(d, invalid) => <input id="webhook-url" type="url" inputMode="url" value={url} maxLength={2048} onChange={(e) => setUrl(e.target.value)}
            aria-describedby={d} aria-invalid={invalid} data-testid="webhook-url" />}
        </Field>
        <Field id="webhook-description" label="Description (optional)" errors={fields.description}>
          {(d, invalid) => <input id="webhook-description" value={description} maxLength={200} onChange={(e) => setDescription(e.target.value)}
            aria-describedby={d} aria-invalid={invalid} data-testid="webhook-description" />}
        </Field>
        <div className="actions">
          <button type="submit" disabled={full} data-testid="add-webhook">Add endpoint</button>
          {full && <p className="hint">You have the most endpoints an account may have ({endpoints.data?.limit}); remove one first.</p>}
        </div>
      </form>
      <p role="status" aria-live="polite" className="hint" data-testid="webhook-status">{status}</p>
      {endpoints.loading && !endpoints.data && <Loading what="your webhook endpoints" />}
      {endpoints.error !== null && <LoadError error={endpoints.error} what="Webhooks" />}
      {endpoints.data && list.length === 0 && <p data-testid="no-webhooks">No endpoints yet.</p>}
      {list.length > 0 && (
        <ul className="webhooks" data-testid="webhook-list">
          {list.map((endpoint) => (
            <li key={endpoint.id} data-testid="webhook-item">
              <div className="webhook-head">
                <div>
                  <code className="break">{endpoint.url}</code>{" "}
                  <span className={`badge badge-${endpoint.status}`} data-testid="webhook-state">{endpoint.status}</span>
                  <p className="hint">
                    {endpoint.description ? `${endpoint.description} · ` : ""}added {new Date(endpoint.created_at).toLocaleDateString()}
                    {endpoint.secret_rotated_at && ` · secret rotated ${new Date(endpoint.secret_rotated_at).toLocaleDateString()}`}
                  </p>
                  {endpoint.disabled_reason && <p className="hint delivery-error">Disabled: {endpoint.disabled_reason}</p>}
                </div>
                <div className="webhook-actions">
                  <button type="button" className="secondary small" disabled={endpoint.status !== "active"} onClick={() => void test(endpoint)}
                    data-testid="test-webhook">Send test<span className="visually-hidden"> to {endpoint.url}</span></button>
                  <button type="button" className="secondary small" onClick={() => setOpenLog(openLog === endpoint.id ? null : endpoint.id)}
                    aria-expanded={openLog === endpoint.id} data-testid="toggle-log">Deliveries<span className="visually-hidden"> of {endpoint.url}</span></button>
                  <button type="button" className="secondary small" onClick={() => void rotate(endpoint)}
                    data-testid="rotate-webhook">Rotate secret<span className="visually-hidden"> of {endpoint.url}</span></button>
                  <button type="button" className="secondary small danger-text" onClick={() => void remove(endpoint)}
                    data-testid="delete-webhook">Remove<span className="visually-hidden"> {endpoint.url}</span></button>
                </div>
              </div>
              {openLog === endpoint.id && <DeliveryLog key={`${endpoint.id}-${logVersion}`} endpoint={endpoint} />}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

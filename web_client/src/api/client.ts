import { createTypedClient, unwrap } from "./typed";
import type { ErrorBody, FieldErrors, Tokens } from "./types";
import type {
  ApiKey, CreatedApiKey, ImagePage, Invoice, Job, JobPage, JobRequest, Ledger, ModelList, Plan, PlanChangeQuote, Subscription, Tiers,
  Usage, User, CreatedWebhook, WebhookDelivery, WebhookDeliveryPage, WebhookList,
} from "./schema";

export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly fields: FieldErrors;
  /** Seconds to wait before trying again (429/503), from Retry-After or the body. */
  readonly retryAfter: number | null;

  constructor(status: number, code: string, message: string, fields: FieldErrors = {}, retryAfter: number | null = null) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.fields = fields;
    this.retryAfter = retryAfter;
  }

  /** The route does not exist on this server (yet): the page says so instead of failing. */
  get unavailable(): boolean {
    return this.status === 404 || this.status === 405 || this.status === 501;
  }
}

export const isUnavailable = (error: unknown): error is ApiError => error instanceof ApiError && error.unavailable;

export interface TokenStore {
  /** The session's tokens; `access` is empty when only the refresh token survived (a reload, a
   * new tab): the client renews before its next call. */
  get(): Tokens | null;
  set(tokens: Tokens | null): void;
  /** Runs a renewal alone among every holder of this store (tabs share one refresh token). */
  exclusive?<T>(task: () => Promise<T>): Promise<T>;
}

/** The refresh token's place in a browser: auth's HttpOnly cookie, sent by the browser itself. */
export const IN_COOKIE = "cookie";

/** The body of a refresh or logout: the token itself, or nothing when the cookie carries it. */
const refreshBody = (tokens: Tokens) => (tokens.refresh === IN_COOKIE ? {} : { refresh: tokens.refresh });

/** What a renewal came to: new tokens, auth refusing the refresh token, or no answer. */
type Renewal = "renewed" | "refused" | "unreachable";

function isErrorBody(value: unknown): value is ErrorBody {
  const error = (value as ErrorBody | null)?.error;
  return typeof error === "object" && error !== null && typeof error.code === "string";
}

function retryAfterSeconds(response: Response, body: unknown): number | null {
  const header = response.headers.get("Retry-After");
  if (header) {
    const seconds = Number(header);
    if (Number.isFinite(seconds)) return Math.max(0, Math.ceil(seconds));
    const date = Date.parse(header);
    if (!Number.isNaN(date)) return Math.max(0, Math.ceil((date - Date.now()) / 1000));
  }
  const fromBody = (body as ErrorBody | null)?.error?.retry_after;
  return typeof fromBody === "number" && Number.isFinite(fromBody) ? Math.max(0, Math.ceil(fromBody)) : null;
}

/** The platform's error format (or anything else a proxy sends) as an ApiError. */
export function apiErrorFrom(response: Response, body: unknown): ApiError {
  if (isErrorBody(body)) {
    const { code, message, fields } = body.error;
    return new ApiError(response.status, code, message || code, fields ?? {}, retryAfterSeconds(response, body));
  }
  if (response.status === 404 || response.status === 405) {
    return new ApiError(response.status, "unavailable", "This feature is not available on this server yet.");
  }
  return new ApiError(response.status, "http_error", `The server answered ${response.status}.`, {},
    retryAfterSeconds(response, body));
}

async function toApiError(response: Response): Promise<ApiError> {
  let body: unknown = null;
  try {
    body = await response.json();
  } catch {
    // Not JSON (a proxy error page, say): fall through to a generic message.
  }
  return apiErrorFrom(response, body);
}

interface RequestOptions {
  method?: string;
  body?: unknown;
  /** A body already serialized (from the generated client). */
  rawBody?: string;
  auth?: boolean;
}

export interface ApiClientOptions {
  store: TokenStore;
  baseUrl?: string;
  fetch?: typeof fetch;
  /** Called when the session cannot be renewed, so the page can return to the login form. */
  onSessionEnded?: () => void;
  /** Opens a Server-Sent Events stream; null turns streaming off (the pages poll instead). */
  eventSource?: ((url: string) => EventSource) | null;
}

const browserEventSource = typeof window !== "undefined" && "EventSource" in window
  ? (url: string) => new window.EventSource(url)
  : null;

export class ApiClient {
  private readonly store: TokenStore;
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly onSessionEnded?: () => void;
  private readonly eventSource: ((url: string) => EventSource) | null;
  private refreshing: Promise<Renewal> | null = null;
  private typedClient: ReturnType<typeof createTypedClient> | null = null;
  private publicClient: ReturnType<typeof createTypedClient> | null = null;

  constructor(options: ApiClientOptions) {
    this.store = options.store;
    this.baseUrl = options.baseUrl ?? "";
    this.fetchImpl = options.fetch ?? ((input, init) => window.fetch(input, init));
    this.onSessionEnded = options.onSessionEnded;
    this.eventSource = options.eventSource === undefined ? browserEventSource : options.eventSource;
  }

  isLoggedIn(): boolean {
    return this.store.get() !== null;
  }

  /** The current access token, for EventSource (which cannot send headers); null until renewed. */
  accessToken(): string | null {
    return this.store.get()?.access || null;
  }

  // --- auth ---------------------------------------------------------------------------------
  // Typed by the generated clients: `pub` sends no token (sign-up, log-in, e-mail links),
  // `authed` sends the session's token and renews it.
  private get pub() {
    this.publicClient ??= createTypedClient(this, false);
    return this.publicClient;
  }

  private get authed() {
    this.typedClient ??= createTypedClient(this, true);
    return this.typedClient;
  }

  signup(email: string, password: string): Promise<User> {
    return unwrap(this.pub.POST("/api/auth/signup", { body: { email, password } }));
  }

  verifyEmail(token: string): Promise<unknown> {
    return unwrap(this.pub.POST("/api/auth/verify", { body: { token } }));
  }

  resendVerification(): Promise<unknown> {
    return unwrap(this.authed.POST("/api/auth/verify/resend"));
  }

  async login(email: string, password: string): Promise<Tokens> {
    const answer = await unwrap(this.pub.POST("/api/auth/token", { body: { email, password, delivery: "cookie" } }));
    const tokens = { access: answer.access, refresh: answer.refresh ?? IN_COOKIE };
    this.store.set(tokens);
    return tokens;
  }

  /** Revokes the refresh token server-side (best effort) and forgets both tokens here. */
  async logout(): Promise<void> {
    const tokens = this.store.get();
    this.store.set(null);
    if (tokens) {
      await this.raw("/api/auth/logout", { method: "POST", body: refreshBody(tokens) }).catch(() => undefined);
    }
  }

  me(): Promise<User> {
    return unwrap(this.authed.GET("/api/auth/me"));
  }

  /** Changing the password ends every other session; auth answers with this session's new tokens. */
  async changePassword(old_password: string, new_password: string): Promise<void> {
    const tokens = await unwrap(this.authed.POST("/api/auth/password/change", { body: { old_password, new_password } }));
    if (tokens?.access) this.store.set({ access: tokens.access, refresh: tokens.refresh ?? IN_COOKIE });
  }

  requestPasswordReset(email: string): Promise<unknown> {
    return unwrap(this.pub.POST("/api/auth/password/reset", { body: { email } }));
  }

  confirmPasswordReset(token: string, new_password: string): Promise<unknown> {
    return unwrap(this.pub.POST("/api/auth/password/reset/confirm", { body: { token, new_password } }));
  }

  async deleteAccount(password: string): Promise<void> {
    await unwrap(this.authed.DELETE("/api/auth/me", { body: { password } }));
    this.store.set(null);
  }

  async listApiKeys(): Promise<ApiKey[]> {
    return (await unwrap(this.authed.GET("/api/auth/api-keys"))).items;
  }

  createApiKey(name: string, scopes?: ApiKey["scopes"]): Promise<CreatedApiKey> {
    return unwrap(this.authed.POST("/api/auth/api-keys", { body: scopes ? { name, scopes } : { name } }));
  }

  revokeApiKey(id: string): Promise<unknown> {
    return unwrap(this.authed.DELETE("/api/auth/api-keys/{key_id}", { params: { path: { key_id: id } } }));
  }

  listWebhooks(): Promise<WebhookList> {
    return unwrap(this.authed.GET("/api/v1/webhooks"));
  }

  createWebhook(url: string, description = ""): Promise<CreatedWebhook> {
    return unwrap(this.authed.POST("/api/v1/webhooks", { body: { url, description } }));
  }

  deleteWebhook(id: string): Promise<unknown> {
    return unwrap(this.authed.DELETE("/api/v1/webhooks/{endpoint_id}", { params: { path: { endpoint_id: id } } }));
  }

  rotateWebhookSecret(id: string): Promise<CreatedWebhook> {
    return unwrap(this.authed.POST("/api/v1/webhooks/{endpoint_id}/rotate-secret", { params: { path: { endpoint_id: id } } }));
  }

  /** Queues a `ping` delivery; the delivery log shows what the receiver answered. */
  testWebhook(id: string): Promise<WebhookDelivery> {
    return unwrap(this.authed.POST("/api/v1/webhooks/{endpoint_id}/test", { params: { path: { endpoint_id: id } } }));
  }

  listWebhookDeliveries(id: string, cursor?: string): Promise<WebhookDeliveryPage> {
    const query = cursor ? { cursor } : {};
    return unwrap(this.authed.GET("/api/v1/webhooks/{endpoint_id}/deliveries", { params: { path: { endpoint_id: id }, query } }));
  }

  /** What each tier allows (public: shown before sign-up). */
  tiers(): Promise<Tiers> {
    return unwrap(this.pub.GET("/api/v1/tiers"));
  }

  // --- payments -----------------------------------------------------------------------------
  /** Plans and credit packs in one list, told apart by `kind`. */
  async plans(): Promise<Plan[]> {
    const catalogue = await unwrap(this.pub.GET("/api/payments/plans/"));
    return [
      ...catalogue.plans.map((p): Plan => ({ ...p, kind: "plan" })),
      ...(catalogue.credit_packs ?? []).map((p): Plan => ({ ...p, kind: "pack" })),
    ];
  }

  checkout(item: Plan): Promise<{ checkout_id?: string; checkout_url: string }> {
    const body = item.kind === "pack" ? { credit_pack: item.code } : { plan: item.code };
    return unwrap(this.authed.POST("/api/payments/checkout/", { body }));
  }

  /** The caller's subscription, or null on the free plan. */
  async subscription(): Promise<Subscription | null> {
    return (await unwrap(this.authed.GET("/api/payments/subscription/"))).subscription ?? null;
  }

  async cancelSubscription(): Promise<Subscription | null> {
    return (await unwrap(this.authed.POST("/api/payments/subscription/cancel/", { body: {} as never }))).subscription ?? null;
  }

  /** Undoes a cancellation before the period ends. */
  async resumeSubscription(): Promise<Subscription | null> {
    return (await unwrap(this.authed.POST("/api/payments/subscription/resume/", { body: {} as never }))).subscription ?? null;
  }

  /** What switching to `plan` costs now, prorated for the rest of the period. */
  changePreview(plan: string): Promise<PlanChangeQuote> {
    return unwrap(this.authed.GET("/api/payments/subscription/change-preview/", { params: { query: { plan } } }));
  }

  /** Switches plan now; the invoice is what the proration charged (zero for a downgrade). */
  changePlan(plan: string): Promise<{ subscription: Subscription; invoice: Invoice }> {
    return unwrap(this.authed.POST("/api/payments/subscription/change/", { body: { plan } }));
  }

  async invoices(): Promise<Invoice[]> {
    return (await unwrap(this.authed.GET("/api/payments/invoices/", { params: { query: { page_size: 50 } } }))).items;
  }

  ledger(): Promise<Ledger> {
    return unwrap(this.authed.GET("/api/payments/ledger/", { params: { query: { page_size: 50 } } }));
  }

  // --- generation ---------------------------------------------------------------------------
  createJob(job: JobRequest): Promise<Job> {
    return unwrap(this.authed.POST("/api/v1/jobs", { body: job }));
  }

  getJob(id: string): Promise<Job> {
    return unwrap(this.authed.GET("/api/v1/jobs/{job_id}", { params: { path: { job_id: id } } }));
  }

  cancelJob(id: string): Promise<Job> {
    return unwrap(this.authed.DELETE("/api/v1/jobs/{job_id}", { params: { path: { job_id: id } } }));
  }

  listJobs(cursor?: string | null, limit = 12): Promise<JobPage> {
    const query = cursor ? { limit, cursor } : { limit };
    return unwrap(this.authed.GET("/api/v1/jobs", { params: { query } }));
  }

  /** My images, newest first; `search` keeps those whose prompt holds every word. */
  listImages(cursor?: string | null, limit = 12, search?: string): Promise<ImagePage> {
    const query = { limit, ...(cursor ? { cursor } : {}), ...(search ? { q: search } : {}) };
    return unwrap(this.authed.GET("/api/v1/images", { params: { query } }));
  }

  deleteImage(id: string): Promise<unknown> {
    return unwrap(this.authed.DELETE("/api/v1/images/{image_id}", { params: { path: { image_id: id } } }));
  }

  /** The model catalogue: what the workers serve now, with each family's limits. */
  models(): Promise<ModelList> {
    return unwrap(this.authed.GET("/api/v1/models"));
  }

  async usage(): Promise<Usage> {
    const usage = await unwrap(this.authed.GET("/api/v1/usage"));
    if (!usage?.limits || !usage.remaining || !usage.resets_at) {
      throw new ApiError(502, "bad_response", "The usage answer is missing its limits.");
    }
    return usage;
  }

  /** The job's event stream, or null where streaming is off; the token rides in the query
   * because EventSource cannot send headers. */
  openJobEvents(id: string): EventSource | null {
    const token = this.accessToken();
    if (!token || !this.eventSource) return null;
    return this.eventSource(`${this.baseUrl}/api/v1/jobs/${encodeURIComponent(id)}/events?access_token=${encodeURIComponent(token)}`);
  }

  /** Renews the access token (e.g. before reopening an event stream); false when the session ended. */
  async renew(): Promise<boolean> {
    return (await this.refreshOnce()) === "renewed";
  }

  private raw(path: string, { method = "GET", body, rawBody, auth = false }: RequestOptions): Promise<Response> {
    const headers: Record<string, string> = { Accept: "application/json" };
    if (body !== undefined || rawBody !== undefined) headers["Content-Type"] = "application/json";
    const tokens = auth ? this.store.get() : null;
    if (tokens) headers.Authorization = `Bearer ${tokens.access}`;
    return this.fetchImpl(this.baseUrl + path, {
      method,
      headers,
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
  }

  /** Sends with the session's token, renewing it when this tab has none yet or once on
   * `token_expired`; non-2xx answers are returned. */
  async send(path: string, options: RequestOptions): Promise<Response> {
    if (options.auth && this.store.get()?.access === "") await this.renewOrEnd();
    let response = await this.rawOrOffline(path, options);
    if (response.status === 401 && options.auth) {
      const error = await toApiError(response);
      if (error.code !== "token_expired") {
        this.endSession();
        throw error;
      }
      await this.renewOrEnd();
      response = await this.rawOrOffline(path, options);
    }
    return response;
  }

  private async rawOrOffline(path: string, options: RequestOptions): Promise<Response> {
    try {
      return await this.raw(path, options);
    } catch {
      throw new ApiError(0, "network_error", "Cannot reach the server. Check your connection and try again.");
    }
  }

  /** Renews the access token; a refused refresh token ends the session, an unreachable auth
   * keeps it (a network blip must not log every tab out). */
  private async renewOrEnd(): Promise<void> {
    const outcome = await this.refreshOnce();
    if (outcome === "unreachable") {
      throw new ApiError(0, "network_error", "Cannot reach the server. Check your connection and try again.");
    }
    if (outcome === "refused") {
      this.endSession();
      throw new ApiError(401, "session_expired", "Your session has ended. Please log in again.");
    }
  }

  /** One refresh at a time: concurrent 401s share it instead of racing the rotation. */
  private refreshOnce(): Promise<Renewal> {
    if (!this.refreshing) {
      const exclusive = this.store.exclusive?.bind(this.store) ?? ((task: () => Promise<Renewal>) => task());
      this.refreshing = exclusive(() => this.refresh()).finally(() => {
        this.refreshing = null;
      });
    }
    return this.refreshing;
  }

  /** Reads the refresh token only now: under the store's lock, another tab may just have rotated it
   * (in a browser the cookie is read by the browser itself, so it is always the newest). */
  private async refresh(): Promise<Renewal> {
    const tokens = this.store.get();
    if (!tokens) return "refused";
    let response: Response;
    try {
      response = await this.raw("/api/auth/token/refresh", { method: "POST", body: refreshBody(tokens) });
    } catch {
      return "unreachable";
    }
    if (response.status === 401 || response.status === 400) return "refused";
    if (!response.ok) return "unreachable";
    try {
      const renewed = (await response.json()) as Partial<Tokens>;
      if (!renewed.access) return "unreachable";
      this.store.set({ access: renewed.access, refresh: renewed.refresh ?? tokens.refresh });
      return "renewed";
    } catch {
      return "unreachable";
    }
  }

  private endSession(): void {
    this.store.set(null);
    this.onSessionEnded?.();
  }
}

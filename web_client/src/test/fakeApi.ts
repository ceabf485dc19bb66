import { ApiClient, type Job, type Tokens, type TokenStore } from "../api";

export type Handler = (url: string, init: RequestInit) => Response | Promise<Response>;

export function json(status: number, body: unknown, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { "Content-Type": "application/json", ...headers } });
}

export function memoryStore(initial: Tokens | null = null): TokenStore & { value: Tokens | null } {
  const store = {
    value: initial,
    get: () => store.value,
    set: (tokens: Tokens | null) => {
      store.value = tokens;
    },
  };
  return store;
}

/** A stand-in for the browser's EventSource that the test drives by hand. */
export class FakeEventSource {
  static opened: FakeEventSource[] = [];
  readonly url: string;
  closed = false;
  onerror: ((event: Event) => void) | null = null;
  private listeners = new Map<string, ((event: MessageEvent<string>) => void)[]>();

  constructor(url: string) {
    this.url = url;
    FakeEventSource.opened.push(this);
  }

  addEventListener(type: string, listener: (event: MessageEvent<string>) => void) {
    this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
  }

  close() {
    this.closed = true;
  }

  /** Sends one `event: job` message, as pre_inference does on every change. */
  emit(job: Partial<Job>) {
    if (this.closed) return;
    for (const listener of this.listeners.get("job") ?? []) listener(new MessageEvent("job", { data: JSON.stringify(job) }));
  }

  /** Sends one `event: preview` message, as pre_inference does with a worker's preview. */
  emitPreview(body: unknown) {
    if (this.closed) return;
    const data = typeof body === "string" ? body : JSON.stringify(body);
    for (const listener of this.listeners.get("preview") ?? []) listener(new MessageEvent("preview", { data }));
  }

  fail() {
    if (!this.closed) this.onerror?.(new Event("error"));
  }
}

interface FakeOptions {
  /** Streams through FakeEventSource instead of polling. */
  stream?: boolean;
}

/** An ApiClient whose fetch is answered by `handler`, recording every call. */
export function fakeApi(handler: Handler, tokens: Tokens | null = null, options: FakeOptions = {}) {
  const calls: { url: string; init: RequestInit }[] = [];
  const store = memoryStore(tokens);
  const api = new ApiClient({
    store,
    eventSource: options.stream ? (url) => new FakeEventSource(url) as unknown as EventSource : null,
    fetch: async (input, init = {}) => {
      const url = String(input);
      calls.push({ url, init });
      return handler(url, init);
    },
  });
  return { api, calls, store };
}

export const USAGE_FREE = {
  tier: "free",
  limits: { requests_per_minute: 5, images_per_day: 50, concurrency: 1, max_width: 512, max_height: 512, max_steps: 30 },
  remaining: { requests_this_minute: 4, images_today: 2, credits: 0, concurrent_jobs: 1 },
  resets_at: { minute: new Date(Date.now() + 30_000).toISOString(), day: new Date(Date.now() + 3_600_000).toISOString() },
};

// public/sw.js run against stand-ins for the worker's globals: pages come from the network
// whenever it answers (a deploy is never hidden by an old shell) and from the cache only when it
// does not; hashed assets are served from the cache; the API is never touched.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";

// vitest runs from web_client/.
const SOURCE = readFileSync(resolve(process.cwd(), "public/sw.js"), "utf8");
const ORIGIN = "https://atelier.example";

type Listener = (event: FakeEvent) => void;
interface FakeEvent {
  request?: Request;
  respondWith?: (response: Promise<Response> | Response) => void;
  waitUntil?: (work: Promise<unknown>) => void;
}

class MemoryCache {
  readonly entries = new Map<string, Response>();
  private key(request: Request | string) {
    return new URL(typeof request === "string" ? request : request.url, ORIGIN).href;
  }
  async match(request: Request | string) {
    return this.entries.get(this.key(request))?.clone();
  }
  async put(request: Request | string, response: Response) {
    this.entries.set(this.key(request), response);
  }
  async add(request: string) {
    this.entries.set(this.key(request), new Response(`cached ${request}`));
  }
  async keys() {
    return [...this.entries.keys()].map((url) => new Request(url));
  }
  async delete(request: Request) {
    return this.entries.delete(this.key(request));
  }
}

function loadWorker(network: (request: Request | string) => Promise<Response>) {
  const listeners = new Map<string, Listener>();
  const stores = new Map<string, MemoryCache>();
  const open = async (name: string) => {
    if (!stores.has(name)) stores.set(name, new MemoryCache());
    return stores.get(name)!;
  };
  const caches = {
    open,
    keys: async () => [...stores.keys()],
    delete: async (name: string) => stores.delete(name),
    match: async (request: string, options: { cacheName: string }) => (await open(options.cacheName)).match(request),
  };
  const self = {
    location: new URL(ORIGIN),
    addEventListener: (type: string, listener: Listener) => listeners.set(type, listener),
    skipWaiting: async () => undefined,
    clients: { claim: async () => undefined },
  };
  new Function("self", "caches", "fetch", SOURCE)(self, caches, network);

  async function dispatchFetch(url: string, mode = "cors", method = "GET"): Promise<Response | null> {
    // A Request cannot be built with mode "navigate"; the worker reads only these three.
    const request = { url: ORIGIN + url, method, mode } as unknown as Request;
    let answer: Promise<Response> | Response | null = null;
    listeners.get("fetch")!({ request, respondWith: (response) => (answer = response) });
    return answer ? await answer : null;
  }
  async function install() {
    let work: Promise<unknown> = Promise.resolve();
    listeners.get("install")!({ waitUntil: (promise) => (work = promise) });
    await work;
  }
  return { dispatchFetch, install, open };
}

const html = (body: string) => new Response(body, { headers: { "Content-Type": "text/html; charset=utf-8" } });
const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

describe("the service worker", () => {
  it("keeps the shell and the assets it names when it installs", async () => {
    const worker = loadWorker(async () => html('<script type="module" src="/assets/index-abc.js"></script>'));
    await worker.install();
    expect(await (await worker.open("atelier-shell-v1")).match("/")).toBeTruthy();
    expect(await (await worker.open("atelier-assets-v1")).match("/assets/index-abc.js")).toBeTruthy();
  });

  it("serves pages from the network while it answers, and the newest shell once it does not", async () => {
    let online = true;
    let deploy = "v1";
    const worker = loadWorker(async () => {
      if (!online) throw new TypeError("Failed to fetch");
      return html(`<title>${deploy}</title>`);
    });
    expect(await (await worker.dispatchFetch("/gallery", "navigate"))!.text()).toBe("<title>v1</title>");
    deploy = "v2";
    // A new deploy shows at once: the network answer wins over the shell kept before.
    expect(await (await worker.dispatchFetch("/generate", "navigate"))!.text()).toBe("<title>v2</title>");
    await settle();
    online = false;
    const offline = await worker.dispatchFetch("/gallery", "navigate");
    expect(await offline!.text()).toBe("<title>v2</title>");
  });

  it("answers a first visit without a network with a page that says so", async () => {
    const worker = loadWorker(async () => {
      throw new TypeError("Failed to fetch");
    });
    const answer = await worker.dispatchFetch("/", "navigate");
    expect(answer!.status).toBe(503);
    expect(await answer!.text()).toContain("You are offline");
  });

  it("serves hashed assets from the cache and leaves the API, files and admin pages alone", async () => {
    let fetched = 0;
    const worker = loadWorker(async () => {
      fetched += 1;
      return new Response("console.log(1)");
    });
    await worker.dispatchFetch("/assets/index-abc.js");
    await settle();
    await worker.dispatchFetch("/assets/index-abc.js");
    expect(fetched).toBe(1);
    for (const [url, mode] of [["/api/v1/jobs", "cors"], ["/files/a.png?sig=x", "no-cors"], ["/admin/", "navigate"]]) {
      expect(await worker.dispatchFetch(url, mode)).toBeNull();
    }
    expect(await worker.dispatchFetch("/generate", "navigate", "POST")).toBeNull();
  });
});

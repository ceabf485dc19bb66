// The generated, typed client: openapi-fetch over the paths generated from the services' OpenAPI
// documents (src/api/generated, `npm run gen:api`). Requests go through ApiClient.send, so they
// share the session's token, its renewal and the error format with every other call.
import createClient from "openapi-fetch";
import { apiErrorFrom, type ApiClient } from "./client";
import type { paths as AuthPaths } from "./generated/auth";
import type { paths as PaymentsPaths } from "./generated/payments";
import type { paths as PreInferencePaths } from "./generated/pre_inference";

export type Paths = AuthPaths & PaymentsPaths & PreInferencePaths;

// Only the path and query reach ApiClient.send (which adds its own base URL), so the origin
// openapi-fetch needs to build a Request is a placeholder.
const PLACEHOLDER_ORIGIN = "http://atelier.invalid";

/** `auth`: send the session's token (and renew it); public routes (sign-up, log-in) go without. */
export function createTypedClient(api: ApiClient, auth: boolean) {
  return createClient<Paths>({
    baseUrl: PLACEHOLDER_ORIGIN,
    fetch: async (request: Request) => {
      const url = new URL(request.url);
      const body = request.method === "GET" || request.method === "HEAD" ? "" : await request.text();
      return api.send(url.pathname + url.search, { method: request.method, rawBody: body || undefined, auth });
    },
  });
}

/** The data of a typed call, or the ApiError its answer means. */
export async function unwrap<T>(call: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await call;
  if (!response.ok) throw apiErrorFrom(response, error ?? null);
  return data as T;
}

import { describe, expect, it } from "vitest";
import { ApiError } from "./client";
import { fakeApi, json } from "../test/fakeApi";

describe("ApiClient", () => {
  it("refreshes an expired access token once and retries the call", async () => {
    let accessOk = "new-access";
    const { api, calls, store } = fakeApi((url, init) => {
      if (url === "/api/auth/token/refresh") return json(200, { access: accessOk, refresh: "new-refresh" });
      const auth = (init.headers as Record<string, string>).Authorization;
      if (auth === `Bearer ${accessOk}`) return json(200, { id: "j1", status: "queued" });
      return json(401, { error: { code: "token_expired", message: "token has expired" } });
    }, { access: "old", refresh: "old-refresh" });

    const job = await api.getJob("j1");
    expect(job.id).toBe("j1");
    expect(store.value).toEqual({ access: "new-access", refresh: "new-refresh" });
    expect(calls.map((c) => c.url)).toEqual(["/api/v1/jobs/j1", "/api/auth/token/refresh", "/api/v1/jobs/j1"]);
    expect(JSON.parse(String(calls[1].init.body))).toEqual({ refresh: "old-refresh" });
    accessOk = "unused";
  });

  it("ends the session when the refresh is refused", async () => {
    const { api, store } = fakeApi((url) =>
      url === "/api/auth/token/refresh"
        ? json(401, { error: { code: "token_invalid", message: "bad refresh" } })
        : json(401, { error: { code: "token_expired", message: "expired" } }),
    { access: "a", refresh: "r" });
    await expect(api.getJob("x")).rejects.toMatchObject({ code: "session_expired", status: 401 });
    expect(store.value).toBeNull();
  });

  it("does not refresh for a forged token", async () => {
    const { api, calls } = fakeApi(() => json(401, { error: { code: "token_invalid", message: "forged" } }),
      { access: "a", refresh: "r" });
    await expect(api.me()).rejects.toMatchObject({ code: "token_invalid" });
    expect(calls).toHaveLength(1);
  });

  it("turns the platform error format into ApiError with fields", async () => {
    const { api } = fakeApi(() => json(400, {
      error: { code: "validation_error", message: "the request is not valid", fields: { email: ["already taken"] } },
    }));
    const error = await api.signup("a@example.com", "password1").catch((e) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error.fields).toEqual({ email: ["already taken"] });
  });

  it("survives a non-JSON error page", async () => {
    const { api } = fakeApi(() => new Response("<h1>Bad gateway</h1>", { status: 502 }));
    await expect(api.signup("a@example.com", "password1")).rejects.toMatchObject({ code: "http_error", status: 502 });
  });
});

describe("ApiError.retryAfter", () => {
  it("reads Retry-After seconds, else the body's retry_after", async () => {
    const header = fakeApi(() => json(429, { error: { code: "rate_limited", message: "slow", retry_after: 30 } }, { "Retry-After": "7" }),
      { access: "a", refresh: "r" });
    expect(await header.api.usage().catch((e) => e.retryAfter)).toBe(7);
    const body = fakeApi(() => json(429, { error: { code: "quota_exceeded", message: "done", retry_after: 30 } }), { access: "a", refresh: "r" });
    expect(await body.api.usage().catch((e) => e.retryAfter)).toBe(30);
  });
});

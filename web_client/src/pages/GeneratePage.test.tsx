import { act, cleanup, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { ApiClient, browserTokenStore } from "../api";
import { FakeEventSource, USAGE_FREE, fakeApi, json } from "../test/fakeApi";

const ME = { id: "u1", email: "ada@example.com", tier: "free", verified: true };
const base = { id: "job-1", created_at: "2026-12-02T10:10:00Z", params: { prompt: "a red fox", steps: 4, width: 256, height: 256, guidance: 7.5, n: 1 }, images: [] };

function platform(extra: (url: string, init: RequestInit) => Response | null = () => null) {
  return fakeApi((url, init) => {
    const answer = extra(url, init);
    if (answer) return answer;
    if (url === "/api/auth/me") return json(200, ME);
    if (url === "/api/v1/usage") return json(200, USAGE_FREE);
    if (url === "/api/v1/jobs" && init.method === "POST") return json(202, { ...base, status: "queued", phase: "queued", queue_position: 3 });
    return json(404, { error: { code: "not_found", message: "Not Found" } });
  }, { access: "tok en", refresh: "r" }, { stream: true });
}

async function submit() {
  window.history.replaceState(null, "", "/generate");
  await userEvent.type(await screen.findByLabelText("Prompt"), "a red fox");
  await userEvent.click(screen.getByRole("button", { name: "Generate" }));
  await waitFor(() => expect(FakeEventSource.opened).toHaveLength(1));
  return FakeEventSource.opened[0];
}

describe("Generate page with the job's event stream", () => {
  it("renders queue position, warming up, step k of n and the result from a sequence of events", async () => {
    const { api } = platform();
    render(<App api={api} />);
    const stream = await submit();
    expect(stream.url).toBe("/api/v1/jobs/job-1/events?access_token=tok%20en");
    const status = () => screen.getByTestId("job-status");
    const bar = () => screen.getByTestId("job-progress") as HTMLProgressElement;
    expect(status().textContent).toBe("Queued: position 3 in line.");
    expect(status().getAttribute("aria-live")).toBe("polite");

    act(() => stream.emit({ ...base, status: "queued", phase: "queued", queue_position: 1 }));
    expect(status().textContent).toBe("Queued: you are next.");
    act(() => stream.emit({ ...base, status: "running", phase: "warming_up", step: 0, total_steps: 4, progress: 0 }));
    expect(status().textContent).toMatch(/Warming up/);
    expect(bar().hasAttribute("value")).toBe(false); // indeterminate while the model loads
    act(() => stream.emit({ ...base, status: "running", phase: "running", step: 3, total_steps: 4, progress: 0.75 }));
    expect(status().textContent).toBe("Generating: step 3 of 4.");
    expect(bar().value).toBe(75);
    expect(screen.getByRole("button", { name: "Cancel" })).toBeTruthy();

    act(() => stream.emit({
      ...base, status: "succeeded", phase: "succeeded", step: 4, total_steps: 4, progress: 1,
      images: [{ id: "i1", url: "/files/x.png", seed: 99, width: 256, height: 256 }],
    }));
    expect(status().textContent).toBe("Done.");
    expect(stream.closed).toBe(true);
    expect(screen.queryByTestId("job-progress")).toBeNull();
    expect(screen.getByTestId("image-seed").textContent).toBe("99");

    await userEvent.click(screen.getByRole("button", { name: /Use these settings again/ }));
    expect((screen.getByLabelText("Seed value") as HTMLInputElement).value).toBe("99");
    expect((screen.getByLabelText("Steps") as HTMLInputElement).value).toBe("4");
  });

  it("shows a failed job with its reason", async () => {
    const { api } = platform();
    render(<App api={api} />);
    const stream = await submit();
    act(() => stream.emit({ ...base, status: "failed", phase: "failed", error: { code: "out_of_memory", message: "" } }));
    expect(screen.getByTestId("job-error").textContent).toMatch(/ran out of memory/);
  });

  it("falls back to polling when the stream fails", async () => {
    let polls = 0;
    const { api, calls } = platform((url) => {
      if (url !== "/api/v1/jobs/job-1") return null;
      polls += 1;
      return json(200, { ...base, status: "succeeded", phase: "succeeded", progress: 1,
        images: [{ url: "/files/y.png", seed: 5, width: 256, height: 256 }] });
    });
    render(<App api={api} />);
    const stream = await submit();
    act(() => stream.fail());
    expect(stream.closed).toBe(true);
    expect(await screen.findByText("Done.")).toBeTruthy();
    expect(polls).toBe(1);
    expect(calls.some((c) => c.url === "/api/v1/jobs/job-1")).toBe(true);
  });

  it("cancels a running job", async () => {
    const { api, calls } = platform((url, init) =>
      url === "/api/v1/jobs/job-1" && init.method === "DELETE"
        ? json(202, { ...base, status: "canceled", phase: "canceled", error: { code: "canceled", message: "" } })
        : null);
    render(<App api={api} />);
    const stream = await submit();
    act(() => stream.emit({ ...base, status: "running", phase: "running", step: 1, total_steps: 4 }));
    await userEvent.click(screen.getByRole("button", { name: "Cancel" }));
    expect((await screen.findByTestId("job-error")).textContent).toBe("You canceled this job.");
    expect(calls.some((c) => c.init.method === "DELETE")).toBe(true);
    expect((screen.getByRole("button", { name: "Generate" }) as HTMLButtonElement).disabled).toBe(false);
  });
});

// --- keeping the person's work: re-attach, the address, recent jobs, the draft --------------------
const running = { ...base, id: "job-2", status: "running" as const, phase: "running" as const, step: 2, total_steps: 4, progress: 0.5,
  created_at: "2026-12-02T10:05:00Z", params: { ...base.params, prompt: "a running fox" } };
const finished = { ...base, id: "job-0", status: "succeeded", phase: "succeeded", progress: 1, created_at: "2026-12-02T10:00:00Z",
  params: { prompt: "an old owl", negative_prompt: "fog", width: 384, height: 256, steps: 12, guidance: 5, seed: 77, n: 2 },
  images: [{ id: "i0", url: "/files/owl.png", seed: 77, width: 384, height: 256 }] };

/** A platform whose job list holds `jobs` (newest first). */
function withJobs(jobs: object[], extra: (url: string, init: RequestInit) => Response | null = () => null) {
  return platform((url, init) => {
    const answer = extra(url, init);
    if (answer) return answer;
    if (url.startsWith("/api/v1/jobs?")) return json(200, { items: jobs, next_cursor: null });
    const one = jobs.find((job) => url === `/api/v1/jobs/${(job as { id: string }).id}`);
    return one && init.method !== "DELETE" ? json(200, one) : null;
  });
}

describe("Generate page keeps the person's work", () => {
  it("re-attaches to the running job after a reload and lists the recent jobs", async () => {
    window.history.replaceState(null, "", "/generate");
    const { api } = withJobs([running, finished]);
    render(<App api={api} />);
    await waitFor(() => expect(FakeEventSource.opened).toHaveLength(1));
    expect(FakeEventSource.opened[0].url).toContain("/api/v1/jobs/job-2/events");
    expect(screen.getByTestId("job-status").textContent).toBe("Generating: step 2 of 4.");
    expect(screen.getByRole("heading", { name: "Generating your image" })).toBeTruthy();
    const items = screen.getAllByTestId("recent-job");
    expect(items.map((item) => item.getAttribute("data-status"))).toEqual(["running", "succeeded"]);
    expect(items[0].getAttribute("aria-current")).toBe("true");
    expect(items[1].textContent).toContain("384×256 · 12 steps · 2 images · seed 77");

    act(() => FakeEventSource.opened[0].emit({ ...running, step: 3 }));
    expect(screen.getAllByTestId("recent-job-state")[0].textContent).toBe("Running, step 3 of 4"); // the list follows live
  });

  it("follows the job the address names, and shows another one from the list", async () => {
    window.history.replaceState(null, "", "/generate?job=job-0");
    const { api } = withJobs([running, finished]);
    render(<App api={api} />);
    expect(await screen.findByRole("heading", { name: "Your image" })).toBeTruthy();
    expect(screen.getByTestId("image-seed").textContent).toBe("77");
    expect(FakeEventSource.opened).toHaveLength(0); // a finished job is not followed

    await userEvent.click(await screen.findByRole("button", { name: /Show.*a running fox/ }));
    await waitFor(() => expect(FakeEventSource.opened).toHaveLength(1));
    expect(window.location.search).toBe("?job=job-2");
    expect(screen.getByTestId("job-status").textContent).toBe("Generating: step 2 of 4.");
  });

  it("puts a new job in the address and at the top of the list", async () => {
    const { api } = withJobs([finished]);
    render(<App api={api} />);
    await submit();
    expect(window.location.pathname + window.location.search).toBe("/generate?job=job-1");
    expect(screen.getAllByTestId("recent-job").map((item) => item.getAttribute("data-job-id"))).toEqual(["job-1", "job-0"]);
  });

  it("re-runs a job: its parameters fill the form", async () => {
    window.history.replaceState(null, "", "/generate");
    const { api } = withJobs([finished]);
    render(<App api={api} />);
    await userEvent.click(await screen.findByRole("button", { name: /Re-run.*an old owl/ }));
    expect((screen.getByLabelText("Prompt") as HTMLTextAreaElement).value).toBe("an old owl");
    expect((screen.getByLabelText("Negative prompt (optional)") as HTMLInputElement).value).toBe("fog");
    expect((screen.getByLabelText("Width") as HTMLSelectElement).value).toBe("384");
    expect((screen.getByLabelText("Steps") as HTMLInputElement).value).toBe("12");
    expect((screen.getByLabelText("Images") as HTMLInputElement).value).toBe("2");
    expect((screen.getByLabelText("Seed value") as HTMLInputElement).value).toBe("77");
    expect(document.activeElement).toBe(screen.getByLabelText("Prompt"));
  });

  it("does not title a canceled batch as an image", async () => {
    const { api } = platform();
    render(<App api={api} />);
    const stream = await submit();
    act(() => stream.emit({ ...base, params: { ...base.params, n: 3 }, status: "running", phase: "running", step: 1, total_steps: 4 }));
    expect(screen.getByRole("heading", { name: "Generating 3 images" })).toBeTruthy();
    act(() => stream.emit({ ...base, params: { ...base.params, n: 3 }, status: "canceled", phase: "canceled", error: { code: "canceled", message: "" } }));
    expect(screen.getByRole("heading", { name: "Generation canceled" })).toBeTruthy();
    expect(screen.queryByRole("heading", { name: /Your image/ })).toBeNull();
  });

  it("keeps the draft per person across a reload", async () => {
    window.history.replaceState(null, "", "/generate");
    const { api } = platform();
    const first = render(<App api={api} />);
    await screen.findByTestId("user-chip");
    await userEvent.type(screen.getByLabelText("Prompt"), "a fox in the snow");
    await userEvent.clear(screen.getByLabelText("Steps"));
    await userEvent.type(screen.getByLabelText("Steps"), "9");
    first.unmount();

    render(<App api={platform().api} />);
    await waitFor(() => expect((screen.getByLabelText("Prompt") as HTMLTextAreaElement).value).toBe("a fox in the snow"));
    expect((screen.getByLabelText("Steps") as HTMLInputElement).value).toBe("9");
    cleanup();

    // Another person on this browser starts blank.
    render(<App api={platform((url) => (url === "/api/auth/me" ? json(200, { ...ME, id: "u2", email: "bo@example.com" }) : null)).api} />);
    await screen.findByText(/bo@example.com/);
    expect((screen.getByLabelText("Prompt") as HTMLTextAreaElement).value).toBe("");
  });

  it("submits with Ctrl+Enter from the prompt", async () => {
    window.history.replaceState(null, "", "/generate");
    const { api, calls } = platform();
    render(<App api={api} />);
    await userEvent.type(await screen.findByLabelText("Prompt"), "a red fox");
    await userEvent.keyboard("{Control>}{Enter}{/Control}");
    await waitFor(() => expect(calls.some((c) => c.url === "/api/v1/jobs" && c.init.method === "POST")).toBe(true));
    expect((screen.getByLabelText("Prompt") as HTMLTextAreaElement).value).toBe("a red fox"); // no new line typed
  });

  it("names and links the job in the way when the plan's concurrency refuses a new one", async () => {
    window.history.replaceState(null, "", "/generate?job=job-0");
    const { api } = withJobs([running, finished], (url, init) => url === "/api/v1/jobs" && init.method === "POST"
      ? json(429, { error: { code: "concurrency_limit", message: "you have 1 jobs queued or running; your limit is 1" } }, { "Retry-After": "5" })
      : null);
    render(<App api={api} />);
    await screen.findByRole("heading", { name: "Your image" });
    await userEvent.type(screen.getByLabelText("Prompt"), " again");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect((await screen.findByTestId("rate-limit")).textContent).toMatch(/as many jobs queued or running as your plan allows \(1\)/);
    const link = await screen.findByRole("link", { name: "“a running fox”" });
    expect(screen.getByTestId("jobs-in-the-way").textContent).toContain("(running)");
    await userEvent.click(link);
    await waitFor(() => expect(FakeEventSource.opened).toHaveLength(1));
    expect(window.location.search).toBe("?job=job-2");
    expect(screen.getByTestId("job-status").textContent).toBe("Generating: step 2 of 4.");
  });
});

describe("Recent jobs across submissions", () => {
  it("keeps the job followed before in the list when a new one starts", async () => {
    const listed: object[] = [];
    let next = 0;
    const { api } = platform((url, init) => {
      if (url.startsWith("/api/v1/jobs?")) return json(200, { items: [...listed], next_cursor: null });
      if (url === "/api/v1/jobs" && init.method === "POST") {
        next += 1;
        const created = { ...base, id: `new-${next}`, created_at: `2026-12-02T11:0${next}:00Z`, status: "succeeded", phase: "succeeded", progress: 1 };
        listed.unshift(created);
        return json(202, created);
      }
      return null;
    });
    window.history.replaceState(null, "", "/generate");
    render(<App api={api} />);
    await userEvent.type(await screen.findByLabelText("Prompt"), "a red fox");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    await waitFor(() => expect(screen.getAllByTestId("recent-job")).toHaveLength(1));
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    await waitFor(() => expect(screen.getAllByTestId("recent-job").map((item) => item.getAttribute("data-job-id"))).toEqual(["new-2", "new-1"]));
  });
});

describe("A reloaded tab", () => {
  it("renews its access token before it opens the running job's stream", async () => {
    window.localStorage.setItem("atelier.session", "s1"); // all a reload keeps (the refresh token is a cookie)
    window.history.replaceState(null, "", "/generate");
    const api = new ApiClient({
      store: browserTokenStore(window.localStorage, undefined),
      eventSource: (url) => new FakeEventSource(url) as unknown as EventSource,
      fetch: async (input) => {
        const url = String(input);
        if (url === "/api/auth/token/refresh") return json(200, { access: "fresh" });
        if (url === "/api/auth/me") return json(200, ME);
        if (url.startsWith("/api/v1/jobs?")) return json(200, { items: [running], next_cursor: null });
        return json(404, { error: { code: "not_found", message: "no" } });
      },
    });
    render(<App api={api} />);
    await waitFor(() => expect(FakeEventSource.opened).toHaveLength(1));
    expect(FakeEventSource.opened[0].url).toBe("/api/v1/jobs/job-2/events?access_token=fresh");
  });
});

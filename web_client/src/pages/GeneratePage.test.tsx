import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import { FakeEventSource, USAGE_FREE, fakeApi, json } from "../test/fakeApi";

const ME = { id: "u1", email: "ada@example.com", tier: "free", verified: true };
const base = { id: "job-1", params: { prompt: "a red fox", steps: 4, width: 256, height: 256, guidance: 7.5, n: 1 }, images: [] };

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

import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it } from "vitest";
import { App } from "../App";
import type { Job } from "../api";
import { FakeEventSource, USAGE_FREE, fakeApi, json } from "../test/fakeApi";

const ME = { id: "u1", email: "ada@example.com", tier: "free", verified: true };
const base: Job = { id: "job-1", status: "queued", phase: "queued", progress: 0, queue_position: 1, created_at: "2026-12-02T10:10:00Z", params: { prompt: "a red fox", steps: 20, width: 384, height: 256, guidance: 7.5, n: 1 }, images: [] };
const running: Job = { ...base, status: "running", phase: "running", step: 5, total_steps: 20, progress: 0.25 };
const FIRST = "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==";
const LATER = "data:image/jpeg;base64,/9j/4AAQSkZJRgABAg==";

async function generate() {
  const { api } = fakeApi((url, init) => {
    if (url === "/api/auth/me") return json(200, ME);
    if (url === "/api/v1/usage") return json(200, USAGE_FREE);
    if (url === "/api/v1/jobs" && init.method === "POST") return json(202, { ...base, status: "queued", phase: "queued", queue_position: 1 });
    return json(404, { error: { code: "not_found", message: "Not Found" } });
  }, { access: "tok", refresh: "r" }, { stream: true });
  window.history.replaceState(null, "", "/generate");
  render(<App api={api} />);
  await userEvent.type(await screen.findByLabelText("Prompt"), "a red fox");
  await userEvent.click(screen.getByRole("button", { name: "Generate" }));
  await waitFor(() => expect(FakeEventSource.opened).toHaveLength(1));
  return FakeEventSource.opened[0];
}

describe("the preview of a running job", () => {
  it("shows the newest preview where the image will be, labelled, until the image replaces it", async () => {
    const stream = await generate();
    act(() => stream.emit(running));
    expect(screen.queryByTestId("job-preview")).toBeNull();

    act(() => stream.emitPreview({ job_id: "job-1", step: 5, image: FIRST }));
    const preview = screen.getByRole("img", { name: "Rough preview of the image being generated, at step 5 of 20" }) as HTMLImageElement;
    expect(preview.getAttribute("src")).toBe(FIRST);
    expect([preview.getAttribute("width"), preview.getAttribute("height")]).toEqual(["384", "256"]); // the job's shape
    expect(preview.closest(".gallery")).not.toBeNull();

    act(() => stream.emit({ ...running, step: 9, progress: 0.45 }));
    act(() => stream.emitPreview({ job_id: "job-1", step: 9, image: LATER }));
    expect(screen.getByTestId("job-preview").getAttribute("src")).toBe(LATER);
    expect(screen.getAllByTestId("job-preview")).toHaveLength(1);

    act(() => stream.emit({
      ...running, status: "succeeded", phase: "succeeded", step: 20, progress: 1,
      images: [{ id: "i1", url: "/files/x.png", seed: 9, width: 384, height: 256 }],
    }));
    expect(screen.queryByTestId("job-preview")).toBeNull();
    expect(screen.getByTestId("generated-image").getAttribute("src")).toBe("/files/x.png");
  });

  it("ignores previews that are not a small image of this job, and keeps following the stream", async () => {
    const stream = await generate();
    act(() => stream.emit(running));
    act(() => stream.emitPreview({ job_id: "job-2", step: 5, image: FIRST }));
    act(() => stream.emitPreview({ job_id: "job-1", step: 5, image: "javascript:alert(1)" }));
    act(() => stream.emitPreview("not json"));
    expect(screen.queryByTestId("job-preview")).toBeNull();
    expect(stream.closed).toBe(false);
    act(() => stream.emit({ ...running, step: 6 }));
    expect(screen.getByTestId("job-status").textContent).toMatch(/step 6 of 20/);
  });

  it("drops the preview when the job fails or is canceled", async () => {
    const stream = await generate();
    act(() => stream.emit(running));
    act(() => stream.emitPreview({ job_id: "job-1", step: 5, image: FIRST }));
    expect(screen.getByTestId("job-preview")).toBeTruthy();
    act(() => stream.emit({ ...running, status: "failed", phase: "failed", error: { code: "out_of_memory", message: "" } }));
    expect(screen.queryByTestId("job-preview")).toBeNull();
  });
});

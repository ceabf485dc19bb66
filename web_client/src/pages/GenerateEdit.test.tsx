// The generate page's hand-offs into image to image (the gallery's "use as input" and "use these
// settings", a result's "use this image") and the usage page's per-minute budget.
import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { App } from "../App";
import type { GalleryImage } from "../api";
import { handOffToGenerate } from "../handoff";
import { FakeEventSource, USAGE_FREE, fakeApi, json } from "../test/fakeApi";
import { UsageView } from "./UsagePage";

const ME = { id: "u1", email: "ada@example.com", tier: "free", verified: true };
const IMAGE: GalleryImage = {
  id: "5f0c3d1e-0000-4000-8000-000000000001", job_id: "j", url: "/files/jobs/j/0.png?sig=s", seed: 4242, width: 384, height: 256,
  params: { kind: "txt2img", prompt: "a red fox", steps: 14, guidance: 6.5, scheduler: "ddim", seed: 4242, width: 384, height: 256, n: 1 },
  created_at: "2026-11-23T10:00:00Z",
};

function platform() {
  return fakeApi((url, init) => {
    if (url === "/api/auth/me") return json(200, ME);
    if (url === "/api/v1/usage") return json(200, USAGE_FREE);
    if (url.startsWith("/api/v1/jobs?")) return json(200, { items: [], next_cursor: null });
    if (url === "/api/v1/jobs" && init.method === "POST") {
      return json(202, { id: "job-9", status: "queued", phase: "queued", params: { prompt: "a red fox" }, images: [], created_at: "2026-12-02T10:00:00Z" });
    }
    return json(404, { error: { code: "not_found", message: "Not Found" } });
  }, { access: "a", refresh: "r" }, { stream: true });
}

const sentJob = (calls: { url: string; init: RequestInit }[]) =>
  JSON.parse(String(calls.find((call) => call.url === "/api/v1/jobs" && call.init.method === "POST")!.init.body));

describe("Generate page hand-offs", () => {
  it("'use as input' from the gallery: the image and its prompt, image to image, a fresh seed", async () => {
    window.history.replaceState(null, "", handOffToGenerate(IMAGE, "input"));
    const { api, calls } = platform();
    render(<App api={api} />);
    expect((await screen.findByTestId("input-image-label")).textContent).toBe("an image from your gallery");
    expect((screen.getByTestId("kind-img2img") as HTMLInputElement).checked).toBe(true);
    expect((screen.getByLabelText("Prompt") as HTMLTextAreaElement).value).toBe("a red fox");
    expect((screen.getByLabelText("Random") as HTMLInputElement).checked).toBe(true);
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    await waitFor(() => expect(FakeEventSource.opened).toHaveLength(1));
    expect(sentJob(calls)).toMatchObject({ kind: "img2img", prompt: "a red fox", init_image: IMAGE.id, strength: 0.75, width: 384, height: 256, steps: 14 });
  });

  it("'use these settings' fills the form with the image's seed and stays text to image", async () => {
    window.history.replaceState(null, "", handOffToGenerate(IMAGE, "settings"));
    const { api } = platform();
    render(<App api={api} />);
    await waitFor(() => expect((screen.getByLabelText("Prompt") as HTMLTextAreaElement).value).toBe("a red fox"));
    expect((screen.getByLabelText("Seed value") as HTMLInputElement).value).toBe("4242");
    expect((screen.getByTestId("kind-txt2img") as HTMLInputElement).checked).toBe(true);
    expect(screen.queryByTestId("input-image")).toBeNull();
  });

  it("'use this image' under a result starts the next job from it", async () => {
    window.history.replaceState(null, "", "/generate");
    const { api, calls } = platform();
    render(<App api={api} />);
    await userEvent.type(await screen.findByLabelText("Prompt"), "a red fox");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    await waitFor(() => expect(FakeEventSource.opened).toHaveLength(1));
    act(() => FakeEventSource.opened[0].emit({
      id: "job-9", status: "succeeded", phase: "succeeded", progress: 1, params: { prompt: "a red fox" }, created_at: "2026-12-02T10:00:00Z",
      images: [{ id: "img-1", url: "/files/img-1.png", seed: 99, width: 256, height: 256 }],
    }));
    expect(screen.getByTestId("download-link").getAttribute("download")).toBe("atelier-a-red-fox-99.png");
    await userEvent.click(screen.getByTestId("use-as-input-button"));
    expect(screen.getByTestId("input-image-label").textContent).toBe("your image (seed 99)");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    await waitFor(() => expect(calls.filter((call) => call.url === "/api/v1/jobs" && call.init.method === "POST")).toHaveLength(2));
    const second = JSON.parse(String(calls.filter((call) => call.url === "/api/v1/jobs" && call.init.method === "POST")[1].init.body));
    expect(second).toMatchObject({ kind: "img2img", init_image: "img-1", width: 256, height: 256 });
  });
});

describe("the usage page's per-minute budget", () => {
  it("counts cost units, refills continuously and counts down to full, live", () => {
    vi.useFakeTimers();
    try {
      const now = Date.now();
      const usage = { ...USAGE_FREE, resets_at: { ...USAGE_FREE.resets_at, minute: new Date(now + 24_000).toISOString() } };
      render(<UsageView usage={usage} />);
      const meter = screen.getByTestId("usage-minute");
      expect(meter.textContent).toContain("Cost units per minute");
      expect(meter.textContent).toContain("3 of 5 left"); // 24 s of 60 still to refill: 2 units
      expect(screen.getByTestId("usage-minute-countdown").textContent).toBe("in 24 s");
      expect(meter.textContent).toContain("one cost unit every 12 s");
      expect(meter.textContent).toContain("the countdown there runs on this same budget");
      act(() => void vi.advanceTimersByTime(12_000));
      expect(screen.getByTestId("usage-minute-countdown").textContent).toBe("in 12 s");
      expect(meter.textContent).toContain("4 of 5 left");
      act(() => void vi.advanceTimersByTime(13_000));
      expect(screen.getByTestId("usage-minute-reset").textContent).toBe("Full now.");
    } finally {
      vi.useRealTimers();
    }
  });
});

import { act, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Countdown } from "./Countdown";
import { DEFAULT_VALUES, valuesFromParams } from "../jobRequest";
import { GenerateForm } from "./GenerateForm";
import { USAGE_FREE, fakeApi, json } from "../test/fakeApi";

const TOKENS = { access: "a", refresh: "r" };

describe("GenerateForm", () => {
  it("requires a prompt and steps in range", async () => {
    const { api, calls } = fakeApi(() => json(202, {}), TOKENS);
    render(<GenerateForm api={api} busy={false} usage={null} onSubmitted={vi.fn()} />);
    const steps = screen.getByLabelText("Steps");
    await userEvent.clear(steps);
    await userEvent.type(steps, "500");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(screen.getByTestId("prompt-error").textContent).toMatch(/Describe/);
    expect(screen.getByTestId("steps-error").textContent).toMatch(/1 to 50/);
    expect(document.activeElement).toBe(screen.getByLabelText("Prompt"));
    expect(calls).toHaveLength(0);
  });

  it("knows the tier's limits: sizes beyond them are disabled, more steps or images are explained", async () => {
    const { api, calls } = fakeApi(() => json(202, {}), TOKENS);
    render(<GenerateForm api={api} busy={false} usage={USAGE_FREE} onSubmitted={vi.fn()} />);
    expect(screen.getByTestId("tier-limits").textContent).toContain("512×512px, 30 steps, 2 images left today");
    const width = screen.getByLabelText("Width") as HTMLSelectElement;
    const option = (value: string) => Array.from(width.options).find((o) => o.value === value)!;
    expect(option("512").disabled).toBe(false);
    expect(option("1024").disabled).toBe(true);
    expect(option("1024").textContent).toContain("needs a higher plan");
    expect(screen.getByLabelText("Steps").getAttribute("max")).toBe("30");

    await userEvent.type(screen.getByLabelText("Prompt"), "a red fox");
    await userEvent.clear(screen.getByLabelText("Steps"));
    await userEvent.type(screen.getByLabelText("Steps"), "40");
    await userEvent.clear(screen.getByLabelText("Images"));
    await userEvent.type(screen.getByLabelText("Images"), "3");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(screen.getByTestId("steps-error").textContent).toBe("Your plan allows up to 30 steps.");
    expect(screen.getByTestId("n-error").textContent).toBe("You have 2 images left today.");
    expect(calls).toHaveLength(0);
  });

  it("sends every setting, with a fixed seed when asked", async () => {
    const onSubmitted = vi.fn();
    const { api, calls } = fakeApi(() => json(202, { id: "j1", status: "queued" }), TOKENS);
    render(<GenerateForm api={api} busy={false} usage={USAGE_FREE} onSubmitted={onSubmitted} />);
    await userEvent.type(screen.getByLabelText("Prompt"), "a red fox");
    await userEvent.type(screen.getByLabelText("Negative prompt (optional)"), "blurry");
    await userEvent.selectOptions(screen.getByLabelText("Width"), "512");
    await userEvent.selectOptions(screen.getByLabelText("Scheduler"), "euler_a");
    await userEvent.click(screen.getByLabelText("Fixed"));
    await userEvent.type(screen.getByLabelText("Seed value"), "42");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    await waitFor(() => expect(onSubmitted).toHaveBeenCalledWith({ id: "j1", status: "queued" }));
    expect(JSON.parse(String(calls[0].init.body))).toEqual({
      kind: "txt2img", prompt: "a red fox", negative_prompt: "blurry", width: 512, height: 256, steps: 20,
      guidance: 7.5, n: 1, seed: 42, scheduler: "euler_a",
    });
  });

  it("puts the API's field errors next to their fields", async () => {
    const { api } = fakeApi(() => json(422, {
      error: { code: "validation_error", message: "Check the highlighted fields.",
        fields: { width: ["exceeds_tier: your plan allows up to 512"], guidance: ["must be at most 30"] } },
    }), TOKENS);
    render(<GenerateForm api={api} busy={false} usage={null} onSubmitted={vi.fn()} />);
    await userEvent.type(screen.getByLabelText("Prompt"), "a red fox");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect((await screen.findByTestId("width-error")).textContent).toContain("your plan allows up to 512");
    expect(screen.getByTestId("guidance-error").textContent).toBe("must be at most 30");
    expect(screen.getByLabelText("Width").getAttribute("aria-invalid")).toBe("true");
    expect(screen.getByLabelText("Width").getAttribute("aria-describedby")).toContain("width-error");
    expect(screen.getByTestId("error-banner").textContent).toContain("Check the highlighted fields.");
  });

  it("turns a 429 into a live countdown from Retry-After and re-enables Generate after it", async () => {
    const { api } = fakeApi(() => json(429, { error: { code: "rate_limited", message: "Too many requests.", retry_after: 9 } },
      { "Retry-After": "2" }), TOKENS);
    render(<GenerateForm api={api} busy={false} usage={null} onSubmitted={vi.fn()} />);
    await userEvent.type(screen.getByLabelText("Prompt"), "a red fox");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect((await screen.findByTestId("rate-limit")).textContent).toContain("used up for now and this job costs 1 cost unit");
    expect(screen.getByTestId("countdown").textContent).toBe("2 s"); // the header wins over the body
    expect((screen.getByRole("button", { name: "Generate" }) as HTMLButtonElement).disabled).toBe(true);
    await waitFor(() => expect(screen.getByTestId("countdown").textContent).toBe("1 s"), { timeout: 2000 });
    await waitFor(() => expect(screen.queryByTestId("rate-limit")).toBeNull(), { timeout: 3000 });
    expect((screen.getByRole("button", { name: "Generate" }) as HTMLButtonElement).disabled).toBe(false);
  });

  it("explains an unverified e-mail", async () => {
    const { api } = fakeApi(() => json(403, { error: { code: "email_unverified", message: "verify first" } }), TOKENS);
    render(<GenerateForm api={api} busy={false} usage={null} onSubmitted={vi.fn()} />);
    await userEvent.type(screen.getByLabelText("Prompt"), "a red fox");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect((await screen.findByTestId("error-banner")).textContent).toMatch(/Verify your e-mail address/);
  });

  it("restores settings from a job's parameters", () => {
    const values = valuesFromParams({ prompt: "p", width: 512, height: 384, steps: 12, guidance: 5, scheduler: "ddim", n: 2 }, 77);
    expect(values).toMatchObject({ prompt: "p", width: "512", height: "384", steps: "12", guidance: "5", scheduler: "ddim", n: "1", seedMode: "fixed", seed: "77" });
    expect(valuesFromParams({ prompt: "p", n: 2 })).toMatchObject({ n: "2", seedMode: "random", seed: "" });
  });
});

describe("Countdown", () => {
  afterEach(() => vi.useRealTimers());

  it("counts down each second and calls back at zero", () => {
    vi.useFakeTimers();
    const onDone = vi.fn();
    render(<Countdown seconds={3} message="Slow down." onDone={onDone} />);
    expect(screen.getByTestId("countdown").textContent).toBe("3 s");
    act(() => void vi.advanceTimersByTime(1100));
    expect(screen.getByTestId("countdown").textContent).toBe("2 s");
    act(() => void vi.advanceTimersByTime(2000));
    expect(screen.getByTestId("countdown").textContent).toBe("0 s");
    expect(onDone).toHaveBeenCalledOnce();
  });
});

describe("GenerateForm's draft", () => {
  const KEY = "atelier.draft.u1";

  it("fills a blank form from the stored draft, even when the person is known only after the first paint", async () => {
    window.localStorage.setItem(KEY, JSON.stringify({ ...DEFAULT_VALUES, prompt: "a draft from before", steps: "9", unknown: 1 }));
    const { api } = fakeApi(() => json(202, {}), TOKENS);
    const view = render(<GenerateForm api={api} busy={false} usage={null} draftKey={null} onSubmitted={vi.fn()} />);
    expect((screen.getByLabelText("Prompt") as HTMLTextAreaElement).value).toBe("");
    view.rerender(<GenerateForm api={api} busy={false} usage={null} draftKey={KEY} onSubmitted={vi.fn()} />);
    expect((screen.getByLabelText("Prompt") as HTMLTextAreaElement).value).toBe("a draft from before");
    expect((screen.getByLabelText("Steps") as HTMLInputElement).value).toBe("9");
    await userEvent.type(screen.getByLabelText("Prompt"), ", edited");
    expect(JSON.parse(window.localStorage.getItem(KEY)!).prompt).toBe("a draft from before, edited");
  });

  it("keeps settings handed to it over a draft that arrives later", () => {
    window.localStorage.setItem(KEY, JSON.stringify({ ...DEFAULT_VALUES, prompt: "a draft from before" }));
    const preset = { ...DEFAULT_VALUES, prompt: "from the gallery" };
    const { api } = fakeApi(() => json(202, {}), TOKENS);
    const view = render(<GenerateForm api={api} busy={false} usage={null} preset={preset} draftKey={null} onSubmitted={vi.fn()} />);
    view.rerender(<GenerateForm api={api} busy={false} usage={null} preset={preset} draftKey={KEY} onSubmitted={vi.fn()} />);
    expect((screen.getByLabelText("Prompt") as HTMLTextAreaElement).value).toBe("from the gallery");
  });
});

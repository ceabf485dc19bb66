import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { ModelInfo } from "../api";
import { sizePresets, validateModel, valuesForModel } from "../validation";
import { DEFAULT_VALUES } from "../jobRequest";
import { GenerateForm } from "./GenerateForm";
import { USAGE_FREE, fakeApi, json } from "../test/fakeApi";

const PRO_LIMITS = { ...USAGE_FREE.limits, max_width: 1024, max_height: 1024, max_steps: 50 };
const USAGE_PRO = { ...USAGE_FREE, tier: "pro", limits: PRO_LIMITS, remaining: { ...USAGE_FREE.remaining, images_today: 100 } };

const TOKENS = { access: "a", refresh: "r" };
const SD: ModelInfo = {
  name: "default", state: "ready", family: "sd1", variant: "base", kinds: ["txt2img", "img2img", "inpaint"],
  schedulers: ["default", "ddim", "euler", "euler_a", "dpm++", "pndm", "lms"], tiers: ["free", "pro"], allowed: true,
  limits: { native_size: 512, max_size: 1024, size_multiple: 8, default_steps: 20, max_steps: 150, default_guidance: 7.5,
    max_guidance: 30, negative_prompt: true },
};
const SCHNELL: ModelInfo = {
  name: "flux-schnell", state: "cold", family: "flux", variant: "schnell", kinds: ["txt2img", "img2img"], schedulers: ["default"],
  tiers: ["free", "pro"], allowed: true,
  limits: { native_size: 1024, max_size: 2048, size_multiple: 16, default_steps: 4, max_steps: 8, default_guidance: 0,
    max_guidance: 0, negative_prompt: false },
};
const GONE: ModelInfo = { ...SD, name: "sdxl-old", family: "sdxl", state: "unavailable" };
const PAID: ModelInfo = { ...SD, name: "flux-dev", family: "flux", allowed: false, tiers: ["pro"] };

describe("the model picker", () => {
  it("lists the catalogue with each model's state; unavailable and other plans' models cannot be picked", () => {
    const { api } = fakeApi(() => json(202, {}), TOKENS);
    render(<GenerateForm api={api} busy={false} usage={USAGE_FREE} models={[SD, SCHNELL, GONE, PAID]} onSubmitted={vi.fn()} />);
    const select = screen.getByLabelText("Model") as HTMLSelectElement;
    const option = (value: string) => Array.from(select.options).find((o) => o.value === value)!;
    expect(option("default").textContent).toBe("default · Stable Diffusion 1.x · ready");
    expect(option("flux-schnell").textContent).toBe("flux-schnell · FLUX.1 schnell · starts on first use");
    expect(option("sdxl-old").disabled).toBe(true);
    expect(option("flux-dev").disabled).toBe(true);
    expect(option("flux-dev").textContent).toContain("needs a higher plan");
  });

  it("moves the form onto the chosen family's defaults and limits, and sends the model", async () => {
    const onSubmitted = vi.fn();
    const { api, calls } = fakeApi(() => json(202, { id: "j1", status: "queued" }), TOKENS);
    render(<GenerateForm api={api} busy={false} usage={USAGE_FREE} models={[SD, SCHNELL]} onSubmitted={onSubmitted} />);
    await userEvent.type(screen.getByLabelText("Negative prompt (optional)"), "blurry");
    await userEvent.selectOptions(screen.getByLabelText("Model"), "flux-schnell");
    expect(screen.queryByLabelText("Negative prompt (optional)")).toBeNull();
    expect(screen.getByTestId("no-negative-prompt").textContent).toContain("FLUX.1 schnell takes no negative prompt");
    expect((screen.getByLabelText("Guidance") as HTMLInputElement).disabled).toBe(true);
    expect(screen.getByLabelText("Steps").getAttribute("max")).toBe("8");
    expect((screen.getByTestId("kind-inpaint") as HTMLInputElement).disabled).toBe(true);
    expect((screen.getByLabelText("Width") as HTMLSelectElement).value).toBe("512"); // native 1024, the free plan's 512
    expect(Array.from((screen.getByLabelText("Scheduler") as HTMLSelectElement).options).map((o) => o.value)).toEqual(["default"]);
    await userEvent.type(screen.getByLabelText("Prompt"), "a red fox");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    await waitFor(() => expect(onSubmitted).toHaveBeenCalled());
    expect(JSON.parse(String(calls[0].init.body))).toEqual({
      kind: "txt2img", prompt: "a red fox", width: 512, height: 512, steps: 4, guidance: 0, n: 1, model: "flux-schnell",
    });
  });

  it("refuses steps over the model's limit before sending", async () => {
    const { api, calls } = fakeApi(() => json(202, {}), TOKENS);
    render(<GenerateForm api={api} busy={false} usage={USAGE_FREE} models={[SD, SCHNELL]}
      preset={{ ...DEFAULT_VALUES, prompt: "x", model: "flux-schnell", steps: "12", guidance: "0", width: "512", height: "512" }}
      onSubmitted={vi.fn()} />);
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(screen.getByTestId("steps-error").textContent).toMatch(/up to 8 steps/);
    expect(calls).toHaveLength(0);
  });

  it("sends no model field for the default model, as before the catalogue", async () => {
    const { api, calls } = fakeApi(() => json(202, { id: "j1" }), TOKENS);
    render(<GenerateForm api={api} busy={false} usage={USAGE_FREE} models={[SD]} onSubmitted={vi.fn()} />);
    await userEvent.type(screen.getByLabelText("Prompt"), "x");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    await waitFor(() => expect(calls).toHaveLength(1));
    expect(JSON.parse(String(calls[0].init.body)).model).toBeUndefined();
  });

  it("shows no picker without a catalogue", () => {
    const { api } = fakeApi(() => json(202, {}), TOKENS);
    render(<GenerateForm api={api} busy={false} usage={USAGE_FREE} models={[]} onSubmitted={vi.fn()} />);
    expect(screen.queryByLabelText("Model")).toBeNull();
  });
});

describe("model rules", () => {
  it("name each field outside the family's limits", () => {
    const values = { ...DEFAULT_VALUES, model: "flux-schnell", kind: "inpaint" as const, steps: "9", guidance: "1", negativePrompt: "x",
      width: "4096", height: "520", scheduler: "ddim" };
    expect(Object.keys(validateModel(values, SCHNELL)).sort()).toEqual(
      ["guidance", "height", "kind", "negative_prompt", "scheduler", "steps", "width"]);
    expect(validateModel(values, { ...SCHNELL, state: "unavailable" }).model?.[0]).toMatch(/not being served/);
    expect(validateModel(DEFAULT_VALUES, null)).toEqual({});
  });

  it("fit the native size into the plan, keeping the shape", () => {
    const moved = valuesForModel(DEFAULT_VALUES, SCHNELL, { ...USAGE_FREE.limits, max_width: 768, max_height: 1024 });
    expect([moved.width, moved.height, moved.steps, moved.guidance]).toEqual(["768", "768", "4", "0"]);
  });
});

describe("size presets follow the model", () => {
  const presets = (model: ModelInfo | null, limits = PRO_LIMITS) =>
    Object.fromEntries(sizePresets(limits, model).map(({ ratio, size }) => [ratio, size && `${size.width}×${size.height}`]));

  it("offer each shape near the model's native size, within the plan and the model's largest side", () => {
    expect(presets(SD)).toMatchObject({ "1:1": "512×512", "4:3": "512×384", "3:2": "576×384", "16:9": "1024×576" });
    expect(presets(SCHNELL)).toMatchObject({ "1:1": "1024×1024", "4:3": "1024×768", "3:4": "768×1024", "16:9": "1024×576" });
    // A model that stops at 512 offers nothing above it, whatever the plan allows.
    expect(presets({ ...SD, limits: { ...SD.limits, max_size: 512 } })["16:9"]).toBeNull();
    // The free plan caps every shape as before.
    expect(presets(SCHNELL, USAGE_FREE.limits)).toMatchObject({ "1:1": "512×512", "4:3": "512×384", "16:9": null });
  });

  it("move the size to the new model's native size, in the same shape, unless the size was set by hand", async () => {
    render(<GenerateForm api={fakeApi(() => json(202, {}), TOKENS).api} busy={false} usage={USAGE_PRO} models={[SD, SCHNELL]}
      onSubmitted={vi.fn()} />);
    const size = () => [(screen.getByLabelText("Width") as HTMLSelectElement).value, (screen.getByLabelText("Height") as HTMLSelectElement).value];
    await userEvent.click(screen.getByTestId("preset-4:3"));
    expect(size()).toEqual(["512", "384"]);
    await userEvent.selectOptions(screen.getByLabelText("Model"), "flux-schnell");
    expect(size()).toEqual(["1024", "768"]);
    expect(screen.getByTestId("preset-4:3").getAttribute("aria-pressed")).toBe("true");
    expect(screen.getByTestId("preset-1:1").textContent).toContain("1024×1024");
    await userEvent.selectOptions(screen.getByLabelText("Model"), "default");
    expect(size()).toEqual(["512", "384"]);
    // A size chosen in the selects stays while the model takes it.
    await userEvent.selectOptions(screen.getByLabelText("Width"), "640");
    await userEvent.selectOptions(screen.getByLabelText("Model"), "flux-schnell");
    expect(size()).toEqual(["640", "384"]);
  });

  it("move a size set by hand that the new model cannot make", () => {
    const custom = { ...DEFAULT_VALUES, width: "1024", height: "576", customSize: true };
    const small = { ...SD, name: "small", limits: { ...SD.limits, max_size: 768 } };
    expect(valuesForModel(custom, SCHNELL, PRO_LIMITS)).toMatchObject({ width: "1024", height: "576", customSize: true });
    // No 16:9 size fits a model that stops at 768: its native square instead.
    expect(valuesForModel(custom, small, PRO_LIMITS)).toMatchObject({ width: "512", height: "512", customSize: false });
    expect(valuesForModel({ ...custom, width: "1024", height: "768" }, small, PRO_LIMITS)).toMatchObject({ width: "512", height: "384" });
  });
});

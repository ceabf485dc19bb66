import { render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import type { ModelInfo } from "../api";
import { lorasOf, validateLoras } from "../loras";
import { DEFAULT_VALUES, valuesFromParams } from "../jobRequest";
import { GenerateForm } from "./GenerateForm";
import { USAGE_FREE, fakeApi, json } from "../test/fakeApi";

const TOKENS = { access: "a", refresh: "r" };
const SDXL: ModelInfo = {
  name: "sdxl", state: "ready", family: "sdxl", variant: "base", kinds: ["txt2img", "img2img", "inpaint"], schedulers: null,
  tiers: ["free", "pro"], allowed: true, loras: ["detail", "ink", "paper", "watercolour", "zoom"],
  limits: { native_size: 1024, max_size: 2048, size_multiple: 8, default_steps: 30, max_steps: 150, default_guidance: 7.5,
    max_guidance: 30, negative_prompt: true },
};
const SDXL_TOO: ModelInfo = { ...SDXL, name: "sdxl-too", loras: ["ink"] };
const PLAIN: ModelInfo = { ...SDXL, name: "plain", loras: [] };

function form(models: ModelInfo[], options: { preset?: typeof DEFAULT_VALUES; reply?: () => Response } = {}) {
  const onSubmitted = vi.fn();
  const { api, calls } = fakeApi(options.reply ?? (() => json(202, { id: "j1", status: "queued" })), TOKENS);
  render(<GenerateForm api={api} busy={false} usage={USAGE_FREE} models={models} preset={options.preset ?? null}
    onSubmitted={onSubmitted} />);
  return { calls, onSubmitted };
}

const body = (call: { init: RequestInit }) => JSON.parse(String(call.init.body));
const addLora = async (name: string) => {
  await userEvent.selectOptions(screen.getByLabelText("Add a LoRA"), name);
  await userEvent.click(screen.getByRole("button", { name: "Add LoRA" }));
};

describe("the LoRA chooser", () => {
  it("adds the model's LoRAs at weight 1, weighs them by slider or number, and sends them in order", async () => {
    const { calls, onSubmitted } = form([{ ...SDXL, name: "default" }]);
    expect(Array.from((screen.getByLabelText("Add a LoRA") as HTMLSelectElement).options).map((o) => o.value))
      .toEqual(["detail", "ink", "paper", "watercolour", "zoom"]);
    await addLora("ink");
    // Focus moves to the new LoRA's weight, so the keyboard goes on from there.
    expect(document.activeElement).toBe(screen.getByLabelText("Weight of ink"));
    expect((screen.getByLabelText("Weight of ink") as HTMLInputElement).value).toBe("1");
    await userEvent.clear(screen.getByLabelText("Weight of ink"));
    await userEvent.type(screen.getByLabelText("Weight of ink"), "-0.5");
    expect((screen.getByLabelText("ink weight slider") as HTMLInputElement).value).toBe("-0.5");
    await addLora("detail");
    // A LoRA already chosen is not offered twice.
    expect(Array.from((screen.getByLabelText("Add a LoRA") as HTMLSelectElement).options).map((o) => o.value))
      .toEqual(["paper", "watercolour", "zoom"]);
    await userEvent.type(screen.getByLabelText("Prompt"), "a red fox");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    await waitFor(() => expect(onSubmitted).toHaveBeenCalled());
    expect(body(calls[0]).loras).toEqual([{ name: "ink", weight: -0.5 }, { name: "detail", weight: 1 }]);
  });

  it("takes at most four, and removes one with its button, focus going back to Add", async () => {
    form([SDXL], { preset: { ...DEFAULT_VALUES, model: "sdxl" } });
    for (const name of ["detail", "ink", "paper", "zoom"]) await addLora(name);
    expect(screen.getAllByTestId("lora-row")).toHaveLength(4);
    expect(screen.queryByLabelText("Add a LoRA")).toBeNull();
    expect(screen.getByTestId("loras-full").textContent).toContain("the most one job takes");
    await userEvent.click(screen.getByRole("button", { name: "Remove ink" }));
    expect(screen.getAllByTestId("lora-row").map((row) => row.dataset.lora)).toEqual(["detail", "paper", "zoom"]);
    expect(document.activeElement).toBe(screen.getByLabelText("Add a LoRA"));
    expect(Array.from((screen.getByLabelText("Add a LoRA") as HTMLSelectElement).options).map((o) => o.value))
      .toEqual(["ink", "watercolour"]);
  });

  it("refuses a weight outside -2 to 2 before sending, next to that LoRA", async () => {
    const { calls } = form([SDXL], { preset: { ...DEFAULT_VALUES, prompt: "x", model: "sdxl", width: "512", height: "512" } });
    await addLora("detail");
    await userEvent.clear(screen.getByLabelText("Weight of detail"));
    await userEvent.type(screen.getByLabelText("Weight of detail"), "3");
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect(screen.getByTestId("lora-0-error").textContent).toBe("A weight is a number from -2 to 2.");
    expect(screen.getByLabelText("Weight of detail").getAttribute("aria-invalid")).toBe("true");
    expect(document.activeElement).toBe(screen.getByLabelText("Weight of detail"));
    expect(calls).toHaveLength(0);
  });

  it("shows the API's LoRA errors on the LoRA they name, not in the banner's list of unknown fields", async () => {
    const { calls } = form([SDXL], {
      preset: { ...DEFAULT_VALUES, prompt: "x", model: "sdxl", width: "512", height: "512", loras: [{ name: "ink", weight: "1" }] },
      reply: () => json(422, { error: { code: "lora_unknown", message: "sdxl has no LoRA 'ink'.", fields: { "loras[0].name": ["no such LoRA"] } } }),
    });
    await userEvent.click(screen.getByRole("button", { name: "Generate" }));
    expect((await screen.findByTestId("lora-0-error")).textContent).toBe("no such LoRA");
    expect(screen.getByTestId("error-banner").textContent).toContain("has no LoRA 'ink'.");
    expect(screen.getByTestId("error-banner").textContent).not.toContain("loras[0]");
    expect(calls).toHaveLength(1);
  });

  it("drops the LoRAs a newly chosen model does not offer, and says so", async () => {
    form([SDXL, SDXL_TOO, PLAIN], { preset: { ...DEFAULT_VALUES, model: "sdxl" } });
    await addLora("detail");
    await addLora("ink");
    await userEvent.selectOptions(screen.getByLabelText("Model"), "sdxl-too");
    expect(screen.getAllByTestId("lora-row").map((row) => row.dataset.lora)).toEqual(["ink"]);
    const notice = screen.getByTestId("lora-notice");
    expect(notice.textContent).toBe("sdxl-too does not offer the LoRA “detail”, so it was removed.");
    expect(notice.getAttribute("role")).toBe("status");
    await userEvent.selectOptions(screen.getByLabelText("Model"), "plain");
    expect(screen.queryAllByTestId("lora-row")).toHaveLength(0);
    expect(screen.getByTestId("lora-notice").textContent).toBe("plain does not offer the LoRA “ink”, so it was removed.");
    expect(screen.getByTestId("no-loras").textContent).toBe("No LoRA adapters for this model.");
  });

  it("says nothing about LoRAs when no model of the catalogue has any", () => {
    form([PLAIN]);
    expect(screen.queryByTestId("lora-picker")).toBeNull();
    expect(screen.queryByTestId("no-loras")).toBeNull();
  });

  it("keeps a job's LoRAs for \"use these settings again\", and the form's drafts cannot break them", () => {
    const values = valuesFromParams({ prompt: "p", model: "sdxl", loras: [{ name: "ink", weight: 0.8 }] });
    expect(values.loras).toEqual([{ name: "ink", weight: "0.8" }]);
    expect(lorasOf(null)).toEqual([]);
    expect(lorasOf([{ name: "a" }, { name: "a", weight: 2 }, 7, { weight: 1 }, { name: "b", weight: "0.5" }]))
      .toEqual([{ name: "a", weight: "1" }, { name: "b", weight: "0.5" }]);
    expect(Object.keys(validateLoras([{ name: "ink", weight: "" }, { name: "gone", weight: "1" }], SDXL)))
      .toEqual(["loras[0].weight", "loras[1].name"]);
  });
});

import { useEffect, useState, type FormEvent, type KeyboardEvent } from "react";
import { ApiError, SCHEDULERS, TERMINAL_STATUSES, type ApiClient, type FieldErrors, type Job, type ModelInfo, type Usage } from "../api";
import { useStoredDraft } from "../hooks/useStoredDraft";
import { jobSide, type InputImage } from "../imageInput";
import { droppedNotice, isLoraField, lorasOf, offeredLoras, validateLoras, type LoraChoice } from "../loras";
import { DEFAULT_VALUES, FIELD_NAMES, KINDS, OWN_FIELDS, focusId, limitMessage, loraErrors, maskSize, toRequest } from "../jobRequest";
import { hasPaint, type Stroke } from "../mask";
import { Link } from "../router";
import {
  GUIDANCE_MAX, MAX_BATCH, SIZES, STRENGTH_DEFAULT, STRENGTH_MIN, STRENGTH_STEP, hasErrors, modelFamily, validateGenerate,
  validateInputs, validateModel, valuesCost, valuesForModel, type GenerateValues,
} from "../validation";
import { Countdown } from "./Countdown";
import { ErrorBanner } from "./ErrorBanner";
import { Field } from "./Field";
import { InputImagePicker } from "./InputImagePicker";
import { JobCost } from "./JobCost";
import { jobPath } from "./JobView";
import { LoraPicker } from "./LoraPicker";
import { MaskPainter } from "./MaskPainter";
import { SizePresets } from "./SizePresets";

const STATE_WORDS: Record<ModelInfo["state"], string> = { ready: "ready", cold: "starts on first use", unavailable: "unavailable" };

const SHORTCUT = typeof navigator !== "undefined" && /Mac|iP(hone|ad|od)/.test(navigator.platform) ? "⌘+Enter" : "Ctrl+Enter";

/** The jobs that hold the caller's concurrency slots, newest first; none when the list fails. */
async function jobsInTheWay(api: ApiClient): Promise<Job[]> {
  try {
    return (await api.listJobs(null, 20)).items.filter((job) => !TERMINAL_STATUSES.has(job.status));
  } catch {
    return [];
  }
}

interface Props {
  api: ApiClient;
  busy: boolean;
  usage: Usage | null;
  /** The model catalogue (GET /api/v1/models); null or empty: no choice, the default model. */
  models?: ModelInfo[] | null;
  preset?: GenerateValues | null;
  /** A picture handed over ("use this image" on a result, "use as input" in the gallery). */
  inputPreset?: InputImage | null;
  /** Where the draft is kept (per person), so it survives reloads; null keeps it in memory. */
  draftKey?: string | null;
  onSubmitted: (job: Job) => void;
}

export function GenerateForm({ api, busy, usage, models = null, preset, inputPreset, draftKey = null, onSubmitted }: Props) {
  // The draft fills a blank form; settings handed over (`preset`: re-run, "use these settings")
  // replace it below, and a draft whose key arrives later never overrides them.
  const [v, setV] = useStoredDraft<GenerateValues>(draftKey, DEFAULT_VALUES);
  const [fields, setFields] = useState<FieldErrors>({});
  const [banner, setBanner] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [limited, setLimited] = useState<{ seconds: number; message: string; inTheWay: Job[] } | null>(null);
  // The picture and the mask live only in this page: a data URL is too big for the draft.
  const [input, setInput] = useState<InputImage | null>(null);
  const [strokes, setStrokes] = useState<Stroke[]>([]);
  const limits = usage?.limits ?? null;
  // The chosen model's entry; the form's controls follow its family's limits.
  const model = models?.find((m) => m.name === (v.model ?? "default")) ?? null;
  const modelLimits = model?.limits ?? null;
  const loras = lorasOf(v.loras);
  const [loraNotice, setLoraNotice] = useState<string | null>(null);
  const offered = offeredLoras(model);

  // LoRAs the chosen model does not offer go, with a word why: after a change of model, a catalogue
  // that changed (a worker left), or a draft or job from before. Not while the catalogue loads.
  useEffect(() => {
    if (!models) return;
    const dropped = loras.filter((lora) => !offered.includes(lora.name)).map((lora) => lora.name);
    if (!dropped.length) return;
    setV((old) => ({ ...old, loras: lorasOf(old.loras).filter((lora) => offered.includes(lora.name)) }));
    setFields((old) => loraErrors(old, false));
    setLoraNotice(droppedNotice(model?.name ?? null, dropped));
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [models, model?.name, offered.join("\n"), loras.map((lora) => lora.name).join("\n")]);

  function chooseLoras(next: LoraChoice[]) {
    setV((old) => ({ ...old, loras: next }));
    setFields((old) => loraErrors(old, false));
    setLoraNotice(null);
  }

  useEffect(() => {
    if (preset) {
      setV(preset);
      setFields({});
    }
  }, [preset]);

  useEffect(() => {
    if (inputPreset) chooseInput(inputPreset);
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [inputPreset]);

  /** A new input image: its mask starts empty, a text-to-image form turns to image-to-image, and
   * the job takes the picture's size (the worker would stretch it to another shape). */
  function chooseInput(next: InputImage | null) {
    setInput(next);
    setStrokes([]);
    setFields(({ init_image: _input, mask: _mask, ...rest }) => rest);
    if (!next) return;
    const size = maskSize(next, usage);
    setV((old) => ({
      ...old, kind: old.kind === "txt2img" ? "img2img" : old.kind,
      width: String(jobSide(size.width)), height: String(jobSide(size.height)), customSize: true,
    }));
  }

  const set = (name: keyof GenerateValues) => (event: { target: { value: string } }) =>
    setV((old) => ({ ...old, [name]: event.target.value }));
  // A side chosen by hand stays when the model changes (a preset's moves with the model).
  const setSide = (name: "width" | "height") => (event: { target: { value: string } }) =>
    setV((old) => ({ ...old, [name]: event.target.value, customSize: true }));

  async function onSubmit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const errors = {
      ...validateGenerate(v, limits, usage?.remaining.images_today ?? null), ...validateModel(v, model),
      ...validateInputs(v.kind, input !== null, hasPaint(strokes)), ...validateLoras(loras, model),
    };
    setFields(errors);
    setBanner(null);
    if (hasErrors(errors)) {
      const first = Object.keys(errors)[0];
      document.getElementById(focusId(first))?.focus();
      return;
    }
    setSending(true);
    try {
      onSubmitted(await api.createJob(toRequest(v, { input, strokes }, usage, model)));
    } catch (error) {
      if (error instanceof ApiError && error.status === 429) {
        const inTheWay = error.code === "concurrency_limit" ? await jobsInTheWay(api) : [];
        setLimited({ seconds: error.retryAfter ?? 10, message: limitMessage(error, usage, valuesCost(v)), inTheWay });
      } else if (error instanceof ApiError && hasErrors(error.fields)) {
        setFields(error.fields);
        // Errors about fields this form does not show still need to be seen.
        const other = Object.entries(error.fields).filter(([name]) => !(name in FIELD_NAMES) && !OWN_FIELDS.has(name) && !isLoraField(name));
        setBanner(other.length ? `${error.message} (${other.map(([n, m]) => `${n}: ${m.join(" ")}`).join("; ")})` : error.message);
      } else if (error instanceof ApiError && error.code === "email_unverified") {
        setBanner("Verify your e-mail address before generating: open the link we sent you (see your account page to resend it).");
      } else {
        setBanner(error instanceof Error ? error.message : "Something went wrong.");
      }
    } finally {
      setSending(false);
    }
  }

  const maxSteps = Math.min(50, limits?.max_steps ?? 50, modelLimits?.max_steps ?? 50);
  const maxGuidance = Math.min(GUIDANCE_MAX, modelLimits?.max_guidance ?? GUIDANCE_MAX);
  const sizeOption = (max: number | undefined) => (size: number) => {
    const overModel = modelLimits !== null && (size > modelLimits.max_size || size % modelLimits.size_multiple !== 0);
    const overPlan = max !== undefined && size > max;
    return (
      <option key={size} value={size} disabled={overPlan || overModel}>
        {size}px{overPlan ? " (needs a higher plan)" : overModel ? " (not for this model)" : ""}
      </option>
    );
  };
  const schedulers = model?.schedulers ?? SCHEDULERS;
  // A size from an input image or an older job that is not one of the usual sides stays choosable.
  const sides = (current: string) => [...new Set([...SIZES, Number(current)])].filter((side) => side > 0).sort((a, b) => a - b);
  const disabled = busy || sending || limited !== null;
  // Ctrl+Enter (⌘+Enter on a Mac) sends from any field, the prompt's text area included.
  function submitOnCtrlEnter(event: KeyboardEvent<HTMLFormElement>) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    event.preventDefault();
    if (!disabled) event.currentTarget.requestSubmit();
  }

  return (
    <section aria-labelledby="generate-title" className="card">
      <h2 id="generate-title">Describe an image</h2>
      <ErrorBanner message={banner} onDismiss={() => setBanner(null)} />
      {limited && <Countdown seconds={limited.seconds} message={limited.message} onDone={() => setLimited(null)} />}
      {limited && limited.inTheWay.length > 0 && (
        <div className="banner banner-info" data-testid="jobs-in-the-way">
          <span>
            {limited.inTheWay.length === 1 ? "This job is still going: " : "These jobs are still going: "}
            {limited.inTheWay.map((job, index) => (
              <span key={job.id}>
                {index > 0 && ", "}
                <Link to={jobPath(job.id)} data-testid="job-in-the-way">
                  “{typeof job.params?.prompt === "string" ? job.params.prompt : job.id}”
                </Link>{" "}({job.status})
              </span>
            ))}
            . Wait for it, or cancel it there.
          </span>
        </div>
      )}
      {limits && (
        <p className="hint limits" data-testid="tier-limits">
          Your {usage?.tier} plan: up to {limits.max_width}×{limits.max_height}px, {limits.max_steps} steps
          {usage?.remaining.images_today !== undefined && `, ${usage.remaining.images_today} images left today`}.
        </p>
      )}
      <form onSubmit={onSubmit} onKeyDown={submitOnCtrlEnter} noValidate>
        {models && models.length > 0 && (
          <Field id="model" label="Model" errors={fields.model}
            hint={model ? `${modelFamily(model)}: made for ${model.limits.native_size}px, ${model.limits.default_steps} steps.` : undefined}>
            {(describedBy, invalid) => (
              <select id="model" value={v.model ?? "default"} aria-describedby={describedBy} aria-invalid={invalid} data-testid="model-select"
                onChange={(event) => {
                  const next = models.find((m) => m.name === event.target.value);
                  if (next) setV((old) => valuesForModel(old, next, limits));
                  setFields(({ model: _model, ...rest }) => rest);
                  setLoraNotice(null);
                }}>
                {models.map((m) => (
                  <option key={m.name} value={m.name} disabled={m.state === "unavailable" || !m.allowed}>
                    {m.name} · {modelFamily(m)} · {m.allowed ? STATE_WORDS[m.state] : "needs a higher plan"}
                  </option>
                ))}
              </select>
            )}
          </Field>
        )}
        <LoraPicker model={model} anyOffered={Boolean(models?.some((m) => m.loras?.length))} chosen={loras}
          errors={loraErrors(fields, true)} notice={loraNotice} disabled={sending} onChange={chooseLoras} />
        <fieldset className="kind-choice">
          <legend>What to make</legend>
          {KINDS.map(({ kind, label, hint }) => {
            const unsupported = model !== null && !(model.kinds as string[]).includes(kind);
            return (
              <label key={kind} className="inline kind-option">
                <input type="radio" name="kind" value={kind} checked={v.kind === kind} disabled={unsupported}
                  onChange={() => setV((old) => ({ ...old, kind }))} data-testid={`kind-${kind}`} />
                <span>{label} <span className="hint">{unsupported ? "not with this model" : hint}</span></span>
              </label>
            );
          })}
        </fieldset>
        {fields.kind && <p className="field-error" data-testid="kind-error">{fields.kind.join(" ")}</p>}
        {v.kind !== "txt2img" && (
          <div className="edit-inputs">
            <InputImagePicker input={input} limits={limits} onChange={chooseInput} errors={fields.init_image}>
              {v.kind === "inpaint" && input ? (
                <MaskPainter imageUrl={input.url} {...maskSize(input, usage)} strokes={strokes}
                  onChange={(next) => {
                    setStrokes(next);
                    setFields(({ mask: _mask, ...rest }) => rest);
                  }} errors={fields.mask} />
              ) : undefined}
            </InputImagePicker>
            {v.kind === "inpaint" && !input && fields.mask && <p className="field-error" data-testid="mask-error">{fields.mask.join(" ")}</p>}
            <Field id="strength" label="Strength" errors={fields.strength}
              hint="How far the result may move from the input: low keeps it, 1 repaints it freely.">
              {(describedBy, invalid) => (
                <div className="strength">
                  <input type="range" min={STRENGTH_MIN} max={1} step={STRENGTH_STEP} value={Number(v.strength) || STRENGTH_DEFAULT}
                    onChange={set("strength")} aria-label="Strength slider" aria-describedby={describedBy} data-testid="strength-range" />
                  <input id="strength" type="number" inputMode="decimal" min={STRENGTH_MIN} max={1} step={STRENGTH_STEP} value={v.strength}
                    onChange={set("strength")} aria-describedby={describedBy} aria-invalid={invalid} data-testid="strength-input" />
                </div>
              )}
            </Field>
          </div>
        )}
        <Field id="prompt" label="Prompt" errors={fields.prompt}>
          {(describedBy, invalid) => (
            <textarea id="prompt" name="prompt" rows={3} value={v.prompt} onChange={set("prompt")}
              aria-describedby={describedBy} aria-invalid={invalid} data-testid="prompt-input"
              placeholder="A lighthouse at dusk, oil painting" required />
          )}
        </Field>
        {modelLimits?.negative_prompt === false ? (
          <p className="hint" data-testid="no-negative-prompt">{model && modelFamily(model)} takes no negative prompt.</p>
        ) : (
          <Field id="negative-prompt" label="Negative prompt (optional)" errors={fields.negative_prompt} hint="What to keep out of the image.">
            {(describedBy, invalid) => (
              <input id="negative-prompt" value={v.negativePrompt} onChange={set("negativePrompt")}
                aria-describedby={describedBy} aria-invalid={invalid} data-testid="negative-prompt-input" />
            )}
          </Field>
        )}
        <SizePresets width={v.width} height={v.height} limits={limits} model={model}
          onPick={(width, height) => setV((old) => ({ ...old, width: String(width), height: String(height), customSize: false }))} />
        <div className="row">
          <Field id="width" label="Width" errors={fields.width}>
            {(describedBy, invalid) => (
              <select id="width" value={v.width} onChange={setSide("width")} aria-describedby={describedBy}
                aria-invalid={invalid} data-testid="width-select">
                {sides(v.width).map(sizeOption(limits?.max_width))}
              </select>
            )}
          </Field>
          <Field id="height" label="Height" errors={fields.height}>
            {(describedBy, invalid) => (
              <select id="height" value={v.height} onChange={setSide("height")} aria-describedby={describedBy}
                aria-invalid={invalid} data-testid="height-select">
                {sides(v.height).map(sizeOption(limits?.max_height))}
              </select>
            )}
          </Field>
          <Field id="steps" label="Steps" errors={fields.steps} hint={`1 to ${maxSteps}`}>
            {(describedBy, invalid) => (
              <input id="steps" type="number" inputMode="numeric" min={1} max={maxSteps} value={v.steps}
                onChange={set("steps")} aria-describedby={describedBy} aria-invalid={invalid} data-testid="steps-input" />
            )}
          </Field>
        </div>
        <div className="row">
          <Field id="guidance" label="Guidance" errors={fields.guidance}
            hint={maxGuidance === 0 ? "This model runs without guidance." : "How closely to follow the prompt."}>
            {(describedBy, invalid) => (
              <input id="guidance" type="number" inputMode="decimal" step={0.5} min={0} max={maxGuidance} value={v.guidance}
                disabled={maxGuidance === 0} onChange={set("guidance")} aria-describedby={describedBy} aria-invalid={invalid}
                data-testid="guidance-input" />
            )}
          </Field>
          <Field id="scheduler" label="Scheduler" errors={fields.scheduler}>
            {(describedBy, invalid) => (
              <select id="scheduler" value={v.scheduler} onChange={set("scheduler")} aria-describedby={describedBy}
                aria-invalid={invalid} data-testid="scheduler-select">
                {schedulers.map((name) => <option key={name} value={name}>{name}</option>)}
              </select>
            )}
          </Field>
          <Field id="n" label="Images" errors={fields.n} hint={`1 to ${MAX_BATCH}`}>
            {(describedBy, invalid) => (
              <input id="n" type="number" inputMode="numeric" min={1} max={MAX_BATCH} value={v.n} onChange={set("n")}
                aria-describedby={describedBy} aria-invalid={invalid} data-testid="n-input" />
            )}
          </Field>
        </div>
        <fieldset className="seed">
          <legend>Seed</legend>
          <label className="inline">
            <input type="radio" name="seed-mode" checked={v.seedMode === "random"}
              onChange={() => setV((old) => ({ ...old, seedMode: "random" }))} data-testid="seed-random" />
            Random
          </label>
          <label className="inline">
            <input type="radio" name="seed-mode" checked={v.seedMode === "fixed"}
              onChange={() => setV((old) => ({ ...old, seedMode: "fixed" }))} data-testid="seed-fixed" />
            Fixed
          </label>
          {v.seedMode === "fixed" && (
            <Field id="seed" label="Seed value" errors={fields.seed}>
              {(describedBy, invalid) => (
                <input id="seed" type="number" inputMode="numeric" min={0} value={v.seed} onChange={set("seed")}
                  aria-describedby={describedBy} aria-invalid={invalid} data-testid="seed-input" />
              )}
            </Field>
          )}
        </fieldset>
        <JobCost width={Number(v.width)} height={Number(v.height)} steps={Number(v.steps)} n={Number(v.n)}
          kind={v.kind} strength={Number(v.strength)} usage={usage} errors={fields.cost} />
        <div className="actions">
          <span className="hint shortcut" aria-hidden="true">{SHORTCUT}</span>
          <button type="submit" aria-keyshortcuts="Control+Enter Meta+Enter" disabled={disabled} data-testid="generate-button">
            {sending ? "Sending…" : "Generate"}
          </button>
        </div>
      </form>
    </section>
  );
}

import { useEffect, useRef, useState } from "react";
import type { FieldErrors, ModelInfo } from "../api";
import {
  LORAS_MAX, LORA_WEIGHT_DEFAULT, LORA_WEIGHT_MAX, LORA_WEIGHT_MIN, LORA_WEIGHT_STEP, offeredLoras, type LoraChoice,
} from "../loras";

interface Props {
  model: ModelInfo | null;
  /** Whether any model of the catalogue offers a LoRA: if none does, the chooser says nothing at all. */
  anyOffered: boolean;
  chosen: LoraChoice[];
  /** Errors under the API's names: `loras`, `loras[0].name`, `loras[0].weight`. */
  errors: FieldErrors;
  /** Why LoRAs were just removed (a new model does not offer them). */
  notice: string | null;
  disabled?: boolean;
  onChange: (next: LoraChoice[]) => void;
}

/** The LoRA adapters of the chosen model: add up to LORAS_MAX, weigh each (slider and number), remove. */
export function LoraPicker({ model, anyOffered, chosen, errors, notice, disabled = false, onChange }: Props) {
  const offered = offeredLoras(model);
  const free = offered.filter((name) => !chosen.some((lora) => lora.name === name));
  const [adding, setAdding] = useState("");
  const toAdd = free.includes(adding) ? adding : free[0] ?? "";
  // Focus follows the change: onto the weight of a LoRA just added, back to "Add" after a removal.
  const focusNext = useRef<string | null>(null);
  useEffect(() => {
    if (!focusNext.current) return;
    document.getElementById(focusNext.current)?.focus();
    focusNext.current = null;
  });

  const noticeLine = notice && <p className="banner banner-info lora-notice" role="status" data-testid="lora-notice">{notice}</p>;
  if (!model || (offered.length === 0 && chosen.length === 0)) {
    return (
      <>
        {noticeLine}
        {model && anyOffered && <p className="hint no-loras" data-testid="no-loras">No LoRA adapters for this model.</p>}
      </>
    );
  }

  const setWeight = (index: number, weight: string) => onChange(chosen.map((lora, i) => (i === index ? { ...lora, weight } : lora)));
  function add() {
    if (!toAdd) return;
    focusNext.current = `lora-weight-${chosen.length}`;
    onChange([...chosen, { name: toAdd, weight: String(LORA_WEIGHT_DEFAULT) }]);
  }
  function remove(index: number) {
    focusNext.current = "lora-add";
    onChange(chosen.filter((_, i) => i !== index));
  }
  const full = chosen.length >= LORAS_MAX;
  const listError = errors.loras;

  return (
    <fieldset className="lora-picker" aria-describedby="lora-hint" data-testid="lora-picker">
      <legend>LoRA adapters (optional)</legend>
      {noticeLine}
      <p className="hint" id="lora-hint">
        Up to {LORAS_MAX}, applied in this order. Weight {LORA_WEIGHT_MIN} to {LORA_WEIGHT_MAX}: 1 is the adapter as made, 0 turns it off, below 0 works against it.
      </p>
      {chosen.length > 0 && (
        <ul className="lora-list">
          {chosen.map(({ name, weight }, index) => {
            const rowErrors = [...(errors[`loras[${index}].name`] ?? []), ...(errors[`loras[${index}].weight`] ?? [])];
            const errorId = `lora-${index}-error`;
            const weightInvalid = Boolean(errors[`loras[${index}].weight`]);
            const slider = Number(weight);
            return (
              <li key={name} className={rowErrors.length ? "lora-row field-invalid" : "lora-row"} data-testid="lora-row" data-lora={name}>
                <span className="lora-name" id={`lora-name-${index}`}>{name}</span>
                <div className="strength lora-weight">
                  <input type="range" min={LORA_WEIGHT_MIN} max={LORA_WEIGHT_MAX} step={LORA_WEIGHT_STEP}
                    value={weight.trim() !== "" && Number.isFinite(slider) ? slider : LORA_WEIGHT_DEFAULT}
                    onChange={(event) => setWeight(index, event.target.value)} disabled={disabled}
                    aria-label={`${name} weight slider`} data-testid={`lora-weight-range-${index}`} />
                  <label className="visually-hidden" htmlFor={`lora-weight-${index}`}>Weight of {name}</label>
                  <input id={`lora-weight-${index}`} type="number" inputMode="decimal" min={LORA_WEIGHT_MIN} max={LORA_WEIGHT_MAX}
                    step={LORA_WEIGHT_STEP} value={weight} onChange={(event) => setWeight(index, event.target.value)} disabled={disabled}
                    aria-invalid={weightInvalid} aria-describedby={rowErrors.length ? errorId : undefined}
                    data-testid={`lora-weight-${index}`} />
                </div>
                <button type="button" id={`lora-remove-${index}`} className="link-button" onClick={() => remove(index)} disabled={disabled}
                  aria-describedby={rowErrors.length ? errorId : undefined} data-testid={`lora-remove-${index}`}>
                  Remove<span className="visually-hidden"> {name}</span>
                </button>
                {rowErrors.length > 0 && <p className="field-error" id={errorId} data-testid={errorId}>{rowErrors.join(" ")}</p>}
              </li>
            );
          })}
        </ul>
      )}
      {full ? (
        <p className="hint" data-testid="loras-full">{LORAS_MAX} LoRAs are the most one job takes.</p>
      ) : free.length > 0 && (
        <div className="lora-add">
          <label htmlFor="lora-add">Add a LoRA</label>
          <select id="lora-add" value={toAdd} onChange={(event) => setAdding(event.target.value)} disabled={disabled}
            aria-invalid={Boolean(listError)} aria-describedby={listError ? "loras-error" : undefined} data-testid="lora-add-select">
            {free.map((name) => <option key={name} value={name}>{name}</option>)}
          </select>
          <button type="button" className="secondary" onClick={add} disabled={disabled} data-testid="lora-add-button">
            Add<span className="visually-hidden"> LoRA</span>
          </button>
        </div>
      )}
      {listError && <p className="field-error" id="loras-error" data-testid="loras-error">{listError.join(" ")}</p>}
    </fieldset>
  );
}

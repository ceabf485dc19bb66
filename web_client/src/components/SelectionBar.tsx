interface Props {
  /** How many of the shown images there are, and how many of them are selected. */
  shown: number;
  selected: number;
  busy: boolean;
  onSelectAll: (all: boolean) => void;
  onDelete: () => void;
}

/** Select several shown images and delete them with one confirmation. */
export function SelectionBar({ shown, selected, busy, onSelectAll, onDelete }: Props) {
  const all = shown > 0 && selected === shown;
  return (
    <div className="selection-bar" role="group" aria-label="Selected images" data-testid="selection-bar">
      <label className="inline">
        <input type="checkbox" checked={all} disabled={shown === 0 || busy}
          ref={(box) => {
            if (box) box.indeterminate = selected > 0 && !all;
          }}
          onChange={(event) => onSelectAll(event.target.checked)} data-testid="gallery-select-all" />
        Select all shown
      </label>
      <span aria-live="polite" data-testid="selection-count">{selected === 0 ? "None selected" : `${selected} selected`}</span>
      <button type="button" className="secondary danger-text" disabled={selected === 0 || busy} onClick={onDelete}
        data-testid="gallery-delete-selected">
        {busy ? "Deleting…" : `Delete selected${selected ? ` (${selected})` : ""}`}
      </button>
    </div>
  );
}

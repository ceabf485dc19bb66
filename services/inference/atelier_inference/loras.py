"""LoRA adapters from ATELIER_LORA_DIR, applied per job at the job's weights.

The folder holds ``<name>.safetensors`` files (diffusers' or kohya's LoRA format), each with an
optional sidecar ``<name>.json`` naming the model family it was trained for
(``{"family": "sdxl"}``); without one it is taken for the family of the default model, the one
most deployments serve alone. The folder is read again at every heartbeat, so a LoRA copied in
is offered without a restart (and one removed is no longer offered).

A pipeline keeps the adapters it loaded (``load_lora_weights(adapter_name=...)``): the next job
with the same LoRA only switches weights (``set_adapters``), it never reads the file again. A job
without LoRA runs with the adapters disabled (``disable_lora``), so it makes exactly the image
of the plain model. At most MAX_CACHED adapters stay loaded per pipeline; the least recently
used are deleted first.
"""
from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .families import FAMILIES

log = logging.getLogger("atelier.inference.loras")

SUFFIX = ".safetensors"
# The contracts' LoRA name: segments of letters, digits, _ and -, joined by single dots.
NAME_PATTERN = re.compile(r"^[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*$")
NAME_MAX_CHARS = 128
MAX_PER_JOB = 4
WEIGHT_MIN, WEIGHT_MAX = -2.0, 2.0
MAX_CACHED = 8
MAX_ANNOUNCED = 256  # inference.worker.heartbeat v2's bound


class LoraError(Exception):
    """A job's LoRA this worker cannot apply (``invalid_params``)."""


@dataclass(frozen=True)
class LoraFile:
    name: str
    path: Path
    family: str


def scan(folder: Path | None, default_family: str) -> dict[str, LoraFile]:
    """The LoRAs of the folder by name; a file with an unusable name or sidecar is skipped
    (logged), never fatal: one bad file must not take the others away."""
    if folder is None or not folder.is_dir():
        return {}
    found: dict[str, LoraFile] = {}
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        name = path.name[: -len(SUFFIX)]
        if not NAME_PATTERN.match(name) or len(name) > NAME_MAX_CHARS:
            log.warning("LoRA %s skipped: a name may hold letters, digits, _ and -, joined by dots", path.name)
            continue
        family = _sidecar_family(path.with_suffix(".json"), default_family)
        if family is None:
            continue
        found[name] = LoraFile(name, path, family)
        if len(found) == MAX_ANNOUNCED:
            log.warning("more than %d LoRAs in %s: the rest are not offered", MAX_ANNOUNCED, folder)
            break
    return found


def _sidecar_family(sidecar: Path, default_family: str) -> str | None:
    if not sidecar.is_file():
        return default_family
    try:
        family = json.loads(sidecar.read_text()).get("family", default_family)
    except (OSError, ValueError, AttributeError) as exc:
        log.warning("LoRA sidecar %s skipped: %s", sidecar.name, exc)
        return None
    if family not in FAMILIES:
        log.warning("LoRA sidecar %s names family %r; known: %s", sidecar.name, family, ", ".join(FAMILIES))
        return None
    return family


def requested(params: dict[str, Any]) -> tuple[tuple[str, float], ...]:
    """A job's LoRAs as (name, weight) pairs, in its order; () for a job without any (v1 jobs)."""
    return tuple((lora["name"], float(lora["weight"])) for lora in params.get("loras") or ())


def check(params: dict[str, Any], library: dict[str, LoraFile], family: str) -> None:
    """What the schema cannot know: whether this worker has the LoRAs, and for this model's family."""
    wanted = requested(params)
    if len(wanted) > MAX_PER_JOB:
        raise LoraError(f"at most {MAX_PER_JOB} LoRAs per job")
    names = [name for name, _ in wanted]
    if len(set(names)) != len(names):
        raise LoraError("a job names each LoRA once")
    for name, weight in wanted:
        lora = library.get(name)
        if lora is None:
            raise LoraError(f"this worker has no LoRA {name!r}")
        if lora.family != family:
            raise LoraError(f"LoRA {name!r} is for {lora.family}, not {family}")
        if not WEIGHT_MIN <= weight <= WEIGHT_MAX:
            raise LoraError(f"LoRA weight {weight:g} is outside {WEIGHT_MIN:g}..{WEIGHT_MAX:g}")


@dataclass
class AdapterCache:
    """The adapters loaded into one pipeline, most recently used last, and what is active now."""
    loaded: list[str] = field(default_factory=list)
    active: tuple[tuple[str, float], ...] = ()
    loads: int = 0  # files read so far (tests, logs)

    def apply(self, pipe: Any, wanted: tuple[tuple[str, float], ...], library: dict[str, LoraFile]) -> None:
        """Makes exactly ``wanted`` active on ``pipe`` (the img2img/inpaint variants share its modules)."""
        if wanted == self.active:
            return
        if not wanted:
            pipe.disable_lora()
            self.active = ()
            return
        if not hasattr(pipe, "load_lora_weights"):
            raise LoraError("this model takes no LoRA")
        for name, _ in wanted:
            if name in self.loaded:
                self.loaded.remove(name)
            else:
                self._evict(pipe, keep={n for n, _ in wanted}, limit=MAX_CACHED - 1)
                self._load(pipe, library[name])
            self.loaded.append(name)
        self._evict(pipe, keep={n for n, _ in wanted}, limit=MAX_CACHED)
        pipe.enable_lora()
        pipe.set_adapters([name for name, _ in wanted], adapter_weights=[weight for _, weight in wanted])
        self.active = wanted

    def _load(self, pipe: Any, lora: LoraFile) -> None:
        try:
            pipe.load_lora_weights(str(lora.path), adapter_name=lora.name)
        except Exception as exc:  # noqa: BLE001 - an unreadable or mismatched file fails the job, not the worker
            try:  # a half-loaded adapter would be active in every later job
                pipe.delete_adapters(lora.name)
            except Exception:  # noqa: BLE001 - nothing was loaded after all
                pass
            raise LoraError(f"LoRA {lora.name!r} cannot be loaded: {type(exc).__name__}: {exc}") from exc
        self.loads += 1
        log.info("LoRA %s loaded", lora.name)

    def _evict(self, pipe: Any, keep: set[str], limit: int) -> None:
        """Deletes the least recently used adapters not in ``keep`` until at most ``limit`` stay."""
        while len(self.loaded) > limit:
            victim = next((name for name in self.loaded if name not in keep), None)
            if victim is None:
                return
            pipe.delete_adapters(victim)
            self.loaded.remove(victim)
            log.info("LoRA %s unloaded (least recently used)", victim)

#!/usr/bin/env bash
# The GPU figures in one call, on a CUDA machine (about 6-7 minutes on an H200):
#   1. the component floor, /work/shared/bench/sd_floor.py (when it is there)
#   2. bench/model_families.py: SD 1.5, SDXL, FLUX.1 [schnell] bare / through run_job / swapped in
#   3. bench/gpu_pipeline.py: SD 1.5 and SD-Turbo through the worker, batches 1, 4, 16
# Each step's output goes to the terminal and to $OUT (or var/bench/gpu-<time>/); a step that fails
# or runs past its time limit does not stop the next one. Exits non-zero if any step failed.
#
#   bench/run_gpu_figures.sh            # on the GPU machine
#   bench/run_gpu_figures.sh --prepare  # here, with the network: what the GPU machine lacks, into var/gpu-carry/
#
# The GPU machine's image has PyTorch and transformers but not diffusers nor the worker's pydantic
# packages, and it cannot download: --prepare fetches their wheels (the versions of .venv, for
# Python 3.12 on x86-64) and a copy of sd_floor.py into var/gpu-carry/, which the call carries
# (`carry: ["var/gpu-carry"]`); this script installs them into a folder of its own before running.
set -uo pipefail
cd "$(dirname "$0")/.."
CARRY=var/gpu-carry
SD_FLOOR="${SD_FLOOR:-}"
if [ -z "$SD_FLOOR" ]; then
  for candidate in "$CARRY/sd_floor.py" shared/bench/sd_floor.py /work/shared/bench/sd_floor.py; do
    if [ -f "$candidate" ]; then SD_FLOOR="$candidate"; break; fi
  done
fi

if [ "${1:-}" = "--prepare" ]; then
  mkdir -p "$CARRY/wheels"
  wanted='^(diffusers|transformers|tokenizers|importlib.metadata|zipp|pydantic|pydantic.core|pydantic.settings|python.dotenv|annotated.types|typing.inspection|typing.extensions)=='
  mapfile -t pins < <(.venv/bin/python -m pip freeze | grep -i -E "$wanted")
  .venv/bin/python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d "$CARRY/wheels" "${pins[@]}" || exit 1
  if [ -n "$SD_FLOOR" ] && [ "$SD_FLOOR" != "$CARRY/sd_floor.py" ]; then cp "$SD_FLOOR" "$CARRY/sd_floor.py"; fi
  du -sh "$CARRY"; ls "$CARRY" "$CARRY/wheels"
  exit 0
fi

PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  # The project's venv where it has CUDA (a workstation), else the machine's python (the GPU image's).
  if [ -x .venv/bin/python ] && .venv/bin/python -c 'import sys, torch; sys.exit(not torch.cuda.is_available())' 2>/dev/null; then
    PYTHON=.venv/bin/python
  else
    PYTHON=python3
  fi
fi
if compgen -G "$CARRY/wheels/*.whl" >/dev/null; then
  "$PYTHON" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/atelier-gpu-site \
    "$CARRY"/wheels/*.whl || exit 1
  export PYTHONPATH="/tmp/atelier-gpu-site${PYTHONPATH:+:$PYTHONPATH}"
fi
# The monorepo's packages, for a python without the project's editable installs.
for package in packages/*/; do PYTHONPATH="${PYTHONPATH:+$PYTHONPATH:}$PWD/${package%/}"; done
export PYTHONPATH PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1
OUT_DIR="${OUT:-var/bench/gpu-$(date -u +%Y%m%dT%H%M%SZ)}"
mkdir -p "$OUT_DIR"

"$PYTHON" - <<'EOF' || exit 1
import sys
import torch
missing = []
for name in ("diffusers", "transformers", "safetensors", "PIL", "pydantic", "pydantic_settings", "atelier_storage"):
    try:
        __import__(name)
    except ImportError as exc:
        missing.append(f"{name} ({exc})")
if missing:
    sys.exit("run_gpu_figures: missing " + ", ".join(missing) + "; run bench/run_gpu_figures.sh --prepare where pip "
             "can download, and carry var/gpu-carry")
if not torch.cuda.is_available():
    sys.exit(f"run_gpu_figures: CUDA is not available to {sys.executable} (torch {torch.__version__})")
print(f"python {sys.version.split()[0]}, torch {torch.__version__}, {torch.cuda.get_device_name(0)}", flush=True)
EOF
nvidia-smi --query-gpu=name,driver_version,memory.total,memory.used --format=csv 2>/dev/null | tee "$OUT_DIR/nvidia_smi.txt"
df -h /tmp . 2>/dev/null

failed=0
step() {  # step NAME SECONDS COMMAND...: runs it under a time limit, its output also to $OUT_DIR/NAME.txt
  local name=$1 limit=$2 started=$SECONDS
  shift 2
  echo "=== $name (limit ${limit} s)"
  timeout --kill-after=10 "$limit" "$@" 2>&1 | tee "$OUT_DIR/$name.txt"
  local rc=${PIPESTATUS[0]}
  echo "=== $name: exit $rc after $((SECONDS - started)) s"
  [ "$rc" -eq 0 ] || failed=1
}

if [ -n "$SD_FLOOR" ]; then
  step sd_floor 120 "$PYTHON" "$SD_FLOOR"
else
  echo "=== sd_floor: not found (set SD_FLOOR, or run --prepare where /work/shared/bench/sd_floor.py exists)"
fi
step model_families 300 "$PYTHON" bench/model_families.py --repeat 3 --out "$OUT_DIR/model_families.json"
step gpu_pipeline 150 "$PYTHON" bench/gpu_pipeline.py --repeat 3
exit $failed

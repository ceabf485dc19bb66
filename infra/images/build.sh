#!/usr/bin/env bash
# Builds the images of infra/images/Containerfile, reusing the engine's layer cache, so a
# second run with no change takes seconds.
#   infra/images/build.sh                    gateway auth payments pre-inference inference
#   infra/images/build.sh inference-cuda     (several GB: PyPI's CUDA build of torch)
# BASE: the image to build FROM. By default the public python:3.11-slim-bookworm when Docker Hub
# answers, otherwise the Debian base infra/images/base/bootstrap.sh makes here.
# TAG (default dev) tags each image atelier/<image>:$TAG.
set -euo pipefail
cd "$(dirname "$0")/../.."
. infra/images/engine.sh
TAG=${TAG:-dev}
IMAGES=("$@")
[ ${#IMAGES[@]} -gt 0 ] || IMAGES=(gateway auth payments pre-inference inference)

shared_for() {  # the shared packages an image installs, from its lock's header (deps.py writes it)
  sed -n 3p "infra/images/locks/$1.txt" | tr -d '#,' | tr ' ' '\n' | grep '^atelier-' \
    | sed 's/-/_/g' | while read -r pkg; do [ -d "packages/$pkg" ] && echo "./$pkg"; done | paste -sd' '
}

if [ -z "${BASE:-}" ]; then
  if curl -fsS -m 5 -o /dev/null https://registry-1.docker.io/v2/ 2>/dev/null \
     || [ "$(curl -s -m 5 -o /dev/null -w '%{http_code}' https://registry-1.docker.io/v2/ 2>/dev/null)" = 401 ]; then
    BASE=docker.io/library/python:3.11-slim-bookworm
  else
    infra/images/base/bootstrap.sh
    BASE=localhost/atelier-base:bookworm
  fi
fi

# pip inside the build trusts what the host trusts; a CPU build of torch that pip on the host
# finds locally (its find-links) is offered to the build, else PyTorch's CPU index is used.
CA=${ATELIER_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}
mkdir -p var/build/wheels
torch_pin=$(grep -E '^torch==' infra/images/locks/inference.txt | cut -d= -f3)
pip_extra=""
for dir in ${PIP_FIND_LINKS:-} $(python3 -m pip config get global.find-links 2>/dev/null || true); do
  for wheel in "$dir"/torch-"$torch_pin"+cpu-cp311-*.whl; do
    [ -f "$wheel" ] && ln -f "$wheel" var/build/wheels/ 2>/dev/null || { [ -f "$wheel" ] && cp -u "$wheel" var/build/wheels/; }
  done
done
ls var/build/wheels/torch-*+cpu-*.whl >/dev/null 2>&1 \
  || pip_extra="--extra-index-url https://download.pytorch.org/whl/cpu"

for image in "${IMAGES[@]}"; do
  lock=$image torch=cpu
  [ "$image" = inference-cuda ] && lock=inference torch=cuda
  [ -f "infra/images/locks/$lock.txt" ] || { echo "no image $image (infra/images/locks/$lock.txt)" >&2; exit 2; }
  echo "==> image atelier/$image:$TAG (from $BASE)"
  started=$(date +%s)
  $ENGINE build -q -f infra/images/Containerfile --target "$image" -t "atelier/$image:$TAG" \
    --build-arg BASE="$BASE" --build-arg LOCK="$lock" --build-arg SHARED="$(shared_for "$lock")" \
    --build-arg TORCH="$torch" --build-arg PIP_EXTRA="$pip_extra" \
    --secret id=cacert,src="$CA" --layers --format docker . >/dev/null
  echo "    built in $(( $(date +%s) - started )) s, $($ENGINE image inspect --format '{{.Size}}' "atelier/$image:$TAG" | numfmt --to=iec)"
done

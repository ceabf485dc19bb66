#!/usr/bin/env bash
# Starts or stops every process of the platform in the background under honcho.
#   platform.sh start [ENV_FILE]   start, then wait until the gateway reports ready
#   platform.sh stop  [ENV_FILE]   stop everything it started
#   platform.sh status [ENV_FILE]
# The pid and log files sit beside the environment file, so test runs never touch
# the development platform.
set -euo pipefail
cd "$(dirname "$0")/../.."
cmd=${1:-status}
ENV_FILE=$(realpath "${2:-var/dev.env}")
RUN_DIR=$(dirname "$ENV_FILE")
PID_FILE="$RUN_DIR/platform.pid"
LOG_FILE="$RUN_DIR/platform.log"
READY_TIMEOUT_S=${READY_TIMEOUT_S:-180}

running() { [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null; }
# What the gateway's /readyz says is not ready, one line per part (empty when it cannot tell).
not_ready() {
  curl -sS -m 3 "$1" 2>/dev/null | .venv/bin/python -c '
import json, sys
try:
    checks = json.load(sys.stdin).get("checks", {})
except ValueError:
    sys.exit()
for name, state in checks.items():
    if state != "ok":
        print(f"    {name}: {state}")' 2>/dev/null || true
}
port() { grep -E "^GATEWAY_PORT=" "$ENV_FILE" | cut -d= -f2; }

case "$cmd" in
  start)
    if running; then echo "==> already running (pid $(cat "$PID_FILE")) at http://localhost:$(port)"; exit 0; fi
    echo "==> starting every service (log: $LOG_FILE)"
    setsid .venv/bin/honcho -f infra/local/Procfile -e "$ENV_FILE" -d . start >"$LOG_FILE" 2>&1 < /dev/null &
    echo $! > "$PID_FILE"
    url="http://127.0.0.1:$(port)/readyz"
    for i in $(seq 1 "$READY_TIMEOUT_S"); do
      if curl -fsS -m 2 "$url" >/dev/null 2>&1; then
        printf '\n==> ready in %ss: http://localhost:%s\n' "$i" "$(port)"; exit 0
      fi
      if ! running; then echo; echo "the platform exited; last lines of $LOG_FILE:" >&2; tail -40 "$LOG_FILE" >&2; exit 1; fi
      # Say what is still missing now and then: a service that is up but cannot serve (auth
      # unable to read its signing keys) names the reason here, long before the time-out.
      if [ $((i % 15)) -eq 0 ]; then reasons=$(not_ready "$url"); [ -n "$reasons" ] && printf '\n  not ready yet:\n%s\n' "$reasons"; fi
      printf '.'; sleep 1
    done
    echo; echo "not ready after ${READY_TIMEOUT_S}s:" >&2; not_ready "$url" >&2
    echo "last lines of $LOG_FILE:" >&2; tail -40 "$LOG_FILE" >&2; exit 1
    ;;
  stop)
    if running; then
      pid=$(cat "$PID_FILE")
      kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid"
      for _ in $(seq 1 20); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
      kill -KILL -- "-$pid" 2>/dev/null || true
      echo "==> stopped"
    else
      echo "==> not running"
    fi
    rm -f "$PID_FILE"
    ;;
  status)
    if running; then echo "running (pid $(cat "$PID_FILE")) at http://localhost:$(port)"; else echo "not running"; exit 1; fi
    ;;
  *) echo "usage: $0 start|stop|status [ENV_FILE]" >&2; exit 2 ;;
esac

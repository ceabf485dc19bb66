#!/usr/bin/env bash
# Applies every service's migrations to the database named by the environment file.
# The three services own separate schemas, so their migrations run side by side.
set -euo pipefail
cd "$(dirname "$0")/../.."
ENV_FILE=${1:-var/dev.env}
set -a; . "$ENV_FILE"; set +a
echo "==> migrating auth, payments and pre_inference"
pids=()
(cd services/auth && ../../.venv/bin/python manage.py migrate --noinput -v 0) & pids+=($!)
(cd services/payments && ../../.venv/bin/python manage.py migrate --noinput -v 0) & pids+=($!)
(cd services/pre_inference && ../../.venv/bin/alembic -q upgrade head) & pids+=($!)
status=0
for pid in "${pids[@]}"; do wait "$pid" || status=1; done
[ $status -eq 0 ] || { echo "a migration failed" >&2; exit 1; }
echo "==> migrations applied"

#!/usr/bin/env bash
# Installs (Debian packages) and starts whatever the platform needs and is missing:
# PostgreSQL, RabbitMQ, Redis, promtool and prometheus (the monitoring tests), Node.js (infra/local/node.sh:
# the system's if recent enough, else PyPI's) and, for browser tests, Chromium.
# Uses what is already installed and running; a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/../.."
mkdir -p var

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

need=()
command -v psql >/dev/null && ls /usr/lib/postgresql/*/bin/postgres >/dev/null 2>&1 || need+=(postgresql)
command -v rabbitmqctl >/dev/null || need+=(rabbitmq-server)
command -v redis-server >/dev/null || need+=(redis-server)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
command -v curl >/dev/null || need+=(curl)
# `kubectl kustomize` renders infra/k8s's overlays in the unit tier (Debian 12: kubectl 1.20).
command -v kubectl >/dev/null || need+=(kubernetes-client)
if [ "${WITH_BROWSER:-0}" = 1 ] && [ ! -x /usr/bin/chromium ]; then need+=(chromium); fi
if [ ${#need[@]} -gt 0 ]; then
  step "installing Debian packages: ${need[*]}"
  $SUDO apt-get update -q
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${need[@]}"
else
  step "system packages present"
fi

# promtool checks the monitoring configs and runs the alert rule tests; the `prometheus` server
# binary runs in the e2e tier's live alert tests (tests/e2e/test_alerts_live.py), each test run
# starting its own private server. Both come from Debian's `prometheus` package, but installing
# that package starts a Prometheus server wherever no policy-rc.d forbids it, so only the two
# binaries are taken out of the package; nothing is installed as a service or started.
if ! command -v promtool >/dev/null || [ ! -x /usr/local/bin/prometheus ]; then
  step "installing promtool and prometheus (binaries from Debian's prometheus package; no service is installed or started)"
  tmp=$(mktemp -d); chmod 755 "$tmp"
  (cd "$tmp" && apt-get download -q prometheus) || { $SUDO apt-get update -q && (cd "$tmp" && apt-get download -q prometheus); }
  dpkg-deb --fsys-tarfile "$tmp"/prometheus_*.deb | tar -x -C "$tmp" ./usr/bin/promtool ./usr/bin/prometheus
  command -v promtool >/dev/null || $SUDO install -m 0755 "$tmp/usr/bin/promtool" /usr/local/bin/promtool
  [ -x /usr/local/bin/prometheus ] || $SUDO install -m 0755 "$tmp/usr/bin/prometheus" /usr/local/bin/prometheus
  rm -rf "$tmp"
fi

# The web client's build tools (Vite 8) need Node.js 20.19 or newer; apt's is older on Debian 12.
infra/local/node.sh

if ! port_open 5432; then
  step "starting PostgreSQL"
  ver=$(ls /etc/postgresql | sort -V | tail -1)
  $SUDO pg_ctlcluster --skip-systemctl-redirect "$ver" main start || $SUDO service postgresql start
fi
if ! port_open 6379; then
  step "starting Redis"
  $SUDO mkdir -p /var/lib/redis /var/log/redis
  $SUDO redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no --dir /var/lib/redis --logfile /var/log/redis/atelier.log
fi
if ! port_open 5672; then
  step "starting RabbitMQ (takes a few seconds)"
  $SUDO rabbitmq-server -detached || $SUDO service rabbitmq-server start
fi
for port in 5432 6379 5672; do
  for _ in $(seq 1 60); do port_open $port && break; sleep 1; done
  port_open $port || { echo "service on port $port did not come up" >&2; exit 1; }
done

# An administrative Postgres login for provisioning: use the one that works here, or
# make one through the postgres OS account (a fresh Debian install allows only that).
if [ ! -f var/pg-admin.env ]; then
  if psql "postgresql://postgres@127.0.0.1:5432/postgres" -tAc 'select 1' >/dev/null 2>&1; then
    echo "ATELIER_PG_ADMIN_DSN=postgresql://postgres@127.0.0.1:5432/postgres" > var/pg-admin.env
  else
    step "creating the atelier_admin Postgres role"
    pw=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    $SUDO runuser -u postgres -- psql -q -c "DO \$\$BEGIN IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname='atelier_admin') THEN CREATE ROLE atelier_admin LOGIN SUPERUSER; END IF; END\$\$; ALTER ROLE atelier_admin PASSWORD '$pw';"
    echo "ATELIER_PG_ADMIN_DSN=postgresql://atelier_admin:$pw@127.0.0.1:5432/postgres" > var/pg-admin.env
  fi
  chmod 600 var/pg-admin.env
fi
step "PostgreSQL, RabbitMQ and Redis are up"

#!/usr/bin/env bash
# The compose stack: every process of the platform in containers, the gateway at
# http://localhost:${STACK_HTTP_PORT:-8080}, images stored in the stack's S3 store.
#   infra/compose/stack.sh up       build what is missing, write var/stack/stack.env, start, wait
#   infra/compose/stack.sh down     stop and remove the containers (volumes kept)
#   infra/compose/stack.sh destroy  also remove the volumes and var/stack
#   infra/compose/stack.sh ps | logs [service] | compose ARGS...
# ENGINE=docker uses `docker compose`; otherwise podman with podman-compose (from PyPI).
# Where no container registry answers, Postgres, RabbitMQ, Redis and the S3 store are built
# from the Debian base (infra/compose/offline) instead of pulled.
set -euo pipefail
cd "$(dirname "$0")/../.."
. infra/images/engine.sh
# STACK_DIR, STACK_PROJECT and STACK_HTTP_PORT let a second stack run beside the first (the
# deploy tests use their own).
STACK_DIR=${STACK_DIR:-var/stack}
STACK_PROJECT=${STACK_PROJECT:-atelier}
ENV_FILE=$STACK_DIR/stack.env
COMPOSE_FILE=infra/compose/compose.yml
step() { printf '\033[1m==> %s\033[0m\n' "$*"; }

compose() {
  if [ "$ENGINE" = docker ]; then
    docker compose -p "$STACK_PROJECT" -f "$COMPOSE_FILE" --env-file "$ENV_FILE" "$@"
  else
    if [ ! -x var/compose-env/bin/podman-compose ] || ! cmp -s requirements/deploy.txt var/compose-env/.pin; then
      step "podman-compose from PyPI (var/compose-env)"
      rm -rf var/compose-env && python3 -m venv var/compose-env
      var/compose-env/bin/pip install -q --disable-pip-version-check -r requirements/deploy.txt
      cp requirements/deploy.txt var/compose-env/.pin
    fi
    var/compose-env/bin/podman-compose --podman-path podman -p "$STACK_PROJECT" -f "$COMPOSE_FILE" --env-file "$ENV_FILE" "$@"
  fi
}

secret() { python3 -c 'import secrets; print(secrets.token_urlsafe(36))'; }

SECRETS=(POSTGRES_PASSWORD AUTH_DB_PASSWORD PAYMENTS_DB_PASSWORD PRE_INFERENCE_DB_PASSWORD RABBITMQ_PASSWORD
         REDIS_PASSWORD S3_ACCESS_KEY S3_SECRET_KEY AUTH_SECRET_KEY PAYMENTS_SECRET_KEY ATELIER_INTERNAL_TOKEN
         AUTH_API_KEY_PEPPER ATELIER_STORAGE_SIGNING_KEY PAYMENTS_SANDBOX_WEBHOOK_SECRET
         PRE_INFERENCE_WEBHOOK_SECRETS_KEY)

write_env() {
  mkdir -p "$STACK_DIR"
  if [ ! -f "$ENV_FILE" ]; then
    step "writing $ENV_FILE (random secrets, kept across runs)"
    (
      umask 077
      echo "# The compose stack's settings and secrets (infra/compose/stack.sh). Edit, then 'make stack-up'."
      echo "ATELIER_ENV=${ATELIER_ENV:-development}"
      echo "ATELIER_PUBLIC_URL=http://localhost:${STACK_HTTP_PORT:-8080}"
      echo "STACK_HTTP_PORT=${STACK_HTTP_PORT:-8080}"
      echo "PAYMENTS_PROVIDER=sandbox"
      echo "ATELIER_MAIL_HOST_DIR=${ATELIER_MAIL_HOST_DIR:-$PWD/var/mail}"
      echo "AUTH_JWT_PRIVATE_KEY_HOST_FILE=$PWD/$STACK_DIR/jwt_private.pem"
      [ -z "${ATELIER_IDLE_UNLOAD_S:-}" ] || echo "ATELIER_IDLE_UNLOAD_S=$ATELIER_IDLE_UNLOAD_S"
    ) > "$ENV_FILE"
  fi
  # A secret a newer version needs is added to an older env file; none is ever replaced.
  local name
  for name in "${SECRETS[@]}"; do
    grep -q "^$name=" "$ENV_FILE" || echo "$name=$(secret)" >> "$ENV_FILE"
  done
  if [ ! -f "$STACK_DIR/jwt_private.pem" ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$STACK_DIR/jwt_private.pem" 2>/dev/null
  fi
  # The containers' user is 10001 with group 0: the key is readable by group 0 only.
  chmod 0640 "$STACK_DIR/jwt_private.pem"
  [ "$(id -u)" = 0 ] && chgrp 0 "$STACK_DIR/jwt_private.pem"
  # Development mail lands here as .eml files, written by the auth containers' user.
  local mail
  mail=$(grep -E '^ATELIER_MAIL_HOST_DIR=' "$ENV_FILE" | cut -d= -f2-)
  mkdir -p "$mail" && chmod a+rwx "$mail"
}

refuse_unsafe_production() {
  grep -q '^ATELIER_ENV=production' "$ENV_FILE" || return 0
  if grep -qE '^PAYMENTS_PROVIDER=sandbox|CHANGE-ME|dev-only' "$ENV_FILE"; then
    echo "refusing to start: $ENV_FILE says ATELIER_ENV=production but keeps a development provider or a placeholder secret" >&2
    exit 1
  fi
}

engines_offline() {  # 0 when no public registry answers: the engines are built here instead
  local code
  code=$(curl -s -m 5 -o /dev/null -w '%{http_code}' https://registry-1.docker.io/v2/ 2>/dev/null || true)
  [ "$code" != 200 ] && [ "$code" != 401 ]
}

build_engines() {
  infra/images/base/bootstrap.sh
  local moto target
  moto=$(grep -E '^moto==' requirements/constraints.txt | cut -d= -f3)
  for target in postgres rabbitmq redis s3; do
    step "image atelier/$target:dev (Debian's packages in place of the public image)"
    $ENGINE build -q -f infra/compose/offline/Containerfile --target "$target" -t "atelier/$target:dev" \
      --build-arg BASE=localhost/atelier-base:bookworm --build-arg MOTO_VERSION="$moto" \
      --secret id=cacert,src="${ATELIER_BUILD_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}" \
      --layers --format docker infra/compose/offline >/dev/null
  done
  set_env POSTGRES_IMAGE localhost/atelier/postgres:dev
  set_env RABBITMQ_IMAGE localhost/atelier/rabbitmq:dev
  set_env REDIS_IMAGE localhost/atelier/redis:dev
  set_env MINIO_IMAGE localhost/atelier/s3:dev
}

set_env() {  # name value: set or replace one line of the env file
  grep -v "^$1=" "$ENV_FILE" > "$ENV_FILE.new" || true
  echo "$1=$2" >> "$ENV_FILE.new"
  mv "$ENV_FILE.new" "$ENV_FILE"
}

# The start, in the order compose.yml's depends_on gives. Docker waits for those conditions
# itself (`up --wait`); podman 4.3 ignores `service_healthy`, and its healthchecks run from
# systemd timers that hosts without systemd (containers, CI) never fire. So for podman the
# script starts one phase at a time (--no-deps) and asks each healthcheck itself.
ENGINES=(postgres rabbitmq redis s3)
ONE_SHOTS=(migrate-auth migrate-payments migrate-pre-inference storage-setup model-setup)
APIS=(auth payments pre-inference)
BACKGROUND=(auth-relay auth-consumer auth-worker auth-beat payments-relay payments-consumer payments-worker
            payments-beat pre-inference-relay pre-inference-consumer inference)

container_of() {
  $ENGINE ps -a --filter "label=com.docker.compose.project=$STACK_PROJECT" \
    --filter "label=com.docker.compose.service=$1" --format '{{.Names}}' | head -1
}

deadline() { echo $(( $(date +%s) + ${STACK_WAIT_S:-300} )); }

fail_start() {
  echo "the stack did not start: $1 ('infra/compose/stack.sh logs $2' says why)" >&2
  compose logs "$2" 2>&1 | tail -20 >&2 || true
  exit 1
}

wait_healthy() {  # services...: until each one's own healthcheck passes
  local service name until
  until=$(deadline)
  for service in "$@"; do
    name=$(container_of "$service")
    [ -n "$name" ] || fail_start "$service has no container" "$service"
    until $ENGINE healthcheck run "$name" >/dev/null 2>&1; do
      [ "$(date +%s)" -lt "$until" ] || fail_start "$service is not healthy" "$service"
      sleep 1
    done
  done
}

wait_completed() {  # one-shot services...: until each has exited, with status 0
  local service name until code
  until=$(deadline)
  for service in "$@"; do
    name=$(container_of "$service")
    [ -n "$name" ] || fail_start "$service has no container" "$service"
    while [ "$($ENGINE inspect --format '{{.State.Running}}' "$name")" = true ]; do
      [ "$(date +%s)" -lt "$until" ] || fail_start "$service did not finish" "$service"
      sleep 1
    done
    code=$($ENGINE inspect --format '{{.State.ExitCode}}' "$name")
    [ "$code" = 0 ] || fail_start "$service exited with $code" "$service"
  done
}

start() {
  if [ "$ENGINE" = docker ]; then
    compose up -d --wait --wait-timeout "${STACK_WAIT_S:-300}"
    return
  fi
  compose up -d --no-deps "${ENGINES[@]}"
  wait_healthy "${ENGINES[@]}"
  compose up -d --no-deps "${ONE_SHOTS[@]}"
  wait_completed "${ONE_SHOTS[@]}"
  compose up -d --no-deps "${APIS[@]}" "${BACKGROUND[@]}"
  wait_healthy "${APIS[@]}" inference
  compose up -d --no-deps gateway
  wait_healthy gateway
}

stop_phase() {  # timeout services...: stop those that have a container, together
  local timeout=$1 service name names=()
  shift
  for service in "$@"; do
    name=$(container_of "$service")
    [ -z "$name" ] || names+=("$name")
  done
  [ ${#names[@]} -eq 0 ] || $ENGINE stop -t "$timeout" "${names[@]}" >/dev/null 2>&1 || true
}

stop_all() {  # worker_grace: the edge first, the engines last, each phase given its time
  local background=() service
  for service in "${BACKGROUND[@]}"; do [ "$service" = inference ] || background+=("$service"); done
  stop_phase 35 gateway
  stop_phase 35 "${APIS[@]}" "${background[@]}"
  stop_phase "$1" inference inference-gpu
  stop_phase 30 "${ENGINES[@]}"
}

gateway_url() {  # the environment's STACK_HTTP_PORT wins over the env file's, as in compose
  local port=${STACK_HTTP_PORT:-}
  [ -n "$port" ] || port=$(grep -E '^STACK_HTTP_PORT=' "$ENV_FILE" | cut -d= -f2)
  echo "http://localhost:${port:-8080}"
}

wait_ready() {
  local until
  until=$(deadline)
  until curl -fsS -m 3 -o /dev/null "$(gateway_url)/readyz"; do
    [ "$(date +%s)" -lt "$until" ] || fail_start "the gateway is not ready" gateway
    sleep 1
  done
}

case "${1:-up}" in
  up)
    write_env
    refuse_unsafe_production
    if [ "${STACK_OFFLINE:-auto}" = 1 ] || { [ "${STACK_OFFLINE:-auto}" = auto ] && engines_offline; }; then
      build_engines
    fi
    [ "${STACK_BUILD:-1}" = 0 ] || infra/images/build.sh
    step "starting the stack ($ENGINE): engines, one-shot set-up, services, gateway"
    if ! start >"$STACK_DIR/up.log" 2>&1; then
      grep -v 'level=' "$STACK_DIR/up.log" | tail -40 >&2
      exit 1
    fi
    wait_ready
    step "the platform runs at $(gateway_url) (mail in $(grep -E '^ATELIER_MAIL_HOST_DIR=' "$ENV_FILE" | cut -d= -f2-); 'make stack-down' stops it)"
    ;;
  # Stopped here in order rather than by `compose down` alone, which may stop the broker before
  # the worker: a worker finishing its job needs the broker to report it.
  down)
    if [ -f "$ENV_FILE" ]; then stop_all 330; compose down >/dev/null 2>&1; fi
    step "stack stopped (volumes kept)" ;;
  destroy)
    if [ -f "$ENV_FILE" ]; then stop_all 30; compose down -v >/dev/null 2>&1; fi
    rm -rf "$STACK_DIR"; step "stack and its volumes removed" ;;
  ps) compose ps ;;
  logs) shift; compose logs "$@" ;;
  compose) shift; compose "$@" ;;
  *) echo "usage: $0 up|down|destroy|ps|logs [service]|compose ARGS..." >&2; exit 2 ;;
esac

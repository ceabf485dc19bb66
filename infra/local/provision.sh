#!/usr/bin/env bash
# Development resources of this checkout: its database with a schema and role per service,
# and its RabbitMQ vhost, both named in the env file (atelier_<checkout id>). Idempotent.
set -euo pipefail
cd "$(dirname "$0")/../.."
ENV_FILE=${1:-var/dev.env}
.venv/bin/python -m atelier_devkit.platform "$ENV_FILE"
set -a; . "$ENV_FILE"; set +a
.venv/bin/python -m atelier_devkit.postgres
.venv/bin/python -m atelier_devkit.rabbitmq "${ATELIER_AMQP_URL##*/}"

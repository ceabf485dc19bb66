#!/bin/sh
# The public rabbitmq image's start-up, in short: RABBITMQ_DEFAULT_USER/PASS/VHOST become the
# broker's first login and vhost, the files of /etc/rabbitmq/conf.d are its configuration, and
# the broker runs in the foreground as rabbitmq.
set -eu
if [ "$(id -u)" = 0 ]; then
  chown -R rabbitmq:rabbitmq /var/lib/rabbitmq
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$0" "$@"
fi
export HOME=/var/lib/rabbitmq
conf=/var/lib/rabbitmq/00-defaults.conf
{
  echo "loopback_users = none"
  echo "listeners.tcp.default = 5672"
  [ -z "${RABBITMQ_DEFAULT_USER:-}" ] || echo "default_user = $RABBITMQ_DEFAULT_USER"
  [ -z "${RABBITMQ_DEFAULT_PASS:-}" ] || echo "default_pass = $RABBITMQ_DEFAULT_PASS"
  [ -z "${RABBITMQ_DEFAULT_VHOST:-}" ] || echo "default_vhost = $RABBITMQ_DEFAULT_VHOST"
  for f in /etc/rabbitmq/conf.d/*.conf; do [ -f "$f" ] && cat "$f"; done
} > "$conf"
export RABBITMQ_CONFIG_FILE=${conf%.conf} RABBITMQ_LOGS=- RABBITMQ_ENABLED_PLUGINS_FILE=/var/lib/rabbitmq/enabled_plugins
exec "$@"

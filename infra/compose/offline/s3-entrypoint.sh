#!/bin/sh
# MinIO's command line (`server DIR --address :PORT`) mapped onto moto's S3 server.
set -eu
port=9000
if [ "${1:-}" = server ]; then
  shift
  while [ $# -gt 0 ]; do
    case "$1" in --address) port=${2##*:}; shift 2 ;; *) shift ;; esac
  done
  exec /opt/s3/bin/python -m moto.server -H 0.0.0.0 -p "$port"
fi
exec "$@"

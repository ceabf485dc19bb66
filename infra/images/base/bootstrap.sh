#!/usr/bin/env bash
# The Debian bookworm base the images build FROM where no public container registry can be
# reached, only Debian's archive: mmdebstrap writes a minimal root filesystem with Python 3.11
# and imports it as localhost/atelier-base:bookworm. Reuses the image while this recipe is
# unchanged; ATELIER_BASE_REFRESH=1 rebuilds it (security updates).
#   infra/images/base/bootstrap.sh            make or reuse the base image
#   infra/images/base/bootstrap.sh --rootfs DIR   write the root filesystem into DIR instead
set -euo pipefail
cd "$(dirname "$0")/../../.."
. infra/images/engine.sh
TAG=${ATELIER_BASE_TAG:-localhost/atelier-base:bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
RECIPE=$(sha256sum "$0" | cut -c1-16)
PACKAGES=python3,python3-venv,ca-certificates,passwd

command -v mmdebstrap >/dev/null || {
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get install -y -q --no-install-recommends mmdebstrap
}

bootstrap() {  # $1: output (a directory, or - for a tar on stdout)
  # Documentation, manuals and translations are left out: nobody reads them in a container.
  mmdebstrap --variant=minbase --include="$PACKAGES" --quiet \
    --dpkgopt='path-exclude=/usr/share/doc/*' --dpkgopt='path-exclude=/usr/share/man/*' \
    --dpkgopt='path-exclude=/usr/share/info/*' --dpkgopt='path-exclude=/usr/share/locale/*' \
    --dpkgopt='path-include=/usr/share/locale/locale.alias' \
    --aptopt='Acquire::Retries "3"' \
    --customize-hook='rm -rf "$1"/var/lib/apt/lists/* "$1"/var/cache/apt/* "$1"/var/log/*.log' \
    bookworm "$1" \
    "deb $MIRROR bookworm main" "deb $MIRROR bookworm-updates main" "deb $SECURITY bookworm-security main"
}

if [ "${1:-}" = --rootfs ]; then
  [ -n "${2:-}" ] || { echo "usage: $0 --rootfs DIR" >&2; exit 2; }
  bootstrap "$2"
  exit 0
fi

have=$($ENGINE image inspect --format '{{ index .Config.Labels "org.atelier.base-recipe" }}' "$TAG" 2>/dev/null || true)
if [ "$have" = "$RECIPE" ] && [ "${ATELIER_BASE_REFRESH:-0}" != 1 ]; then
  echo "==> base image $TAG is up to date"
  exit 0
fi
echo "==> bootstrapping the Debian bookworm base image $TAG with mmdebstrap (about a minute)"
started=$(date +%s)
bootstrap - | $ENGINE import \
  --change "LABEL org.atelier.base-recipe=$RECIPE" \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' - "$TAG" >/dev/null 2>&1
echo "    $TAG ready in $(( $(date +%s) - started )) s ($($ENGINE image inspect --format '{{.Size}}' "$TAG" | numfmt --to=iec) )"

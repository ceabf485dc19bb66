# Sourced by the image and stack scripts: picks the container engine and, for podman, the
# settings this kind of host needs. ENGINE=docker uses Docker instead.
#   runc rather than crun (crun fails on kernels with hybrid cgroups), cgroupfs (no systemd
#   session in CI), and default ulimits no higher than the hard limits (podman's defaults ask
#   for more than an unprivileged container host allows, and runc then refuses to start).
ENGINE=${ENGINE:-podman}
if [ "$ENGINE" = podman ]; then
  if ! command -v podman >/dev/null; then
    echo "==> installing podman (Debian packages)"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends \
      podman runc containernetworking-plugins slirp4netns uidmap fuse-overlayfs mmdebstrap catatonit
  fi
  _root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  mkdir -p "$_root/var/build"
  nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
  [ "$nofile" = unlimited ] || [ "$nofile" -gt 4096 ] && nofile=4096
  [ "$nproc" = unlimited ] || [ "$nproc" -gt 4096 ] && nproc=4096
  cat > "$_root/var/build/containers.conf" <<CONF
# Written by infra/images/engine.sh for this host.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
CONF
  export CONTAINERS_CONF="$_root/var/build/containers.conf"
fi

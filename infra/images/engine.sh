# Sourced by the image and stack scripts: picks the container engine and, for podman, the
# settings this kind of host needs. ENGINE=docker uses Docker instead.
#   runc rather than crun (crun fails on kernels with hybrid cgroups), cgroupfs (no systemd
#   session in CI), and default ulimits no higher than the hard limits (podman's defaults ask
#   for more than an unprivileged container host allows, and runc then refuses to start).
ENGINE=${ENGINE:-podman}
if [ "$ENGINE" = podman ]; then
  _need=()
  command -v podman >/dev/null ||
    _need+=(podman runc containernetworking-plugins slirp4netns uidmap fuse-overlayfs mmdebstrap catatonit)
  # A stack's containers find each other by name. On the CNI network backend (Debian 12's
  # podman 4.3) that is the dnsname plugin, which podman only recommends: without it every
  # service fails to resolve postgres, rabbitmq and the rest.
  if [ ! -x /usr/lib/cni/dnsname ] && { [ ${#_need[@]} -gt 0 ] ||
       [ "$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null)" = cni ]; }; then
    _need+=(golang-github-containernetworking-plugin-dnsname)
  fi
  if [ ${#_need[@]} -gt 0 ]; then
    echo "==> installing ${_need[*]} (Debian packages)"
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${_need[@]}"
  fi
  unset _need
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

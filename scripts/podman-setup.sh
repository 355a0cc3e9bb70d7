#!/usr/bin/env bash
# Makes podman usable on a Debian host without Docker (sourced by the image scripts):
# runc instead of crun (crun fails on cgroups v1 hybrid hosts), cgroupfs, no default ulimits
# or pids limit, and the CNI dnsname plugin so compose services find each other by name.
# Defines PODMAN (the command with the runtime chosen). Idempotent; root only.

podman_setup() {
  local need=()
  command -v podman >/dev/null || need+=(podman)
  [ -x /usr/sbin/runc ] || need+=(runc)
  command -v debootstrap >/dev/null || need+=(debootstrap)
  [ -x /usr/lib/cni/dnsname ] || need+=(golang-github-containernetworking-plugin-dnsname)
  if [ "${#need[@]}" -gt 0 ]; then
    echo "podman-setup: installing ${need[*]}"
    apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
      { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; }
  fi
  local conf=/etc/containers/containers.conf
  if [ ! -f "$conf" ]; then
    echo "podman-setup: writing $conf"
    mkdir -p /etc/containers
    cat >"$conf" <<'CONF'
# Written by disparo's scripts/podman-setup.sh: what podman needs on these hosts.
[containers]
default_ulimits = []
pids_limit = 0

[engine]
cgroup_manager = "cgroupfs"
runtime = "runc"
CONF
  elif ! grep -q 'cgroup_manager *= *"cgroupfs"' "$conf"; then
    echo "podman-setup: WARNING $conf exists without cgroup_manager = \"cgroupfs\";" \
      "containers may fail to start (see DESIGN/README: containers without Docker)" >&2
  fi
  PODMAN=(podman --runtime /usr/sbin/runc)
}

#!/usr/bin/env bash
# No container registry is reachable here, so the base images the Dockerfile and
# deploy/compose.yaml name are made locally from Debian packages:
#   localhost/debian:bookworm-slim    debootstrap --variant=minbase bookworm, imported
#   python:3.11-slim-bookworm         + Debian's python3.11 (what the Dockerfile's FROM names)
#   postgres:15                       + Debian's postgresql-15, with the official image's
#                                       POSTGRES_USER/PASSWORD(_FILE)/DB interface
#   redis:7                           + Debian's redis-server 7.0
#   localhost/prometheus:bookworm     + Debian's prometheus (the monitoring profile's test)
# Each is tagged under docker.io/library/ so short names resolve without a pull. An image
# that exists is left alone (a second run takes a second); FORCE=1 rebuilds them all.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=podman-setup.sh
. "$here/podman-setup.sh"
podman_setup

cache=${DISPARO_IMAGE_CACHE:-/var/cache/disparo-images}
mkdir -p "$cache"

have() { [ "${FORCE:-0}" != 1 ] && "${PODMAN[@]}" image exists "$1"; }

build_debian() {
  local tag=localhost/debian:bookworm-slim tarball="$cache/bookworm-minbase.tar"
  have "$tag" && return 0
  if [ ! -s "$tarball" ]; then
    local root
    root="$(mktemp -d "$cache/rootfs.XXXXXX")"
    echo "base-images: debootstrap bookworm (about 2 minutes)"
    # The host's Debian mirror (its apt sources), else debootstrap's default one.
    local mirror
    mirror="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
    debootstrap --variant=minbase bookworm "$root" ${mirror:+"$mirror"} >"$cache/debootstrap.log" 2>&1 ||
      { echo "base-images: debootstrap failed, see $cache/debootstrap.log" >&2; rm -rf "$root"; return 1; }
    # Same sources as the host (updates and security too), when it has deb822 sources.
    if [ -f /etc/apt/sources.list.d/debian.sources ]; then
      cp /etc/apt/sources.list.d/debian.sources "$root/etc/apt/sources.list.d/"
      rm -f "$root/etc/apt/sources.list"
    fi
    # Smaller, like the slim images: no apt lists, docs or man pages.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/usr/share/doc/* "$root"/usr/share/man/* "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb
    tar -C "$root" -c . >"$tarball.tmp" && mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
  fi
  echo "base-images: importing $tag"
  "${PODMAN[@]}" import --change 'CMD ["bash"]' "$tarball" "$tag" >/dev/null
}

build_layer() {  # tag, Containerfile
  have "$1" && return 0
  echo "base-images: building $1"
  "${PODMAN[@]}" build --pull=never --network=host --layers -q -t "$1" -f "$2" "$here/base-images" >/dev/null
}

build_debian
build_layer docker.io/library/python:3.11-slim-bookworm "$here/base-images/python.Containerfile"
build_layer docker.io/library/postgres:15 "$here/base-images/postgres.Containerfile"
build_layer docker.io/library/redis:7 "$here/base-images/redis.Containerfile"
build_layer localhost/prometheus:bookworm "$here/base-images/prometheus.Containerfile"
"${PODMAN[@]}" images --format '{{.Repository}}:{{.Tag}} {{.Size}}' |
  grep -E 'debian:bookworm-slim|python:3.11-slim-bookworm|postgres:15|redis:7|prometheus:bookworm' | sed 's/^/base-images: /'

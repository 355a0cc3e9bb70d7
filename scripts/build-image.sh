#!/usr/bin/env bash
# Builds disparo's image from the repository's Dockerfile with podman (no Docker engine
# here): the base images first (scripts/build-base-images.sh), then the image, tagged
# ${DISPARO_IMAGE:-localhost/disparo:latest}. Layers are cached: an unchanged tree rebuilds
# in seconds. pip inside the build trusts this machine's CA bundle when it has one.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/build-base-images.sh"
# shellcheck source=podman-setup.sh
. "$root/scripts/podman-setup.sh"
podman_setup
tag=${DISPARO_IMAGE:-localhost/disparo:latest}
ca=/etc/ssl/certs/ca-certificates.crt
extra=()
if [ -f "$ca" ]; then
  extra+=(--volume "$ca:$ca:ro" --build-arg "PIP_CERT=$ca")
fi
revision="$(git -C "$root" rev-parse HEAD 2>/dev/null || echo unknown)"
"${PODMAN[@]}" build --pull=never --network=host --layers --format docker \
  --label "org.opencontainers.image.revision=$revision" "${extra[@]}" -t "$tag" "$root"
echo "image: $tag $("${PODMAN[@]}" image inspect --format '{{.Size}}' "$tag" | awk '{printf "%.0f MB", $1/1e6}')"

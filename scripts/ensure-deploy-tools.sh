#!/usr/bin/env bash
# What tests/deploy needs besides Python packages: podman + runc + the base images
# (scripts/build-base-images.sh installs and configures podman), Debian's pgbouncer (the
# pooler test) and promtool (the Prometheus config check). Idempotent: seconds when all is
# there. Where podman cannot run at all, the image tests skip with a loud message.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
need=()
command -v pgbouncer >/dev/null || [ -x /usr/sbin/pgbouncer ] || need+=(pgbouncer)
command -v promtool >/dev/null || need+=(prometheus)
if [ "${#need[@]}" -gt 0 ] && [ "$(id -u)" = 0 ]; then
  echo "ensure-deploy-tools: installing ${need[*]}"
  apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null ||
    { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends "${need[@]}" >/dev/null; }
fi
if [ "$(id -u)" = 0 ] && { command -v podman >/dev/null || command -v apt-get >/dev/null; }; then
  "$here/build-base-images.sh"
else
  echo "ensure-deploy-tools: no root or no podman/apt-get here: the image tests will skip" >&2
fi

#!/usr/bin/env bash
# The operations checks (tests/deploy): `promtool` (Debian's prometheus package) checks and
# unit-tests deploy/prometheus/alerts.yml, `systemd-analyze` (systemd) verifies
# deploy/systemd/, `pg_dump`/`pg_restore` (postgresql-client) back up and restore in the
# backup test. Installs what is missing, when run as root on a Debian system.
set -euo pipefail

missing=()
command -v promtool >/dev/null || missing+=(prometheus)
command -v systemd-analyze >/dev/null || missing+=(systemd)
command -v pg_dump >/dev/null || missing+=(postgresql-client)
if [ "${#missing[@]}" -eq 0 ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null || [ "$(id -u)" -ne 0 ]; then
  echo "install-ops-tools: missing ${missing[*]}; run as root on Debian or: apt-get install ${missing[*]}" >&2
  exit 1
fi
echo "install-ops-tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -qq
apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# The dashboard's browser tests drive Debian's `chromium` through Playwright (no browser
# download: Playwright is pointed at /usr/bin/chromium). Install it when it is missing.
set -euo pipefail

if [ -x /usr/bin/chromium ]; then
  exit 0
fi
if ! command -v apt-get >/dev/null; then
  echo "ensure-browser: /usr/bin/chromium is missing and there is no apt-get to install it" >&2
  exit 1
fi
if [ "$(id -u)" -ne 0 ]; then
  echo "ensure-browser: /usr/bin/chromium is missing; run as root or: apt-get install chromium" >&2
  exit 1
fi
echo "ensure-browser: installing Debian's chromium"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=900 update -qq
apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
test -x /usr/bin/chromium

#!/usr/bin/env bash
# The plugin's tests need PHP 8.2, Debian's WordPress, PHPUnit, PHP_CodeSniffer, MariaDB and openssl
# (Debian packages; Composer packages cannot be fetched here). Installs what is missing and
# returns at once when everything is there, so `make test` can call it every time.
set -euo pipefail

PACKAGES=(php-cli php-mysql php-curl php-xml php-mbstring wordpress phpunit php-codesniffer
  mariadb-server mariadb-client openssl)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "install-wordpress-tools: missing ${missing[*]} and no apt-get to install them" >&2
  exit 1
fi
sudo=()
[ "$(id -u)" -eq 0 ] || sudo=(sudo)
echo "install-wordpress-tools: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
lock=(-o DPkg::Lock::Timeout=900)
"${sudo[@]}" apt-get "${lock[@]}" update -qq
"${sudo[@]}" apt-get "${lock[@]}" install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

#!/usr/bin/env bash
# The plugin's checks: php -l on every file, PHP_CodeSniffer (phpcs.xml: PSR-12), then the
# PHPUnit integration tests inside a real WordPress (Debian's package) on MariaDB, served by
# `php -S` beside a stand-in for disparo. Everything it starts stops when it ends.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
plugin_root=$(cd "$here/.." && pwd)
work=${DISPARO_WP_WORK:-$plugin_root/../var/wp-phpunit}
mkdir -p "$work"
work=$(cd "$work" && pwd)

echo "plugin: php -l"
find "$plugin_root" -name '*.php' -print0 | xargs -0 -n1 php -l >/dev/null
echo "plugin: phpcs"
phpcs --standard="$plugin_root/phpcs.xml" -q

free_port() { php -r '$s = stream_socket_server("tcp://127.0.0.1:0"); echo explode(":", stream_socket_get_name($s, false))[1];'; }
wp_port=$(free_port)
fake_port=$(free_port)
site="$work/site"
fake_dir="$work/fake-disparo"
mkdir -p "$fake_dir"
"$here/bin/make-site.sh" "$site" "${DISPARO_WP_TEST_DB:-disparo_wp_phpunit}" "http://127.0.0.1:$wp_port" >/dev/null

pids=()
cleanup() { for pid in "${pids[@]}"; do kill -- "-$pid" 2>/dev/null || true; done; }
trap cleanup EXIT
# Several workers: WordPress calls itself (wp-cron.php, the REST tests' own requests).
PHP_CLI_SERVER_WORKERS=4 setsid php -S "127.0.0.1:$wp_port" -t "$site" >"$work/wp-server.log" 2>&1 &
pids+=($!)
FAKE_DISPARO_DIR="$fake_dir" setsid php -S "127.0.0.1:$fake_port" "$here/bin/fake-disparo.php" \
  >"$work/fake-disparo.log" 2>&1 &
pids+=($!)
# disparo behind TLS, with a certificate of its own (a private CA the site does not trust).
tls_port=$(free_port)
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$work/tls-key.pem" -out "$work/tls-cert.pem" 2>/dev/null
FAKE_DISPARO_DIR="$fake_dir" setsid php "$here/bin/tls-disparo.php" "$tls_port" "$work/tls-cert.pem" \
  "$work/tls-key.pem" >"$work/tls-disparo.log" 2>&1 &
pids+=($!)
answers() { php -r 'exit(@file_get_contents($argv[1]) === false ? 1 : 0);' "$1"; }
listens() { php -r 'exit(@stream_socket_client("tcp://127.0.0.1:" . $argv[1]) === false ? 1 : 0);' "$1"; }
for _ in $(seq 50); do
  answers "http://127.0.0.1:$wp_port/wp-login.php" && break
  sleep 0.1
done
# The TLS tests assert why a dispatch was refused: "not listening yet" must not be a reason.
for port in "$fake_port" "$tls_port"; do
  for _ in $(seq 50); do
    listens "$port" && break
    sleep 0.1
  done
done

echo "plugin: phpunit"
DISPARO_WP_SITE="$site" DISPARO_WP_URL="http://127.0.0.1:$wp_port" \
  FAKE_DISPARO_URL="http://127.0.0.1:$fake_port" FAKE_DISPARO_DIR="$fake_dir" \
  TLS_DISPARO_URL="https://127.0.0.1:$tls_port" TLS_DISPARO_CA="$work/tls-cert.pem" \
  phpunit -c "$here/phpunit.xml" "$@"

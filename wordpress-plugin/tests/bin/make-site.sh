#!/usr/bin/env bash
# A fresh WordPress site with the plugin active, from Debian's `wordpress` package, on its
# own MariaDB database (dropped and created again): make-site.sh SITE_DIR DB_NAME SITE_URL.
# Takes a second or two: the core files are hard links to the package's (copied when the
# file system refuses), only wp-config.php and the plugin are the site's own.
set -euo pipefail

site=$1 db=$2 url=$3
here=$(cd "$(dirname "$0")" && pwd)
plugin_root=$(cd "$here/../.." && pwd)
source_dir=${DISPARO_WP_SOURCE:-/usr/share/wordpress}
mysql_host=${DISPARO_TEST_MYSQL_HOST:-127.0.0.1}
mysql_port=${DISPARO_TEST_MYSQL_PORT:-3306}
mysql_user=${DISPARO_TEST_MYSQL_USER:-root}

[[ $db =~ ^[A-Za-z0-9_]+$ ]] || { echo "make-site: bad database name $db" >&2; exit 1; }
mysql -h "$mysql_host" -P "$mysql_port" -u "$mysql_user" \
  -e "DROP DATABASE IF EXISTS \`$db\`; CREATE DATABASE \`$db\` CHARACTER SET utf8mb4"

rm -rf "$site"
mkdir -p "$(dirname "$site")"
cp -al "$source_dir" "$site" 2>/dev/null || { rm -rf "$site"; cp -a "$source_dir" "$site"; }
rm -f "$site/wp-config.php"  # a hard link to the package's file: replaced, never edited
salt=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
cat >"$site/wp-config.php" <<PHP
<?php
define('DB_NAME', '$db');
define('DB_USER', '$mysql_user');
define('DB_PASSWORD', '');
define('DB_HOST', '$mysql_host:$mysql_port');
define('DB_CHARSET', 'utf8mb4');
define('DB_COLLATE', '');
foreach (['AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY', 'AUTH_SALT',
    'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT'] as \$name) {
    define(\$name, '$salt' . \$name);
}
\$table_prefix = 'wp_';
define('WP_HOME', '$url');
define('WP_SITEURL', '$url');
// Core files are hard links to the package's: nothing may rewrite them.
define('AUTOMATIC_UPDATER_DISABLED', true);
define('DISALLOW_FILE_MODS', true);
define('WP_AUTO_UPDATE_CORE', false);
// Tests run WP-Cron by requesting wp-cron.php, as a system cron would.
define('DISABLE_WP_CRON', true);
define('WP_DEBUG', true);
define('WP_DEBUG_DISPLAY', false);
define('WP_DEBUG_LOG', '$site/debug.log');
if (!defined('ABSPATH')) {
    define('ABSPATH', __DIR__ . '/');
}
require_once ABSPATH . 'wp-settings.php';
PHP
cp -r "$plugin_root/disparo-connector" "$site/wp-content/plugins/"
mkdir -p "$site/wp-content/mu-plugins"
cp "$here/test-hooks.php" "$site/wp-content/mu-plugins/"
php "$here/install.php" "$site" "$url"

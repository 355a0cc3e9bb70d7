<?php

/**
 * Installs WordPress into the site's empty database and activates the plugin, without wp-cli
 * (not packaged by Debian): php install.php SITE_DIR SITE_URL
 */

declare(strict_types=1);

// phpcs:disable PSR1.Files.SideEffects -- a script: WP_INSTALLING must precede wp-load.php

[$script, $site, $url] = $argv + [null, null, null];
if ($site === null || $url === null) {
    fwrite(STDERR, "usage: php install.php SITE_DIR SITE_URL\n");
    exit(2);
}
$_SERVER['HTTP_HOST'] = (string) parse_url($url, PHP_URL_HOST) . ':' . (string) parse_url($url, PHP_URL_PORT);
$_SERVER['REQUEST_URI'] = '/';
define('WP_INSTALLING', true);
require $site . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';

add_filter('pre_wp_mail', '__return_false'); // no sendmail here, and no one to tell
wp_install('Disparo teste', 'admin', 'admin@example.com', false, '', 'admin-password');
// /wp-json/... routes need pretty permalinks; php -S sends unknown paths to index.php.
update_option('permalink_structure', '/%postname%/');
flush_rewrite_rules(false);
$activated = activate_plugin('disparo-connector/disparo-connector.php');
if (is_wp_error($activated)) {
    fwrite(STDERR, 'activation failed: ' . $activated->get_error_message() . "\n");
    exit(1);
}
echo "WordPress installed at {$url}\n";

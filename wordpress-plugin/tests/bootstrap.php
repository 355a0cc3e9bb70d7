<?php

/**
 * Loads the WordPress site that run.sh installed (DISPARO_WP_SITE), with the plugin active:
 * the tests run inside a real WordPress on a real MariaDB database.
 */

declare(strict_types=1);

$site = getenv('DISPARO_WP_SITE');
if ($site === false || !is_file($site . '/wp-load.php')) {
    fwrite(STDERR, "DISPARO_WP_SITE must point at a site made by tests/bin/make-site.sh (run tests/run.sh)\n");
    exit(1);
}
$_SERVER['HTTP_HOST'] = (string) parse_url((string) getenv('DISPARO_WP_URL'), PHP_URL_HOST);
$_SERVER['REQUEST_URI'] = '/';
require $site . '/wp-load.php';
// What an admin request has loaded (submit_button, wp_delete_user...).
require_once ABSPATH . 'wp-admin/includes/admin.php';
require_once __DIR__ . '/Support/Halted.php';
require_once __DIR__ . '/Support/SiteTestCase.php';

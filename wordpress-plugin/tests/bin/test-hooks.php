<?php

/**
 * Test sites only (make-site.sh copies it into mu-plugins): a request with the header
 * X-Test-Pause-Ms waits that long between the webhook's order check and its write, so a
 * test can make two webhooks overlap exactly there.
 */

declare(strict_types=1);

add_action('disparo_connector_sequencia_checked', static function (): void {
    $pause = (int) ($_SERVER['HTTP_X_TEST_PAUSE_MS'] ?? 0);
    if ($pause > 0) {
        usleep(min($pause, 5000) * 1000);
    }
});

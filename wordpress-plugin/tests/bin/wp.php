<?php

/**
 * Drives an installed test site from the command line, like wp-cli would:
 *   php wp.php SITE_DIR options '{"acm_master_api_key": "..."}'   set options
 *   php wp.php SITE_DIR seed '[{"agendamento_id": ..., ...}]'      insert campaign rows
 *   php wp.php SITE_DIR rows AGENDAMENTO_ID                         print its rows as JSON
 *   php wp.php SITE_DIR approve AGENDAMENTO_ID                      approve it (plugin hook)
 *   php wp.php SITE_DIR schedule AGENDAMENTO_ID                     schedule its outcome pull
 *   php wp.php SITE_DIR sync AGENDAMENTO_ID                         one outcome pull run now
 *   php wp.php SITE_DIR outcomes AGENDAMENTO_ID                     its rows' outcomes as JSON
 */

declare(strict_types=1);

[$script, $site, $command, $argument] = $argv + [null, null, null, ''];
$_SERVER['HTTP_HOST'] = '127.0.0.1';
$_SERVER['REQUEST_URI'] = '/';
require $site . '/wp-load.php';

global $wpdb;
$table = \Disparo\Connector\Schema::table();
switch ($command) {
    case 'options':
        foreach (json_decode((string) $argument, true, 512, JSON_THROW_ON_ERROR) as $name => $value) {
            update_option($name, $value);
        }
        echo "ok\n";
        break;
    case 'seed':
        foreach (json_decode((string) $argument, true, 512, JSON_THROW_ON_ERROR) as $row) {
            if ($wpdb->insert($table, $row) === false) {
                fwrite(STDERR, $wpdb->last_error . "\n");
                exit(1);
            }
        }
        echo "ok\n";
        break;
    case 'rows':
        $rows = $wpdb->get_results(
            $wpdb->prepare("SELECT * FROM {$table} WHERE agendamento_id = %s ORDER BY id", $argument),
            ARRAY_A
        );
        echo wp_json_encode($rows), "\n";
        break;
    case 'approve':
        $result = \Disparo\Connector\Plugin::approve((string) $argument);
        echo wp_json_encode(['ok' => $result->ok, 'code' => $result->code, 'message' => $result->message]), "\n";
        exit($result->ok ? 0 : 1);
    case 'schedule':
        \Disparo\Connector\OutcomeSync::schedule((string) $argument);
        echo "ok\n";
        break;
    case 'sync':
        do_action(\Disparo\Connector\OutcomeSync::HOOK, (string) $argument);
        echo wp_json_encode(\Disparo\Connector\OutcomeSync::load((string) $argument)), "\n";
        break;
    case 'outcomes':
        $outcomes = \Disparo\Connector\RowOutcomes::page((string) $argument, 0, 1000);
        $sync = \Disparo\Connector\OutcomeSync::load((string) $argument);
        echo wp_json_encode(['items' => $outcomes, 'sync' => $sync]), "\n";
        break;
    default:
        fwrite(STDERR, "unknown command {$command}\n");
        exit(2);
}

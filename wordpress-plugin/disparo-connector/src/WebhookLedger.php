<?php

declare(strict_types=1);

namespace Disparo\Connector;

use WP_Error;

/**
 * What the status receiver remembers so an old webhook cannot be played again: the signatures
 * it accepted while their timestamps are still inside the tolerance window, and the last
 * `sequencia` applied per agendamento. Two small tables of this plugin's own (the panel's
 * rows table is never altered), created on activation and on the first load after an update,
 * with the plugin's other tables (RowOutcomes, OutcomeSync).
 */
final class WebhookLedger
{
    public const DB_VERSION_OPTION = 'disparo_connector_db_version';
    private const DB_VERSION = '2';

    public static function signatures(): string
    {
        global $wpdb;
        return $wpdb->prefix . 'disparo_webhook_signatures';
    }

    public static function sequencias(): string
    {
        global $wpdb;
        return $wpdb->prefix . 'disparo_webhook_sequencias';
    }

    public static function ensureInstalled(): void
    {
        if (get_option(self::DB_VERSION_OPTION) !== self::DB_VERSION) {
            self::install();
        }
    }

    public static function install(): void
    {
        global $wpdb;
        require_once ABSPATH . 'wp-admin/includes/upgrade.php';
        $charset = $wpdb->get_charset_collate();
        $signatures = self::signatures();
        $sequencias = self::sequencias();
        dbDelta("CREATE TABLE {$signatures} (
  signature char(64) NOT NULL,
  expires_at bigint(20) NOT NULL,
  PRIMARY KEY  (signature),
  KEY expires_at (expires_at)
) {$charset};");
        dbDelta("CREATE TABLE {$sequencias} (
  agendamento_id varchar(100) NOT NULL,
  sequencia bigint(20) unsigned NOT NULL DEFAULT 0,
  PRIMARY KEY  (agendamento_id)
) {$charset};");
        dbDelta(RowOutcomes::createSql($charset));
        dbDelta(OutcomeSync::createSql($charset));
        update_option(self::DB_VERSION_OPTION, self::DB_VERSION, true);
    }

    /**
     * Records a verified signature: true the first time, false when it was already seen (a
     * replay), an error (503: disparo retries) when the table cannot be written. Kept until its
     * timestamp leaves the window, after which the timestamp check refuses it anyway.
     */
    public static function firstSighting(string $signature, int $timestamp, int $tolerance, int $now): bool|WP_Error
    {
        global $wpdb;
        $table = self::signatures();
        $wpdb->query($wpdb->prepare("DELETE FROM {$table} WHERE expires_at < %d", $now));
        $inserted = $wpdb->query($wpdb->prepare(
            "INSERT IGNORE INTO {$table} (signature, expires_at) VALUES (%s, %d)",
            hash('sha256', $signature),
            $timestamp + $tolerance + 1
        ));
        if ($inserted === false) {
            return self::unavailable();
        }
        return $inserted === 1;
    }

    /**
     * Runs `$apply` (the rows' update) only when `$sequencia` is not older than the last one
     * applied to this agendamento, and records it, in one transaction that holds the
     * agendamento's ledger row: two webhooks racing cannot both pass the check. A webhook
     * without a sequencia (a disparo from before it existed) is applied while none has been
     * recorded, and refused after.
     *
     * @template T
     * @param callable(): (T|WP_Error) $apply
     * @return T|WP_Error
     */
    public static function inOrder(string $agendamentoId, ?int $sequencia, callable $apply): mixed
    {
        global $wpdb;
        $table = self::sequencias();
        $wpdb->query($wpdb->prepare(
            "INSERT IGNORE INTO {$table} (agendamento_id, sequencia) VALUES (%s, 0)",
            $agendamentoId
        ));
        $wpdb->query('START TRANSACTION');
        $last = $wpdb->get_var($wpdb->prepare(
            "SELECT sequencia FROM {$table} WHERE agendamento_id = %s FOR UPDATE",
            $agendamentoId
        ));
        if ($last === null) {
            $wpdb->query('ROLLBACK');
            return self::unavailable(); // no ledger row: the order cannot be checked
        }
        $last = (int) $last;
        if (($sequencia === null && $last > 0) || ($sequencia !== null && $sequencia < $last)) {
            $wpdb->query('ROLLBACK');
            return self::stale($agendamentoId, $sequencia, $last);
        }
        do_action('disparo_connector_sequencia_checked', $agendamentoId, $sequencia);
        $outcome = $apply();
        if ($outcome instanceof WP_Error) {
            $wpdb->query('ROLLBACK');
            return $outcome;
        }
        if ($sequencia !== null) {
            $wpdb->query($wpdb->prepare(
                "UPDATE {$table} SET sequencia = %d WHERE agendamento_id = %s",
                $sequencia,
                $agendamentoId
            ));
        }
        $wpdb->query('COMMIT');
        return $outcome;
    }

    public static function last(string $agendamentoId): int
    {
        global $wpdb;
        $table = self::sequencias();
        return (int) $wpdb->get_var($wpdb->prepare(
            "SELECT sequencia FROM {$table} WHERE agendamento_id = %s",
            $agendamentoId
        ));
    }

    private static function unavailable(): WP_Error
    {
        global $wpdb;
        return new WP_Error(
            'ledger_unavailable',
            'Registro de webhooks indisponível (tabelas do disparo-connector): ' . $wpdb->last_error,
            ['status' => 503, 'reason' => 'ledger_unavailable']
        );
    }

    private static function stale(string $agendamentoId, ?int $sequencia, int $last): WP_Error
    {
        $given = $sequencia === null ? 'sem sequencia' : "sequencia {$sequencia}";
        return new WP_Error(
            'stale_sequencia',
            "Webhook antigo ({$given}) para {$agendamentoId}: a sequencia {$last} já foi aplicada.",
            ['status' => 409, 'reason' => 'stale_sequencia', 'last_sequencia' => $last]
        );
    }
}

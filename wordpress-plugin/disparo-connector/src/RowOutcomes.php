<?php

declare(strict_types=1);

namespace Disparo\Connector;

/**
 * Each campaign row's own outcome as disparo reports it (sent, skipped or failed with its
 * reason, unknown, later delivered/read), in this plugin's table: the panel's rows table keeps
 * its single status column, which the panel's webhook handler overwrites for every row.
 * Written in bulk, one multi-row statement per page, never one query per row.
 */
final class RowOutcomes
{
    public const SENT = 'sent';
    public const SKIPPED = 'skipped';
    public const FAILED = 'failed';
    public const UNKNOWN = 'unknown';
    public const PENDING = 'pending';
    public const CHUNK = 1000;
    /** disparo's message status => the outcome stored here. */
    private const OUTCOMES = [
        'SENT' => self::SENT,
        'SKIPPED' => self::SKIPPED,
        'FAILED' => self::FAILED,
        'UNKNOWN' => self::UNKNOWN,
        'PENDING' => self::PENDING,
        'RETRYING' => self::PENDING,
    ];
    private const COLUMNS = '(row_id, agendamento_id, row_index, outcome, reason, delivery_status, delivery_at,'
        . ' delivery_reason, updated_at)';

    public static function table(): string
    {
        global $wpdb;
        return $wpdb->prefix . 'disparo_row_outcomes';
    }

    /** Created with the webhook ledger's tables (WebhookLedger::install, dbDelta). */
    public static function createSql(string $charset): string
    {
        $table = self::table();
        return "CREATE TABLE {$table} (
  row_id bigint(20) unsigned NOT NULL,
  agendamento_id varchar(100) NOT NULL,
  row_index int(10) unsigned DEFAULT NULL,
  outcome varchar(10) NOT NULL,
  reason varchar(255) DEFAULT NULL,
  delivery_status varchar(16) DEFAULT NULL,
  delivery_at datetime DEFAULT NULL,
  delivery_reason varchar(255) DEFAULT NULL,
  updated_at datetime NOT NULL,
  PRIMARY KEY  (row_id),
  KEY agendamento_row (agendamento_id,row_id),
  KEY agendamento_index (agendamento_id,row_index),
  KEY agendamento_outcome (agendamento_id,outcome,row_id)
) {$charset};";
    }

    /** disparo's status of a message as the outcome stored here (`unknown` when not known). */
    public static function outcomeOf(string $status): string
    {
        return self::OUTCOMES[strtoupper($status)] ?? self::UNKNOWN;
    }

    /**
     * Writes (or overwrites) the outcomes of `$items`, each a message of disparo's page with
     * the WordPress row id it belongs to under `row_id`; returns the rows written.
     *
     * @param list<array<string, mixed>> $items
     */
    public static function store(string $agendamentoId, array $items): int|false
    {
        global $wpdb;
        $now = current_time('mysql', true);
        $written = 0;
        foreach (array_chunk($items, self::CHUNK) as $chunk) {
            $values = [];
            foreach ($chunk as $item) {
                $row = array_map([self::class, 'sqlValue'], self::rowValues($agendamentoId, $item, $now));
                $values[] = '(' . implode(', ', $row) . ')';
            }
            // MySQL's affected rows count an update twice: the rows written are the chunk.
            $done = $wpdb->query('INSERT INTO ' . self::table() . ' ' . self::COLUMNS . ' VALUES '
                . implode(', ', $values)
                . ' ON DUPLICATE KEY UPDATE agendamento_id = VALUES(agendamento_id), row_index = VALUES(row_index),'
                . ' outcome = VALUES(outcome), reason = VALUES(reason),'
                . ' delivery_status = VALUES(delivery_status), delivery_at = VALUES(delivery_at),'
                . ' delivery_reason = VALUES(delivery_reason), updated_at = VALUES(updated_at)');
            if ($done === false) {
                return false;
            }
            $written += count($chunk);
        }
        return $written;
    }

    /**
     * @param array<string, mixed> $item
     * @return list<int|string|null>
     */
    private static function rowValues(string $agendamentoId, array $item, string $now): array
    {
        $outcome = self::outcomeOf((string) ($item['status'] ?? ''));
        $reason = match ($outcome) {
            self::SKIPPED => $item['skip_reason'] ?? null,
            self::FAILED, self::UNKNOWN => $item['error'] ?? null,
            default => null,
        };
        return [
            (int) $item['row_id'],
            $agendamentoId,
            isset($item['row_index']) ? (int) $item['row_index'] : null,
            $outcome,
            self::text($reason),
            self::text($item['delivery_status'] ?? null, 16),
            self::mysqlTime($item['delivery_at'] ?? null),
            self::text($item['delivery_reason'] ?? null),
            $now,
        ];
    }

    /**
     * One value of the multi-row INSERT, escaped by esc_sql (the connection's own escaping):
     * wpdb::prepare would write '' for a NULL, and costs a parse of 8,000 placeholders a page.
     */
    private static function sqlValue(int|string|null $value): string
    {
        if ($value === null) {
            return 'NULL';
        }
        return is_int($value) ? (string) $value : "'" . esc_sql($value) . "'";
    }

    /** Empty is NULL; longer than the column is cut. */
    private static function text(mixed $value, int $max = 255): ?string
    {
        if (!is_scalar($value) || (string) $value === '') {
            return null;
        }
        return mb_substr((string) $value, 0, $max);
    }

    /** disparo's ISO-8601 instants as UTC `Y-m-d H:i:s`; null when absent or unreadable. */
    private static function mysqlTime(mixed $value): ?string
    {
        $time = is_string($value) && $value !== '' ? strtotime($value) : false;
        return $time === false ? null : gmdate('Y-m-d H:i:s', $time);
    }

    /** @return array<string, int> outcome => rows, for one agendamento */
    public static function counts(string $agendamentoId): array
    {
        global $wpdb;
        $rows = $wpdb->get_results($wpdb->prepare(
            'SELECT outcome, COUNT(*) AS total FROM ' . self::table()
            . ' WHERE agendamento_id = %s GROUP BY outcome',
            $agendamentoId
        ), ARRAY_A);
        $counts = [];
        foreach (is_array($rows) ? $rows : [] as $row) {
            $counts[(string) $row['outcome']] = (int) $row['total'];
        }
        return $counts;
    }

    /** @return array<string, int> delivery state => rows, for one agendamento */
    public static function deliveryCounts(string $agendamentoId): array
    {
        global $wpdb;
        $rows = $wpdb->get_results($wpdb->prepare(
            'SELECT delivery_status, COUNT(*) AS total FROM ' . self::table()
            . ' WHERE agendamento_id = %s AND delivery_status IS NOT NULL GROUP BY delivery_status',
            $agendamentoId
        ), ARRAY_A);
        $counts = [];
        foreach (is_array($rows) ? $rows : [] as $row) {
            $counts[(string) $row['delivery_status']] = (int) $row['total'];
        }
        return $counts;
    }

    /**
     * One page of an agendamento's outcomes after a row id, by row id, with the row's phone.
     *
     * @return list<array<string, mixed>>
     */
    public static function page(string $agendamentoId, int $afterRowId, int $limit, string $outcome = ''): array
    {
        global $wpdb;
        $where = 'o.agendamento_id = %s AND o.row_id > %d';
        $args = [$agendamentoId, $afterRowId];
        if ($outcome !== '') {
            $where .= ' AND o.outcome = %s';
            $args[] = $outcome;
        }
        $args[] = $limit;
        $rows = $wpdb->get_results($wpdb->prepare(
            'SELECT o.row_id, o.outcome, o.reason, o.delivery_status, o.delivery_at, o.delivery_reason,'
            . ' o.updated_at, r.telefone FROM ' . self::table() . ' o LEFT JOIN ' . Schema::table()
            . " r ON r.id = o.row_id WHERE {$where} ORDER BY o.row_id ASC LIMIT %d",
            ...$args
        ), ARRAY_A);
        return is_array($rows) ? array_values($rows) : [];
    }

    /** @return array<string, mixed>|null one row's outcome */
    public static function ofRow(int $rowId): ?array
    {
        global $wpdb;
        $row = $wpdb->get_row($wpdb->prepare(
            'SELECT row_id, agendamento_id, outcome, reason, delivery_status, delivery_at, delivery_reason,'
            . ' updated_at FROM ' . self::table() . ' WHERE row_id = %d',
            $rowId
        ), ARRAY_A);
        return is_array($row) ? $row : null;
    }
}

<?php

declare(strict_types=1);

namespace Disparo\Connector;

/**
 * Which WordPress row a message of disparo is. Gen C data (ours) sends each row's `id`, which
 * disparo keeps and returns as `row_id`. A Gen B data route sends none: then the message's
 * `row_index` (its place in the data WordPress served, ordered by id) is matched with the
 * agendamento's rows by id order. That holds while the agendamento's rows are the ones that
 * were served: a row added, deleted, or left out of the data (another status) shifts the
 * match. Known matches are kept in RowOutcomes.row_index for the later deliveries passes.
 */
final class RowIds
{
    /**
     * `$items` with `row_id` set; a message no row can be found for is left out.
     * `$cursor` carries the last (row_index, row id) matched, so a rows pass through a Gen B
     * campaign reads the ids by keyset, not by OFFSET.
     *
     * @param list<array<string, mixed>> $items
     * @param array<string, mixed> $cursor
     * @return list<array<string, mixed>>
     */
    public static function resolve(string $agendamentoId, array $items, array &$cursor): array
    {
        $missing = [];
        foreach ($items as $at => $item) {
            if (!isset($item['row_id']) || (int) $item['row_id'] <= 0) {
                $missing[$at] = (int) ($item['row_index'] ?? -1);
            }
        }
        if ($missing === []) {
            return $items;
        }
        $known = self::stored($agendamentoId, array_values($missing));
        $unknown = array_filter($missing, static fn (int $index): bool => !isset($known[$index]));
        if ($unknown !== []) {
            $known += self::byPosition($agendamentoId, $unknown, $cursor);
        }
        foreach ($missing as $at => $index) {
            if (isset($known[$index])) {
                $items[$at]['row_id'] = $known[$index];
            } else {
                unset($items[$at]);
            }
        }
        return array_values($items);
    }

    /**
     * @param list<int> $indexes
     * @return array<int, int> row_index => row id, from outcomes stored before
     */
    private static function stored(string $agendamentoId, array $indexes): array
    {
        global $wpdb;
        $list = implode(', ', array_map('intval', $indexes));
        $rows = $wpdb->get_results($wpdb->prepare(
            'SELECT row_index, row_id FROM ' . RowOutcomes::table()
            . " WHERE agendamento_id = %s AND row_index IN ({$list})",
            $agendamentoId
        ), ARRAY_A);
        $found = [];
        foreach (is_array($rows) ? $rows : [] as $row) {
            $found[(int) $row['row_index']] = (int) $row['row_id'];
        }
        return $found;
    }

    /**
     * @param array<int, int> $missing item position => row_index, ascending
     * @param array<string, mixed> $cursor
     * @return array<int, int> row_index => row id, by the rows' id order
     */
    private static function byPosition(string $agendamentoId, array $missing, array &$cursor): array
    {
        global $wpdb;
        $first = min($missing);
        $last = max($missing);
        if ($first < 0) {
            return [];
        }
        $table = Schema::table();
        $count = $last - $first + 1;
        if ($count > 2 * count($missing) + 10) {
            return []; // scattered rows (a deliveries pass): not matched by position
        }
        if ((int) $cursor['index'] === $first - 1 && (int) $cursor['row_id'] > 0) {
            $ids = $wpdb->get_col($wpdb->prepare(
                "SELECT id FROM {$table} WHERE agendamento_id = %s AND id > %d ORDER BY id LIMIT %d",
                $agendamentoId,
                (int) $cursor['row_id'],
                $count
            ));
        } else {
            $ids = $wpdb->get_col($wpdb->prepare(
                "SELECT id FROM {$table} WHERE agendamento_id = %s ORDER BY id LIMIT %d OFFSET %d",
                $agendamentoId,
                $count,
                $first
            ));
        }
        $found = [];
        foreach (is_array($ids) ? $ids : [] as $offset => $id) {
            $found[$first + $offset] = (int) $id;
        }
        if (isset($found[$last])) {
            $cursor['index'] = $last;
            $cursor['row_id'] = $found[$last];
        }
        return $found;
    }
}

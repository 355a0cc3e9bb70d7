<?php

declare(strict_types=1);

namespace Disparo\Connector;

use WP_Error;

/**
 * Pulls each row's outcome from disparo (`GET /campaigns/{id}/messages`, keyset pages of up to
 * 1,000) into RowOutcomes, from WP-Cron, within a time budget per run: a run that has more to
 * pull saves its cursor and schedules the next run, so a campaign of a million rows never
 * holds one PHP request past its time limit, and a failure resumes where it stopped.
 *
 * Two kinds of pass: `rows` reads every message once a webhook says the campaign moved on
 * (sent, failed...); `deliveries` then comes back every hour for a few days for the delivery
 * receipts disparo recorded since the previous pass (`delivery_since`, its own clock).
 */
final class OutcomeSync
{
    public const HOOK = 'disparo_connector_sync_outcomes';
    public const ROWS = 'rows';
    public const DELIVERIES = 'deliveries';
    public const DONE = 'done';
    public const FAILED = 'failed';
    public const DEFAULT_BUDGET = 20.0;
    public const DEFAULT_PAGE = 1000;
    public const DEFAULT_INTERVAL = 3600;
    public const DEFAULT_WATCH = 3 * DAY_IN_SECONDS;
    /** A receipt committed late may carry an earlier time: each pass starts this far back. */
    public const OVERLAP = 300;
    private const TIMEOUT = 10;
    private const RETRY_DELAY = 60;
    private const MAX_ERRORS = 30;
    private const LOCK_TTL = 300;

    public static function table(): string
    {
        global $wpdb;
        return $wpdb->prefix . 'disparo_row_sync';
    }

    public static function createSql(string $charset): string
    {
        $table = self::table();
        return "CREATE TABLE {$table} (
  agendamento_id varchar(100) NOT NULL,
  phase varchar(12) NOT NULL,
  cursor_state longtext NOT NULL,
  rows_pulled bigint(20) unsigned NOT NULL DEFAULT 0,
  rows_wanted tinyint(1) NOT NULL DEFAULT 0,
  errors int(11) NOT NULL DEFAULT 0,
  last_error text,
  last_run text,
  updated_at datetime NOT NULL,
  PRIMARY KEY  (agendamento_id),
  KEY updated_at (updated_at)
) {$charset};";
    }

    public static function register(): void
    {
        add_action(self::HOOK, [self::class, 'run']);
        add_filter('rest_post_dispatch', [self::class, 'afterWebhook'], 10, 3);
        // For the panel (or any plugin): apply_filters('disparo_connector_row_outcome', null, $rowId).
        add_filter(
            'disparo_connector_row_outcome',
            static fn (mixed $default, mixed $rowId): mixed => RowOutcomes::ofRow((int) $rowId) ?? $default,
            10,
            2
        );
    }

    /**
     * After the status webhook (ours or the panel's: the route is the same) answered 200: a
     * campaign whose rows it moved past pending gets a rows pass. A bulk webhook answers 200
     * even for items it refused, so an agendamento this site has no rows of gets none (it
     * would only fetch 404s from disparo).
     */
    public static function afterWebhook(mixed $response, mixed $server, mixed $request): mixed
    {
        if (
            !$request instanceof \WP_REST_Request || $request->get_route() !== '/webhook-status/v1/update'
            || !$response instanceof \WP_REST_Response || $response->get_status() !== 200
        ) {
            return $response;
        }
        $body = json_decode($request->get_body(), true);
        $updates = is_array($body) && !empty($body['bulk']) ? ($body['updates'] ?? []) : [$body];
        foreach (is_array($updates) ? $updates : [] as $update) {
            $status = is_array($update) ? (string) ($update['status'] ?? '') : '';
            $agendamentoId = is_array($update) ? sanitize_text_field((string) ($update['agendamento_id'] ?? '')) : '';
            $moved = $status !== '' && StatusMap::rowStatus($status) !== Rows::PENDING;
            if ($agendamentoId !== '' && $moved && Rows::countAll($agendamentoId) > 0) {
                self::schedule($agendamentoId);
            }
        }
        return $response;
    }

    /**
     * A rows pass for the campaign, soon. Only a flag is set here (the webhook's request must
     * not race a run that is writing the state): the next run turns it into the pass.
     */
    public static function schedule(string $agendamentoId): void
    {
        global $wpdb;
        $wpdb->query($wpdb->prepare(
            'INSERT INTO ' . self::table() . ' (agendamento_id, phase, cursor_state, rows_wanted, updated_at)'
            . " VALUES (%s, %s, '{}', 1, %s) ON DUPLICATE KEY UPDATE rows_wanted = 1",
            $agendamentoId,
            self::ROWS,
            current_time('mysql', true)
        ));
        self::wake($agendamentoId, time());
    }

    /**
     * The state a wanted rows pass starts from. After a finished pass, it starts at the first
     * row that was still pending then (rows before it had their final outcome), or from the
     * start when none was; a pass under way goes back to its own first pending row.
     *
     * @param array<string, mixed> $state
     * @return array<string, mixed>
     */
    private static function startRowsPass(array $state): array
    {
        $old = $state['cursor'];
        if ($state['phase'] === self::ROWS) {
            if (isset($old['pending_from'])) {
                $state['cursor'] = $old['pending_from'] + self::startCursor();
                $state['cursor']['pass_as_of'] = $old['pass_as_of'];
                $state['cursor']['deliveries_from'] = $old['deliveries_from'] ?? '';
            }
            return $state;
        }
        $resume = $old['resume'] ?? null;
        $state['phase'] = self::ROWS;
        $state['cursor'] = (is_array($resume) ? $resume : []) + self::startCursor();
        // Receipts of rows before the resume point still come in: the deliveries pass after
        // this one starts where the interrupted one was.
        $state['cursor']['deliveries_from'] = (string) ($old['delivery_since'] ?? '');
        $state['errors'] = 0;
        return $state;
    }

    /** WP-Cron callback: pulls pages until the campaign's pass ends or the budget is spent. */
    public static function run(string $agendamentoId): void
    {
        if (!self::lock($agendamentoId)) {
            return; // another run holds it; it reschedules what is left
        }
        try {
            self::runLocked($agendamentoId);
        } finally {
            delete_option(self::lockName($agendamentoId));
        }
    }

    private static function runLocked(string $agendamentoId): void
    {
        $state = self::load($agendamentoId);
        if ($state !== null && $state['rows_wanted']) {
            self::setRowsWanted($agendamentoId, false);
            $state = self::startRowsPass($state);
        }
        if ($state === null || !in_array($state['phase'], [self::ROWS, self::DELIVERIES], true)) {
            return;
        }
        self::pull($agendamentoId, $state);
        if (self::load($agendamentoId)['rows_wanted'] ?? false) {
            self::wake($agendamentoId, time()); // a webhook came in while this run pulled
        }
    }

    /** @param array<string, mixed> $state */
    private static function pull(string $agendamentoId, array $state): void
    {
        $started = microtime(true);
        $deadline = $started + self::budget();
        $pulled = 0;
        $pages = 0;
        $fetching = 0.0;
        do {
            $asked = microtime(true);
            $page = self::fetch($agendamentoId, $state, $deadline);
            $fetching += microtime(true) - $asked;
            if ($page instanceof WP_Error) {
                self::failedRun($agendamentoId, $state, $page);
                return;
            }
            $stored = self::apply($agendamentoId, $state, $page);
            if ($stored instanceof WP_Error) {
                self::failedRun($agendamentoId, $state, $stored);
                return;
            }
            $pulled += $stored;
            $pages++;
            $more = isset($page['next_after']) && $page['next_after'] !== null;
        } while ($more && microtime(true) < $deadline);
        $state['errors'] = 0;
        $state['last_error'] = null;
        $state['last_run'] = [
            'rows' => $pulled,
            'pages' => $pages,
            'seconds' => round(microtime(true) - $started, 3),
            'fetch_seconds' => round($fetching, 3),
            'peak_memory' => memory_get_peak_usage(true),
            'at' => time(),
        ];
        if ($more) {
            self::save($agendamentoId, $state);
            self::wake($agendamentoId, time());
            return;
        }
        self::finishPass($agendamentoId, $state);
    }

    /**
     * @param array<string, mixed> $state
     * @return array<string, mixed>|WP_Error
     */
    private static function fetch(string $agendamentoId, array $state, float $deadline): array|WP_Error
    {
        $cursor = $state['cursor'];
        $query = ['after' => (int) $cursor['after'], 'limit' => self::pageSize()];
        if ($state['phase'] === self::DELIVERIES) {
            $query['delivery_since'] = (string) $cursor['delivery_since'];
        }
        if (Options::serviceUrl() === '') {
            return new WP_Error('not_configured', 'URL do disparo não configurada.');
        }
        $url = Options::serviceUrl() . '/campaigns/' . rawurlencode($agendamentoId) . '/messages?'
            . http_build_query($query);
        // A page that hangs must not hold the run much past its budget either.
        $timeout = max(2.0, min(self::TIMEOUT, $deadline + 5 - microtime(true)));
        $response = wp_remote_get($url, Tls::requestArgs() + [
            'timeout' => $timeout,
            'headers' => ['X-API-KEY' => Options::serviceKey(), 'Accept' => 'application/json'],
        ]);
        if (is_wp_error($response)) {
            return $response;
        }
        $status = (int) wp_remote_retrieve_response_code($response);
        $body = json_decode((string) wp_remote_retrieve_body($response), true);
        if ($status !== 200 || !is_array($body) || !is_array($body['items'] ?? null)) {
            $detail = is_array($body) && is_string($body['message'] ?? null) ? $body['message'] : '';
            return new WP_Error('disparo_error', trim("disparo respondeu {$status} {$detail}"));
        }
        return $body;
    }

    /**
     * Stores one page and moves the cursor past it.
     *
     * @param array<string, mixed> $state
     * @param array<string, mixed> $page
     */
    private static function apply(string $agendamentoId, array &$state, array $page): int|WP_Error
    {
        $items = RowIds::resolve($agendamentoId, $page['items'], $state['cursor']);
        if ($state['phase'] === self::ROWS) {
            self::rememberFirstPending($state, $page['items']);
        }
        if (RowOutcomes::store($agendamentoId, $items) === false) {
            global $wpdb;
            return new WP_Error('database_error', 'Erro ao gravar os resultados: ' . $wpdb->last_error);
        }
        $cursor = &$state['cursor'];
        if ($cursor['pass_as_of'] === '' && is_string($page['as_of'] ?? null)) {
            $cursor['pass_as_of'] = $page['as_of'];
        }
        if (($page['next_after'] ?? null) !== null) {
            $cursor['after'] = (int) $page['next_after'];
            if ($state['phase'] === self::DELIVERIES) {
                $cursor['delivery_since'] = (string) $page['next_delivery_since'];
            }
        }
        $state['rows_pulled'] = (int) $state['rows_pulled'] + count($page['items']);
        return count($items);
    }

    /**
     * Where the next rows pass starts: just before the first message still pending in this one.
     *
     * @param array<string, mixed> $state
     * @param list<array<string, mixed>> $items
     */
    private static function rememberFirstPending(array &$state, array $items): void
    {
        $cursor = &$state['cursor'];
        if (isset($cursor['pending_from'])) {
            return;
        }
        $previous = (int) $cursor['after'];
        foreach ($items as $item) {
            if (RowOutcomes::outcomeOf((string) ($item['status'] ?? '')) === RowOutcomes::PENDING) {
                $cursor['pending_from'] = ['after' => $previous];
                return;
            }
            $previous = (int) ($item['id'] ?? $previous);
        }
    }

    /** @param array<string, mixed> $state */
    private static function finishPass(string $agendamentoId, array $state): void
    {
        $cursor = $state['cursor'];
        $asOf = strtotime((string) $cursor['pass_as_of']);
        $since = gmdate('Y-m-d\TH:i:s\Z', ($asOf === false ? time() : $asOf) - self::OVERLAP);
        if ($state['phase'] === self::ROWS) {
            $state['watch_until'] = time() + self::watch();
            $resume = $cursor['pending_from'] ?? null;
            $since = (string) ($cursor['deliveries_from'] ?? '') !== '' ? $cursor['deliveries_from'] : $since;
        } else {
            $resume = $cursor['resume'] ?? null;
        }
        $state['cursor'] = self::startCursor() + ['resume' => $resume];
        $state['cursor']['delivery_since'] = $since;
        if (time() >= (int) ($state['watch_until'] ?? 0)) {
            $state['phase'] = self::DONE;
            self::save($agendamentoId, $state);
            return;
        }
        $state['phase'] = self::DELIVERIES;
        self::save($agendamentoId, $state);
        self::wake($agendamentoId, time() + self::interval());
    }

    /** @param array<string, mixed> $state */
    private static function failedRun(string $agendamentoId, array $state, WP_Error $error): void
    {
        $state['errors'] = (int) ($state['errors'] ?? 0) + 1;
        $state['last_error'] = mb_substr($error->get_error_message(), 0, 1000);
        if ($state['errors'] >= self::MAX_ERRORS) {
            $state['phase'] = self::FAILED; // an admin sees it; the next webhook starts again
            self::save($agendamentoId, $state);
            return;
        }
        self::save($agendamentoId, $state);
        self::wake($agendamentoId, time() + self::RETRY_DELAY);
    }

    /** @return array<string, mixed> */
    private static function startCursor(): array
    {
        return ['after' => 0, 'delivery_since' => '', 'pass_as_of' => '', 'index' => -1, 'row_id' => 0];
    }

    /** The next run at `$when`, unless one is already due by then. */
    private static function wake(string $agendamentoId, int $when): void
    {
        $next = wp_next_scheduled(self::HOOK, [$agendamentoId]);
        if ($next !== false && $next <= $when) {
            return;
        }
        if ($next !== false) {
            wp_unschedule_event($next, self::HOOK, [$agendamentoId]);
        }
        wp_schedule_single_event($when, self::HOOK, [$agendamentoId]);
    }

    /** @return array<string, mixed>|null */
    public static function load(string $agendamentoId): ?array
    {
        global $wpdb;
        $row = $wpdb->get_row($wpdb->prepare(
            'SELECT * FROM ' . self::table() . ' WHERE agendamento_id = %s',
            $agendamentoId
        ), ARRAY_A);
        if (!is_array($row)) {
            return null;
        }
        $stored = json_decode((string) $row['cursor_state'], true);
        $stored = is_array($stored) ? $stored : [];
        return [
            'phase' => (string) $row['phase'],
            'cursor' => (is_array($stored['cursor'] ?? null) ? $stored['cursor'] : []) + self::startCursor(),
            'watch_until' => (int) ($stored['watch_until'] ?? 0),
            'rows_pulled' => (int) $row['rows_pulled'],
            'rows_wanted' => (bool) $row['rows_wanted'],
            'errors' => (int) $row['errors'],
            'last_error' => (string) $row['last_error'] === '' ? null : (string) $row['last_error'],
            'last_run' => json_decode((string) $row['last_run'], true),
            'updated_at' => (string) $row['updated_at'],
        ];
    }

    /**
     * Writes the state, all but the rows_wanted flag (schedule's, set by a webhook meanwhile).
     *
     * @param array<string, mixed> $state
     */
    private static function save(string $agendamentoId, array $state): void
    {
        global $wpdb;
        $cursorState = (string) wp_json_encode([
            'cursor' => $state['cursor'],
            'watch_until' => $state['watch_until'] ?? 0,
        ]);
        $wpdb->query($wpdb->prepare(
            'INSERT INTO ' . self::table() . ' (agendamento_id, phase, cursor_state, rows_pulled, errors,'
            . ' last_error, last_run, updated_at) VALUES (%s, %s, %s, %d, %d, %s, %s, %s)'
            . ' ON DUPLICATE KEY UPDATE phase = VALUES(phase), cursor_state = VALUES(cursor_state),'
            . ' rows_pulled = VALUES(rows_pulled), errors = VALUES(errors), last_error = VALUES(last_error),'
            . ' last_run = VALUES(last_run), updated_at = VALUES(updated_at)',
            $agendamentoId,
            $state['phase'],
            $cursorState,
            (int) ($state['rows_pulled'] ?? 0),
            (int) ($state['errors'] ?? 0),
            (string) ($state['last_error'] ?? ''), // '' is none (prepare cannot write NULL)
            (string) wp_json_encode($state['last_run'] ?? null),
            current_time('mysql', true)
        ));
    }

    private static function setRowsWanted(string $agendamentoId, bool $wanted): void
    {
        global $wpdb;
        $wpdb->update(self::table(), ['rows_wanted' => $wanted ? 1 : 0], ['agendamento_id' => $agendamentoId]);
    }

    /** @return list<array<string, mixed>> the campaigns synced most recently */
    public static function recent(int $limit = 50): array
    {
        global $wpdb;
        $rows = $wpdb->get_results($wpdb->prepare(
            'SELECT agendamento_id FROM ' . self::table() . ' ORDER BY updated_at DESC LIMIT %d',
            $limit
        ), ARRAY_A);
        $found = [];
        foreach (is_array($rows) ? $rows : [] as $row) {
            $state = self::load((string) $row['agendamento_id']);
            if ($state !== null) {
                $found[] = ['agendamento_id' => (string) $row['agendamento_id']] + $state;
            }
        }
        return $found;
    }

    /**
     * Seconds of pulling per run: the filter's (20 s by default), and at most half of PHP's
     * own time limit when one is set (often 30 s under a web server).
     */
    private static function budget(): float
    {
        $budget = max(0.0, (float) apply_filters('disparo_connector_sync_budget', self::DEFAULT_BUDGET));
        $limit = (int) ini_get('max_execution_time');
        return $limit > 0 ? min($budget, $limit / 2) : $budget;
    }

    private static function pageSize(): int
    {
        $size = (int) apply_filters('disparo_connector_sync_page_size', self::DEFAULT_PAGE);
        return min(1000, max(1, $size));
    }

    private static function interval(): int
    {
        return max(60, (int) apply_filters('disparo_connector_sync_interval', self::DEFAULT_INTERVAL));
    }

    private static function watch(): int
    {
        return max(0, (int) apply_filters('disparo_connector_sync_watch', self::DEFAULT_WATCH));
    }

    /** add_option is an INSERT on a unique name: one run per campaign at a time. */
    private static function lock(string $agendamentoId): bool
    {
        $name = self::lockName($agendamentoId);
        if (add_option($name, (string) time(), '', false)) {
            return true;
        }
        $since = (int) get_option($name, '0');
        if ($since > 0 && time() - $since > self::LOCK_TTL) {
            delete_option($name); // its run died (a fatal error, a killed request)
            return add_option($name, (string) time(), '', false);
        }
        return false;
    }

    private static function lockName(string $agendamentoId): string
    {
        return 'disparo_connector_sync_lock_' . md5($agendamentoId);
    }
}

<?php

declare(strict_types=1);

namespace Disparo\Connector\Tests\Integration;

use Disparo\Connector\Admin\CampaignsPage;
use Disparo\Connector\OutcomeSync;
use Disparo\Connector\RowOutcomes;
use Disparo\Connector\Schema;
use Disparo\Connector\Tests\Support\SiteTestCase;

/**
 * Each row's own outcome pulled from disparo's message pages (the fake disparo serves them):
 * scheduled by the status webhook, written per row into RowOutcomes, within a time budget
 * per WP-Cron run and resumed after a failure; later receipts picked up by a deliveries pass.
 */
final class OutcomeSyncTest extends SiteTestCase
{
    private const ID = 'C20250115093000';

    protected function setUp(): void
    {
        parent::setUp();
        global $wpdb;
        foreach ([RowOutcomes::table(), OutcomeSync::table()] as $table) {
            $wpdb->query('TRUNCATE TABLE ' . $table);
        }
        $wpdb->query("DELETE FROM {$wpdb->options} WHERE option_name LIKE 'disparo_connector_sync_lock_%'");
        wp_clear_scheduled_hook(OutcomeSync::HOOK, [self::ID]);
        $dir = (string) getenv('FAKE_DISPARO_DIR');
        @unlink($dir . '/messages.json');
        @unlink($dir . '/failed-once');
        $this->useFakeDisparo();
    }

    protected function tearDown(): void
    {
        remove_all_filters('disparo_connector_sync_budget');
        remove_all_filters('disparo_connector_sync_page_size');
        @unlink((string) getenv('FAKE_DISPARO_DIR') . '/messages.json');
        parent::tearDown();
    }

    /** @param array<string, mixed> $spec */
    private function serveMessages(array $spec): void
    {
        file_put_contents((string) getenv('FAKE_DISPARO_DIR') . '/messages.json', (string) wp_json_encode($spec));
    }

    /** @return list<int> the agendamento's row ids, in order */
    private function rowIds(): array
    {
        global $wpdb;
        return array_map('intval', $wpdb->get_col($wpdb->prepare(
            'SELECT id FROM ' . Schema::table() . ' WHERE agendamento_id = %s ORDER BY id',
            self::ID
        )));
    }

    /** @return array<int, array<string, mixed>> row id => stored outcome */
    private function outcomes(): array
    {
        $found = [];
        foreach (RowOutcomes::page(self::ID, 0, 1000) as $row) {
            $found[(int) $row['row_id']] = $row;
        }
        return $found;
    }

    /** @return array<string, mixed> */
    private function message(int $id, ?int $rowId, string $status, array $extra = []): array
    {
        return $extra + [
            'id' => $id, 'row_index' => $id - 1, 'row_id' => $rowId, 'phone' => '5511900000000',
            'status' => $status, 'error' => null, 'skip_reason' => null, 'delivery_status' => null,
            'delivery_at' => null, 'delivery_reason' => null, 'delivery_recorded_at' => null,
        ];
    }

    /** @return list<array<string, mixed>> a mix: sent, skipped (invalid, opted out), failed, unknown */
    private function mixedMessages(bool $withRowIds = true): array
    {
        $ids = $this->rowIds();
        $row = static fn (int $n): ?int => $withRowIds ? $ids[$n] : null;
        return [
            $this->message(1, $row(0), 'SENT'),
            $this->message(2, $row(1), 'SKIPPED', ['skip_reason' => "telefone inválido: '12'"]),
            $this->message(3, $row(2), 'SKIPPED', ['skip_reason' => 'descadastrado (opt-out)']),
            $this->message(4, $row(3), 'FAILED', ['error' => 'Número rejeitado pelo fornecedor']),
            $this->message(5, $row(4), 'UNKNOWN', ['error' => 'tempo esgotado após o envio']),
            $this->message(6, $row(5), 'SENT'),
        ];
    }

    private function sync(): void
    {
        OutcomeSync::run(self::ID);
    }

    public function testTheEnviadoWebhookSchedulesThePullAndEachRowGetsItsOwnOutcome(): void
    {
        $this->seed(self::ID, 6, ['status' => 'pendente']);
        $this->serveMessages(['items' => $this->mixedMessages()]);

        $processing = $this->postWebhook(['agendamento_id' => self::ID, 'status' => 'processando']);
        $this->assertSame(200, $processing['status']);
        wp_cache_flush();
        $this->assertFalse(wp_next_scheduled(OutcomeSync::HOOK, [self::ID]), 'nothing to pull yet');
        $sent = $this->postWebhook([
            'agendamento_id' => self::ID,
            'status' => 'enviado',
            'resposta_api' => '2 enviadas, 1 com falha, 2 ignoradas',
        ]);
        // The single-status webhook is answered and applied as it always was.
        $this->assertSame(200, $sent['status']);
        $this->assertSame(6, $sent['body']['records_updated']);
        $this->assertSame(array_fill(0, 6, 'enviado'), $this->rowStatuses(self::ID));
        wp_cache_flush(); // the site's request scheduled it: this process's option cache is stale
        $this->assertNotFalse(wp_next_scheduled(OutcomeSync::HOOK, [self::ID]));

        $this->sync();

        $ids = $this->rowIds();
        $stored = $this->outcomes();
        $this->assertSame(
            ['sent', 'skipped', 'skipped', 'failed', 'unknown', 'sent'],
            array_map(static fn (int $id): string => $stored[$id]['outcome'], $ids)
        );
        $this->assertSame("telefone inválido: '12'", $stored[$ids[1]]['reason']);
        $this->assertSame('descadastrado (opt-out)', $stored[$ids[2]]['reason']);
        $this->assertSame('Número rejeitado pelo fornecedor', $stored[$ids[3]]['reason']);
        $this->assertNull($stored[$ids[0]]['reason']);
        $expected = ['sent' => 2, 'skipped' => 2, 'failed' => 1, 'unknown' => 1];
        $this->assertEquals($expected, RowOutcomes::counts(self::ID));
        $this->assertSame(OutcomeSync::DELIVERIES, OutcomeSync::load(self::ID)['phase']);
        $request = $this->disparoRequests()[0];
        $this->assertSame('/campaigns/' . self::ID . '/messages?after=0&limit=1000', $request['path']);
        $this->assertSame(self::MASTER_KEY, $request['headers']['x-api-key']);
        // The panel's rows keep the single status its webhook wrote.
        $this->assertSame(array_fill(0, 6, 'enviado'), $this->rowStatuses(self::ID));
        $this->assertSame(['row_id' => (string) $ids[3], 'outcome' => 'failed'], array_intersect_key(
            (array) apply_filters('disparo_connector_row_outcome', null, $ids[3]),
            ['row_id' => 1, 'outcome' => 1]
        ));
    }

    public function testAMillionRowCampaignIsPulledInRunsThatKeepToTheBudgetAndResumeAfterAFailure(): void
    {
        // The same code path as a million rows, small: 5,000 rows, pages of 250, a 0.02 s budget.
        $this->serveMessages(['generate' => ['count' => 5000, 'first_row_id' => 1_000_001], 'fail_at_after' => 2500]);
        add_filter('disparo_connector_sync_page_size', static fn (): int => 250);
        add_filter('disparo_connector_sync_budget', static fn (): float => 0.02);
        OutcomeSync::schedule(self::ID);

        $runs = [];
        for ($i = 0; $i < 100 && OutcomeSync::load(self::ID)['phase'] === OutcomeSync::ROWS; $i++) {
            $this->sync();
            $runs[] = OutcomeSync::load(self::ID);
        }

        $this->assertSame(OutcomeSync::DELIVERIES, OutcomeSync::load(self::ID)['phase']);
        $this->assertGreaterThan(5, count($runs), 'the pull took several runs');
        $failed = array_values(array_filter($runs, static fn (array $run): bool => $run['last_error'] !== null));
        $this->assertCount(1, $failed);
        $this->assertStringContainsString('503', (string) $failed[0]['last_error']);
        foreach ($runs as $run) {
            // A run stops at the first page past its budget.
            $this->assertLessThan(2.0, (float) ($run['last_run']['seconds'] ?? 0));
        }
        $counts = RowOutcomes::counts(self::ID);
        $this->assertSame(5000, array_sum($counts));
        $this->assertEquals(['failed' => 500, 'sent' => 3500, 'skipped' => 500, 'unknown' => 500], $counts);
        $stored = RowOutcomes::ofRow(1_000_001 + 6);
        $this->assertSame(['skipped', "telefone inválido: '12'"], [$stored['outcome'], $stored['reason']]);
        // Every page was asked for once (the last one empty), and the failed one once more.
        $afters = array_map(
            static fn (array $r): int => (int) preg_replace('/.*after=(\d+).*/', '$1', $r['path']),
            $this->disparoRequests()
        );
        sort($afters);
        $expected = array_merge(range(0, 5000, 250), [2500]);
        sort($expected);
        $this->assertSame($expected, $afters);
    }

    public function testADeliveriesPassPicksUpTheReceiptsDisparoRecordedSinceTheRowsPass(): void
    {
        $this->seed(self::ID, 6, ['status' => 'enviado']);
        $messages = $this->mixedMessages();
        $this->serveMessages(['items' => $messages]);
        OutcomeSync::schedule(self::ID);
        $this->sync();
        $asOf = strtotime((string) json_decode(
            (string) wp_remote_retrieve_body(wp_remote_get((string) getenv('FAKE_DISPARO_URL')
                . '/campaigns/' . self::ID . '/messages')),
            true
        )['as_of']);
        $this->assertNotFalse(wp_next_scheduled(OutcomeSync::HOOK, [self::ID]), 'a deliveries pass is due later');

        $recorded = gmdate('Y-m-d\TH:i:s\Z', $asOf + 1);
        $messages[0]['delivery_status'] = 'READ';
        $messages[0]['delivery_at'] = '2025-01-15T13:00:00Z';
        $messages[0]['delivery_recorded_at'] = $recorded;
        $messages[5]['delivery_status'] = 'FAILED';
        $messages[5]['delivery_reason'] = 'aparelho desligado';
        $messages[5]['delivery_recorded_at'] = $recorded;
        $this->serveMessages(['items' => $messages]);
        $this->sync();

        $ids = $this->rowIds();
        $stored = $this->outcomes();
        $read = $stored[$ids[0]];
        $failed = $stored[$ids[5]];
        $this->assertSame(['READ', '2025-01-15 13:00:00'], [$read['delivery_status'], $read['delivery_at']]);
        $this->assertSame(['FAILED', 'aparelho desligado'], [$failed['delivery_status'], $failed['delivery_reason']]);
        $this->assertSame('sent', $stored[$ids[5]]['outcome'], 'the send outcome stays; the receipt is beside it');
        $last = $this->disparoRequests();
        $query = [];
        parse_str((string) parse_url((string) end($last)['path'], PHP_URL_QUERY), $query);
        $since = strtotime((string) $query['delivery_since']);
        // The pass starts a margin before the rows pass's first page (a late commit is not lost).
        $this->assertLessThanOrEqual($asOf - OutcomeSync::OVERLAP + 1, $since);
        $this->assertGreaterThan($asOf - OutcomeSync::OVERLAP - 60, $since);
        $this->assertEquals(['READ' => 1, 'FAILED' => 1], RowOutcomes::deliveryCounts(self::ID));
    }

    public function testALaterWebhookPullsAgainFromTheFirstRowThatWasStillPending(): void
    {
        // A throttled campaign: its second batch (rows 4-6) not sent at the first webhook.
        $this->seed(self::ID, 6, ['status' => 'enviado']);
        $messages = $this->mixedMessages();
        foreach ([3, 4, 5] as $at) {
            $messages[$at] = ['status' => 'PENDING', 'error' => null] + $messages[$at];
        }
        $this->serveMessages(['items' => $messages]);
        OutcomeSync::schedule(self::ID);
        $this->sync();
        $this->assertSame(3, RowOutcomes::counts(self::ID)['pending']);

        // The second batch's webhook arrives while a deliveries pass is pulling.
        $messages = $this->mixedMessages();
        $this->serveMessages(['items' => $messages]);
        $webhookMeanwhile = static function (int $size): int {
            static $once = false;
            if (!$once) {
                $once = true;
                OutcomeSync::schedule(self::ID);
            }
            return $size;
        };
        add_filter('disparo_connector_sync_page_size', $webhookMeanwhile);
        $this->sync();
        $this->assertTrue(OutcomeSync::load(self::ID)['rows_wanted'], 'the deliveries run kept the request');
        $this->assertLessThanOrEqual(time(), wp_next_scheduled(OutcomeSync::HOOK, [self::ID]));
        $this->sync();

        $this->assertEquals(
            ['sent' => 2, 'skipped' => 2, 'failed' => 1, 'unknown' => 1],
            RowOutcomes::counts(self::ID)
        );
        $paths = array_column($this->disparoRequests(), 'path');
        // The new rows pass started after row 3: rows before it were final.
        $this->assertStringContainsString('after=3&', (string) end($paths));
        $this->assertSame(OutcomeSync::DELIVERIES, OutcomeSync::load(self::ID)['phase']);
    }

    public function testGenBMessagesWithoutARowIdAreMatchedToTheRowsByTheirPlace(): void
    {
        $this->seed('C20250115100000', 2, ['status' => 'enviado']); // another campaign's rows between
        $this->seed(self::ID, 6, ['status' => 'enviado']);
        $this->serveMessages(['items' => $this->mixedMessages(false)]);
        add_filter('disparo_connector_sync_page_size', static fn (): int => 4);
        OutcomeSync::schedule(self::ID);
        $this->sync();

        $ids = $this->rowIds();
        $stored = $this->outcomes();
        $this->assertSame($ids, array_keys($stored));
        $this->assertSame('failed', $stored[$ids[3]]['outcome']);
        $this->assertSame('descadastrado (opt-out)', $stored[$ids[2]]['reason']);
    }

    public function testTheCampaignsPageShowsTheCountsAndEachRowsOutcome(): void
    {
        $this->seed(self::ID, 6, ['status' => 'enviado']);
        $this->serveMessages(['items' => $this->mixedMessages()]);
        OutcomeSync::schedule(self::ID);
        $this->sync();
        wp_set_current_user((int) get_user_by('login', 'admin')->ID);

        $list = $this->render(static fn () => CampaignsPage::render());
        $this->assertMatchesRegularExpression(
            '#data-outcomes="' . self::ID . '">.*?data-outcome="sent">2<.*?data-outcome="skipped">2<'
            . '.*?data-outcome="failed">1<#s',
            $list
        );
        $_GET = ['page' => CampaignsPage::SLUG, 'results' => self::ID, 'outcome' => 'skipped'];
        try {
            $rows = $this->render(static fn () => CampaignsPage::render());
        } finally {
            $_GET = [];
        }
        $this->assertSame(2, substr_count($rows, 'data-outcome="skipped"'));
        $this->assertStringContainsString(esc_html("telefone inválido: '12'"), $rows);
        $this->assertStringNotContainsString('data-outcome="sent"', $rows);
    }

    public function testThePanelReadsTheOutcomesThroughTheRestRoute(): void
    {
        $this->seed(self::ID, 6, ['status' => 'enviado']);
        $this->serveMessages(['items' => $this->mixedMessages()]);
        OutcomeSync::schedule(self::ID);
        $this->sync();

        $refused = $this->http('GET', '/wp-json/disparo/v1/outcomes/' . self::ID);
        $page = $this->http(
            'GET',
            '/wp-json/disparo/v1/outcomes/' . self::ID . '?limit=4',
            ['X-API-KEY' => self::MASTER_KEY]
        );

        $this->assertSame(401, $refused['status']);
        $this->assertSame(200, $page['status']);
        $this->assertSame(2, $page['body']['counts']['skipped']);
        $this->assertCount(4, $page['body']['items']);
        $this->assertSame($this->rowIds()[3], $page['body']['next_after']);
    }

    private function render(callable $page): string
    {
        ob_start();
        $page();
        return (string) ob_get_clean();
    }
}

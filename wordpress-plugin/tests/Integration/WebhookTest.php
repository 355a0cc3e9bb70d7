<?php

declare(strict_types=1);

namespace Disparo\Connector\Tests\Integration;

use Disparo\Connector\Auth;
use Disparo\Connector\Options;
use Disparo\Connector\Schema;
use Disparo\Connector\WebhookLedger;
use Disparo\Connector\Tests\Support\SiteTestCase;

/** The status receiver over real HTTP (CONTRACTS 2.4) and its signature check. */
final class WebhookTest extends SiteTestCase
{
    private const ID = 'C20250115093000';

    /** @return array<string, array{0: string, 1: string}> */
    public static function statuses(): array
    {
        return [
            'processando' => ['processando', 'pendente'],
            'enviado' => ['enviado', 'enviado'],
            'erro_envio' => ['erro_envio', 'erro'],
            'erro_credenciais' => ['erro_credenciais', 'erro'],
            'erro_validacao' => ['erro_validacao', 'erro'],
            'iniciado' => ['iniciado', 'enviado'],
            'erro_inicio' => ['erro_inicio', 'erro'],
            'mkc_executado' => ['mkc_executado', 'enviado'],
            'mkc_erro' => ['mkc_erro', 'erro'],
            'unknown' => ['qualquer_coisa', 'erro'],
        ];
    }

    /** @dataProvider statuses */
    public function testEveryRowTakesTheMappedStatus(string $serviceStatus, string $rowStatus): void
    {
        $this->seed(self::ID, 2);
        $response = $this->postWebhook(['agendamento_id' => self::ID, 'status' => $serviceStatus]);
        $this->assertSame(200, $response['status']);
        $this->assertSame($rowStatus, $response['body']['status']);
        $this->assertSame([$rowStatus, $rowStatus], $this->rowStatuses(self::ID));
    }

    public function testTheResponseEchoesTotalsAndStoresProgressBeforeTheAnswer(): void
    {
        $this->seed(self::ID, 2);
        $response = $this->postWebhook([
            'agendamento_id' => self::ID,
            'status' => 'enviado',
            'resposta_api' => '{"id":4321}',
            'mensagem_progresso' => 'Processado: 100% (2 / 2 msgs)',
            'data_disparo' => '2025-01-15T12:31:05.120Z',
            'total_enviados' => 2,
            'total_falhas' => 0,
            'provider' => 'CDA',
        ]);
        $this->assertSame(true, $response['body']['success']);
        $this->assertSame('Status atualizado com sucesso', $response['body']['message']);
        $this->assertSame([2, 2, 0], [
            $response['body']['records_updated'],
            $response['body']['total_enviados'],
            $response['body']['total_falhas'],
        ]);
        $row = $this->row();
        $this->assertSame("Processado: 100% (2 / 2 msgs)\n\n{\"id\":4321}", $row['resposta_api']);
        $this->assertSame('2025-01-15 12:31:05', $row['data_disparo']);
    }

    public function testBadRequests(): void
    {
        $this->seed(self::ID, 1);
        $empty = $this->http('POST', '/wp-json/webhook-status/v1/update', [
            'X-API-KEY' => self::MASTER_KEY,
            'Content-Type' => 'application/json',
        ], '');
        $missing = $this->postWebhook(['agendamento_id' => self::ID]);
        $unknown = $this->postWebhook(['agendamento_id' => 'C29990101000000', 'status' => 'enviado']);
        $this->assertSame([400, 'Body vazio'], [$empty['status'], $empty['body']['message']]);
        $this->assertSame([400, 'agendamento_id e status são obrigatórios'], [
            $missing['status'],
            $missing['body']['message'],
        ]);
        $this->assertSame([404, 'agendamento_not_found'], [$unknown['status'], $unknown['body']['code']]);
        $this->assertSame(['pendente_aprovacao'], $this->rowStatuses(self::ID));
    }

    public function testALateProgressLineDoesNotReopenAFinishedCampaign(): void
    {
        $this->seed(self::ID, 2);
        $this->postWebhook(['agendamento_id' => self::ID, 'status' => 'enviado']);
        $late = $this->postWebhook(['agendamento_id' => self::ID, 'status' => 'processando']);
        $this->assertSame(200, $late['status']);
        $this->assertSame(0, $late['body']['records_updated']);
        $this->assertSame(['enviado', 'enviado'], $this->rowStatuses(self::ID));
    }

    public function testBulkUpdates(): void
    {
        $this->seed(self::ID, 1);
        $this->seed('N20250115093000', 1);
        $response = $this->postWebhook(['bulk' => true, 'updates' => [
            ['agendamento_id' => self::ID, 'status' => 'enviado'],
            ['agendamento_id' => 'N20250115093000', 'status' => 'erro_envio'],
            ['agendamento_id' => 'X1', 'status' => 'enviado'],
        ]]);
        $this->assertSame(200, $response['status']);
        $this->assertFalse($response['body']['success']);
        $this->assertSame([3, 1], [$response['body']['total_items'], $response['body']['total_errors']]);
        $this->assertSame(['enviado'], $this->rowStatuses(self::ID));
        $this->assertSame(['erro'], $this->rowStatuses('N20250115093000'));
    }

    public function testSignedWebhooksAreAcceptedWhenASecretIsSet(): void
    {
        update_option(Options::WEBHOOK_SECRET, 'segredo');
        $this->seed(self::ID, 1);
        $body = (string) wp_json_encode(['agendamento_id' => self::ID, 'status' => 'enviado']);
        $stamp = (string) time();
        $response = $this->signedPost($body, $stamp, Auth::sign('segredo', $stamp, $body));
        $this->assertSame(200, $response['status']);
        $this->assertSame(['enviado'], $this->rowStatuses(self::ID));
    }

    public function testBadStaleAndMissingSignaturesAreRefused(): void
    {
        update_option(Options::WEBHOOK_SECRET, 'segredo');
        $this->seed(self::ID, 1);
        $body = (string) wp_json_encode(['agendamento_id' => self::ID, 'status' => 'enviado']);
        $now = (string) time();
        $old = (string) (time() - 3600);
        $cases = [
            'invalid_signature' => $this->signedPost($body, $now, Auth::sign('outro', $now, $body)),
            'stale_signature' => $this->signedPost($body, $old, Auth::sign('segredo', $old, $body)),
            'missing_signature' => $this->postWebhook(['agendamento_id' => self::ID, 'status' => 'enviado']),
        ];
        $tampered = $this->signedPost(
            str_replace('enviado', 'erro_envio', $body),
            $now,
            Auth::sign('segredo', $now, $body)
        );
        foreach ($cases as $code => $response) {
            $this->assertSame([401, $code], [$response['status'], $response['body']['code']]);
        }
        $this->assertSame([401, 'invalid_signature'], [$tampered['status'], $tampered['body']['code']]);
        $this->assertSame(['pendente_aprovacao'], $this->rowStatuses(self::ID));
    }

    /** disparo signs each attempt afresh: the same signature twice is a captured request. */
    public function testAReplayedSignatureIsRefused(): void
    {
        update_option(Options::WEBHOOK_SECRET, 'segredo');
        $this->seed(self::ID, 1);
        $body = (string) wp_json_encode(['agendamento_id' => self::ID, 'status' => 'erro_envio', 'sequencia' => 1]);
        $stamp = (string) time();
        $signature = Auth::sign('segredo', $stamp, $body);
        $first = $this->signedPost($body, $stamp, $signature);
        $this->postSigned(['agendamento_id' => self::ID, 'status' => 'enviado', 'sequencia' => 2]);

        $replay = $this->signedPost($body, $stamp, $signature);

        $this->assertSame(200, $first['status']);
        $this->assertSame([401, 'replayed_signature'], [$replay['status'], $replay['body']['code']]);
        $this->assertSame(['enviado'], $this->rowStatuses(self::ID));
        // The same body signed again (a retry: new timestamp) is not a replay.
        $later = (string) (time() + 1);
        $retry = $this->signedPost($body, $later, Auth::sign('segredo', $later, $body));
        $this->assertNotSame('replayed_signature', $retry['body']['code'] ?? null);
    }

    /** During a rotation the key and secret being replaced still open; once cleared, not. */
    public function testTheValuesBeingRotatedOutAreAcceptedUntilCleared(): void
    {
        $this->seed(self::ID, 1);
        update_option(Options::WEBHOOK_SECRET, 'novo');
        update_option(Options::MASTER_KEY, 'mestra-nova');
        update_option(Options::PREVIOUS, ['master_key' => self::MASTER_KEY, 'webhook_secret' => 'segredo']);
        $oldKey = $this->postSigned(['agendamento_id' => self::ID, 'status' => 'processando', 'sequencia' => 1]);
        $body = (string) wp_json_encode(['agendamento_id' => self::ID, 'status' => 'enviado', 'sequencia' => 2]);
        $stamp = (string) time();
        $newSecret = $this->http('POST', '/wp-json/webhook-status/v1/update', [
            'X-API-KEY' => 'mestra-nova',
            'Content-Type' => 'application/json',
            'X-Disparo-Timestamp' => $stamp,
            'X-Disparo-Signature' => Auth::sign('novo', $stamp, $body),
        ], $body);
        $this->assertSame([200, 200], [$oldKey['status'], $newSecret['status']]);
        $this->assertSame(['enviado'], $this->rowStatuses(self::ID));

        update_option(Options::PREVIOUS, ['master_key' => '', 'webhook_secret' => '']);
        $refused = $this->postSigned(['agendamento_id' => self::ID, 'status' => 'enviado', 'sequencia' => 3]);
        $this->assertSame([401, 'invalid_key'], [$refused['status'], $refused['body']['code']]);
        update_option(Options::MASTER_KEY, self::MASTER_KEY);
        $refused = $this->postSigned(['agendamento_id' => self::ID, 'status' => 'enviado', 'sequencia' => 3]);
        $this->assertSame([401, 'invalid_signature'], [$refused['status'], $refused['body']['code']]);
    }

    public function testUnsignedWebhooksAreRefusedOnceASecretIsSet(): void
    {
        $this->seed(self::ID, 1);
        $this->assertSame(200, $this->postWebhook(['agendamento_id' => self::ID, 'status' => 'processando'])['status']);
        update_option(Options::WEBHOOK_SECRET, 'segredo');
        $unsigned = $this->postWebhook(['agendamento_id' => self::ID, 'status' => 'enviado']);
        $this->assertSame([401, 'missing_signature'], [$unsigned['status'], $unsigned['body']['code']]);
        $this->assertSame(['pendente'], $this->rowStatuses(self::ID));
    }

    public function testAnOlderSequenciaNeverOverwritesANewerStatus(): void
    {
        $this->seed(self::ID, 2);
        $this->seed('N20250115093000', 1);
        $post = fn (string $status, mixed $sequencia, string $id = self::ID): array => $this->postWebhook(
            ['agendamento_id' => $id, 'status' => $status] + ($sequencia === null ? [] : ['sequencia' => $sequencia])
        );

        $this->assertSame(200, $post('processando', 1)['status']);
        $this->assertSame(200, $post('enviado', 3)['status']);
        $stale = $post('erro_envio', 2);
        $this->assertSame([409, 'stale_sequencia'], [$stale['status'], $stale['body']['code']]);
        $this->assertStringContainsString('sequencia 3 já foi aplicada', $stale['body']['message']);
        $this->assertSame(['enviado', 'enviado'], $this->rowStatuses(self::ID));

        $unnumbered = $post('erro_envio', null);
        $this->assertSame([409, 'stale_sequencia'], [$unnumbered['status'], $unnumbered['body']['code']]);
        $again = $post('enviado', 3); // a retry of the last one: the same number
        $this->assertSame([200, true], [$again['status'], $again['body']['success']]);
        $this->assertSame(200, $post('mkc_erro', '4')['status']);
        $this->assertSame(['erro', 'erro'], $this->rowStatuses(self::ID));
        $this->assertSame(4, WebhookLedger::last(self::ID));

        $bad = $post('enviado', 'quatro');
        $this->assertSame([400, 'invalid_request'], [$bad['status'], $bad['body']['code']]);
        $this->assertSame(200, $post('enviado', 1, 'N20250115093000')['status'], 'each agendamento counts alone');
        $this->assertSame(['enviado'], $this->rowStatuses('N20250115093000'));
    }

    /** Without its ledger the receiver cannot tell old from new: 503, which disparo retries. */
    public function testAMissingLedgerIsA503NotASilentPass(): void
    {
        global $wpdb;
        $this->seed(self::ID, 1);
        update_option(Options::WEBHOOK_SECRET, 'segredo');
        foreach ([WebhookLedger::sequencias(), WebhookLedger::signatures()] as $table) {
            $wpdb->query("RENAME TABLE {$table} TO {$table}_fora");
            try {
                $response = $this->postSigned(['agendamento_id' => self::ID, 'status' => 'enviado', 'sequencia' => 1]);
            } finally {
                $wpdb->query("RENAME TABLE {$table}_fora TO {$table}");
            }
            $this->assertSame([503, 'ledger_unavailable'], [$response['status'], $response['body']['code']], $table);
            $this->assertSame(['pendente_aprovacao'], $this->rowStatuses(self::ID));
        }
    }

    /**
     * Ten webhooks of one agendamento at once, in shuffled order, on the site's four workers:
     * whatever the arrival order, the rows end with the status of the highest number (a check
     * and update that were not one transaction could let number 9 land after number 10).
     */
    public function testRacingWebhooksEndOnTheHighestSequencia(): void
    {
        foreach (['C20250115093000', 'C20250115093001', 'C20250115093002'] as $id) {
            $this->seed($id, 3);
            $numbers = range(1, 10);
            shuffle($numbers);
            $multi = curl_multi_init();
            foreach ($numbers as $number) {
                $status = $number % 2 === 0 ? 'enviado' : 'erro_envio';
                curl_multi_add_handle($multi, $this->webhookHandle($status, $number, [], $id));
            }
            $this->runFor($multi, 30.0);
            curl_multi_close($multi);
            $this->assertSame(['enviado', 'enviado', 'enviado'], $this->rowStatuses($id), $id);
            $this->assertSame(10, WebhookLedger::last($id));
        }
    }

    /**
     * Number 9 passes its check and is held there (tests/bin/test-hooks.php) while number 10
     * arrives: 10 must wait for 9's transaction, then win. Were check and write not one
     * transaction holding the ledger row, 10 would pass too and 9 would land last.
     */
    public function testAWebhookHeldBetweenCheckAndWriteCannotLandAfterANewerOne(): void
    {
        $this->seed(self::ID, 2);
        $multi = curl_multi_init();
        curl_multi_add_handle($multi, $this->webhookHandle('erro_envio', 9, ['X-Test-Pause-Ms: 1500']));
        $this->runFor($multi, 0.5); // 9 is in, checked, holding
        curl_multi_add_handle($multi, $this->webhookHandle('enviado', 10));
        $this->runFor($multi, 30.0);
        curl_multi_close($multi);
        $this->assertSame(['enviado', 'enviado'], $this->rowStatuses(self::ID));
        $this->assertSame(10, WebhookLedger::last(self::ID));
    }

    /** @param list<string> $extraHeaders */
    private function webhookHandle(
        string $status,
        int $sequencia,
        array $extraHeaders = [],
        string $agendamentoId = self::ID
    ): \CurlHandle {
        $handle = curl_init($this->siteUrl('/wp-json/webhook-status/v1/update'));
        curl_setopt_array($handle, [
            CURLOPT_POST => true,
            CURLOPT_RETURNTRANSFER => true,
            CURLOPT_HTTPHEADER => [
                'X-API-KEY: ' . self::MASTER_KEY,
                'Content-Type: application/json',
                ...$extraHeaders,
            ],
            CURLOPT_POSTFIELDS => (string) wp_json_encode(
                ['agendamento_id' => $agendamentoId, 'status' => $status, 'sequencia' => $sequencia]
            ),
        ]);
        return $handle;
    }

    /** Drives the transfers until all are done or `$seconds` have passed. */
    private function runFor(\CurlMultiHandle $multi, float $seconds): void
    {
        $until = microtime(true) + $seconds;
        do {
            curl_multi_exec($multi, $running);
            curl_multi_select($multi, 0.05);
        } while ($running > 0 && microtime(true) < $until);
    }

    public function testBulkItemsWithAnOlderSequenciaAreRefusedOneByOne(): void
    {
        $this->seed(self::ID, 1);
        $this->seed('N20250115093000', 1);
        $this->postWebhook(['agendamento_id' => self::ID, 'status' => 'enviado', 'sequencia' => 5]);
        $response = $this->postWebhook(['bulk' => true, 'updates' => [
            ['agendamento_id' => self::ID, 'status' => 'processando', 'sequencia' => 4],
            ['agendamento_id' => 'N20250115093000', 'status' => 'enviado', 'sequencia' => 1],
        ]]);
        $this->assertSame(200, $response['status']);
        $this->assertSame(
            [['ok' => false, 'reason' => 'stale_sequencia'], ['ok' => true]],
            array_map(
                static fn (array $r): array => array_intersect_key($r, ['ok' => 0, 'reason' => 0]),
                $response['body']['results']
            )
        );
        $this->assertSame(['enviado'], $this->rowStatuses(self::ID));
        $this->assertSame(['enviado'], $this->rowStatuses('N20250115093000'));
    }

    /** The same vector as disparo's tests/wordpress/test_signing.py: both sides agree. */
    public function testSignatureVector(): void
    {
        $this->assertSame(
            'sha256=e9232c9945da8456c2dea6b39da7786c07b00bca7a64d5dd1283674713a7b72a',
            Auth::sign('s', '1700000000', '{}')
        );
        $this->assertSame(
            'sha256=c55831e4325ab05138ac18be7a1b377f884ff7fb7e03aec248dc30ff22233e47',
            Auth::sign('segredo', '1700000000', '{"agendamento_id":"C20250115093000","status":"enviado","sequencia":2}')
        );
    }

    public function testSignatureHeadersAreIgnoredWithoutASecret(): void
    {
        $this->seed(self::ID, 1);
        $body = (string) wp_json_encode(['agendamento_id' => self::ID, 'status' => 'enviado']);
        $response = $this->signedPost($body, '1', 'sha256=qualquer');
        $this->assertSame(200, $response['status']);
    }

    /**
     * @param array<string, mixed> $payload
     * @return array{status: int, body: mixed, raw: string}
     */
    private function postSigned(array $payload): array
    {
        $body = (string) wp_json_encode($payload);
        $stamp = (string) time();
        return $this->signedPost($body, $stamp, Auth::sign('segredo', $stamp, $body));
    }

    /** @return array{status: int, body: mixed, raw: string} */
    private function signedPost(string $body, string $timestamp, string $signature): array
    {
        return $this->http('POST', '/wp-json/webhook-status/v1/update', [
            'X-API-KEY' => self::MASTER_KEY,
            'Content-Type' => 'application/json',
            'X-Disparo-Timestamp' => $timestamp,
            'X-Disparo-Signature' => $signature,
        ], $body);
    }

    /** @return array<string, mixed> */
    private function row(): array
    {
        global $wpdb;
        return $wpdb->get_row(
            $wpdb->prepare('SELECT * FROM ' . Schema::table() . ' WHERE agendamento_id = %s LIMIT 1', self::ID),
            ARRAY_A
        );
    }
}

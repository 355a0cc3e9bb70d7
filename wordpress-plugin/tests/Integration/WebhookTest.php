<?php

declare(strict_types=1);

namespace Disparo\Connector\Tests\Integration;

use Disparo\Connector\Auth;
use Disparo\Connector\Options;
use Disparo\Connector\Schema;
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

    /** The same vector as disparo's tests/wordpress/test_signing.py: both sides agree. */
    public function testSignatureVector(): void
    {
        $this->assertSame(
            'sha256=e9232c9945da8456c2dea6b39da7786c07b00bca7a64d5dd1283674713a7b72a',
            Auth::sign('s', '1700000000', '{}')
        );
    }

    public function testSignatureHeadersAreIgnoredWithoutASecret(): void
    {
        $this->seed(self::ID, 1);
        $body = (string) wp_json_encode(['agendamento_id' => self::ID, 'status' => 'enviado']);
        $response = $this->signedPost($body, '1', 'sha256=qualquer');
        $this->assertSame(200, $response['status']);
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

<?php

declare(strict_types=1);

namespace Disparo\Connector\Tests\Support;

use Disparo\Connector\Options;
use Disparo\Connector\Schema;
use Disparo\Connector\Tls;
use Disparo\Connector\WebhookLedger;
use PHPUnit\Framework\TestCase;

/**
 * Each test starts from an empty rows table and the plugin's options cleared; the site's
 * HTTP server (DISPARO_WP_URL) and the fake disparo (FAKE_DISPARO_URL) are already running.
 */
abstract class SiteTestCase extends TestCase
{
    protected const MASTER_KEY = 'chave-mestra-teste';

    protected function setUp(): void
    {
        global $wpdb;
        foreach ([Schema::table(), WebhookLedger::signatures(), WebhookLedger::sequencias()] as $table) {
            $wpdb->query('TRUNCATE TABLE ' . $table);
        }
        $options = [
            Options::MASTER_KEY, Options::SERVICE, Options::STATIC_CREDENTIALS, Options::ENV_CREDENTIALS,
            Options::WEBHOOK_SECRET, Options::SCHEDULES, Options::DISPATCH_ERRORS, Tls::OPTION, Options::PREVIOUS,
        ];
        foreach ($options as $option) {
            delete_option($option);
        }
        wp_clear_scheduled_hook(\Disparo\Connector\Scheduler::HOOK);
        update_option(Options::MASTER_KEY, self::MASTER_KEY);
        $dir = (string) getenv('FAKE_DISPARO_DIR');
        @unlink($dir . '/requests.jsonl');
        @unlink($dir . '/response.json');
        wp_set_current_user(0);
    }

    protected function siteUrl(string $path): string
    {
        return rtrim((string) getenv('DISPARO_WP_URL'), '/') . $path;
    }

    /**
     * @param array<string, string> $headers
     * @return array{status: int, body: mixed, raw: string}
     */
    protected function http(string $method, string $path, array $headers = [], ?string $body = null): array
    {
        $response = wp_remote_request($this->siteUrl($path), [
            'method' => $method,
            'headers' => $headers,
            'body' => $body,
            'timeout' => 30,
        ]);
        $this->assertFalse(is_wp_error($response), is_wp_error($response) ? $response->get_error_message() : '');
        $raw = (string) wp_remote_retrieve_body($response);
        return [
            'status' => (int) wp_remote_retrieve_response_code($response),
            'body' => json_decode($raw, true),
            'raw' => $raw,
        ];
    }

    /** @param array<string, mixed> $payload */
    protected function postWebhook(array $payload, array $headers = []): array
    {
        return $this->http('POST', '/wp-json/webhook-status/v1/update', $headers + [
            'X-API-KEY' => self::MASTER_KEY,
            'Content-Type' => 'application/json',
        ], (string) wp_json_encode($payload));
    }

    /** @param array<string, mixed> $overrides */
    protected function seed(string $agendamentoId, int $count, array $overrides = []): void
    {
        global $wpdb;
        for ($i = 1; $i <= $count; $i++) {
            $wpdb->insert(Schema::table(), $overrides + [
                'agendamento_id' => $agendamentoId,
                'fornecedor' => 'CDA',
                'status' => 'pendente_aprovacao',
                'telefone' => sprintf('119%08d', $i),
                'nome' => "CLIENTE EXEMPLO {$i}",
                'id_carteira' => '77',
                'idgis_ambiente' => '1001',
                'idcob_contrato' => (string) (500000 + $i),
                'cpf_cnpj' => '11111111111',
                'mensagem' => 'Olá, temos uma proposta.',
                'data_cadastro' => '2025-01-15 09:30:00',
            ]);
        }
    }

    /** @return list<string> */
    protected function rowStatuses(string $agendamentoId): array
    {
        global $wpdb;
        return $wpdb->get_col($wpdb->prepare(
            'SELECT status FROM ' . Schema::table() . ' WHERE agendamento_id = %s ORDER BY id',
            $agendamentoId
        ));
    }

    /** @param array<string, string> $headers */
    protected function useFakeDisparo(int $status = 202, mixed $body = null, array $headers = []): void
    {
        update_option(Options::SERVICE, ['url' => (string) getenv('FAKE_DISPARO_URL'), 'api_key' => '']);
        $dir = (string) getenv('FAKE_DISPARO_DIR');
        file_put_contents($dir . '/response.json', (string) wp_json_encode([
            'status' => $status,
            'body' => $body ?? ['success' => true, 'message' => 'Campanha adicionada à fila'],
            'headers' => (object) $headers,
        ]));
    }

    /** @return list<array<string, mixed>> */
    protected function disparoRequests(): array
    {
        $file = (string) getenv('FAKE_DISPARO_DIR') . '/requests.jsonl';
        if (!is_file($file)) {
            return [];
        }
        $lines = array_filter(explode("\n", (string) file_get_contents($file)));
        return array_values(array_map(static fn (string $line): array => json_decode($line, true), $lines));
    }
}

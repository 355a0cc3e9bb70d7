<?php

declare(strict_types=1);

namespace Disparo\Connector;

/**
 * Asks disparo what a dispatch of a campaign would do (`POST /campaigns/preflight`): rows,
 * skipped by reason, batches, requests, timing, credential problems. disparo sends and records
 * nothing, so the approve screen can show it before the admin confirms.
 */
final class Preflight
{
    public const TIMEOUT = 30;

    /**
     * The report (disparo's JSON), or the reason there is none.
     *
     * @return array{ok: bool, report: array<string, mixed>|null, message: string}
     */
    public static function check(string $agendamentoId): array
    {
        if (Options::serviceUrl() === '') {
            return self::failed('URL do disparo não configurada.');
        }
        $tlsProblem = Tls::problem();
        if ($tlsProblem !== null) {
            return self::failed($tlsProblem);
        }
        // Same TLS rules and key as the dispatch (Tls: verified, no redirect followed).
        $response = wp_remote_post(Options::serviceUrl() . '/campaigns/preflight', Tls::requestArgs() + [
            'timeout' => self::TIMEOUT,
            'headers' => ['Content-Type' => 'application/json', 'X-API-KEY' => Options::serviceKey()],
            'body' => (string) wp_json_encode(['agendamento_id' => $agendamentoId]),
        ]);
        if (is_wp_error($response)) {
            return self::failed('Erro ao comunicar com o disparo: ' . $response->get_error_message());
        }
        $status = (int) wp_remote_retrieve_response_code($response);
        $body = json_decode((string) wp_remote_retrieve_body($response), true);
        if ($status !== 200 || !is_array($body)) {
            $detail = is_array($body) && isset($body['message']) && is_scalar($body['message'])
                ? (string) $body['message']
                : mb_substr((string) wp_remote_retrieve_body($response), 0, 200);
            return self::failed(sprintf('O disparo respondeu %d à verificação: %s', $status, $detail));
        }
        return ['ok' => true, 'report' => $body, 'message' => ''];
    }

    /** @return array{ok: bool, report: null, message: string} */
    private static function failed(string $message): array
    {
        return ['ok' => false, 'report' => null, 'message' => $message];
    }
}

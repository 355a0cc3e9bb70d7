<?php

declare(strict_types=1);

namespace Disparo\Connector;

/** The dispatch body (CONTRACTS 1.3): the id, plus static credentials and template fields. */
final class Payload
{
    /** @return array<string, mixed> */
    public static function build(string $agendamentoId, string $fornecedor): array
    {
        $payload = ['agendamento_id' => $agendamentoId];
        $provider = strtoupper(trim($fornecedor));
        $credentials = self::credentialsKey($provider);
        if ($credentials !== null) {
            $found = Credentials::forProvider($credentials[1], '');
            if (is_array($found) && implode('', $found) !== '') {
                $payload[$credentials[0]] = $found;
            }
        }
        return array_merge($payload, self::template($agendamentoId));
    }

    /** @return array{0: string, 1: string}|null body field and credentials provider */
    private static function credentialsKey(string $provider): ?array
    {
        if (Credentials::code($provider) === 'RCS_OTIMA') {
            return ['otima_rcs_credentials', 'rcs_otima'];
        }
        if (Credentials::code($provider) === 'WHATSAPP_OTIMA') {
            return ['otima_wpp_credentials', 'whatsapp_otima'];
        }
        return match ($provider) {
            'CDA' => ['cda_credentials', 'cda'],
            'RCS' => ['rcs_credentials', 'rcs'],
            'SALESFORCE' => ['salesforce_credentials', 'salesforce'],
            'MKC', 'MARKETING CLOUD' => ['mkc_credentials', 'mkc'],
            default => null,
        };
    }

    /** @return array<string, string> template_code and template_source of the first row */
    private static function template(string $agendamentoId): array
    {
        $message = json_decode(Rows::firstMessage($agendamentoId), true);
        if (is_array($message) && isset($message['template_code'], $message['template_source'])) {
            return [
                'template_code' => (string) $message['template_code'],
                'template_source' => (string) $message['template_source'],
            ];
        }
        return [];
    }
}

<?php

declare(strict_types=1);

namespace Disparo\Connector;

/**
 * The dispatch body (CONTRACTS 1.3): the id and the template fields, never credentials.
 *
 * The contract lets the body carry the static provider credentials, but disparo reads them
 * from the credentials route (2.2), which stays authoritative; sending them too only put every
 * secret of the site on one more wire, in one more log. The panel's other optional fields
 * (custom_provider_*) are not produced by this plugin.
 */
final class Payload
{
    /** @return array<string, string> */
    public static function build(string $agendamentoId): array
    {
        return ['agendamento_id' => $agendamentoId] + self::template($agendamentoId);
    }

    /** @return array<string, string> template_code and template_source of the first row */
    private static function template(string $agendamentoId): array
    {
        $message = json_decode(Rows::firstMessage($agendamentoId), true);
        if (
            is_array($message) && isset($message['template_code'], $message['template_source'])
            && is_scalar($message['template_code']) && is_scalar($message['template_source'])
        ) {
            return [
                'template_code' => (string) $message['template_code'],
                'template_source' => (string) $message['template_source'],
            ];
        }
        return [];
    }
}

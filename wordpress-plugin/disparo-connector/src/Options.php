<?php

declare(strict_types=1);

namespace Disparo\Connector;

/**
 * Where the configuration lives. The option names are the campaign panel's (acm_*), so a site
 * that ran the panel keeps its keys and credentials, and both plugins read the same values.
 */
final class Options
{
    public const MASTER_KEY = 'acm_master_api_key';
    public const SERVICE = 'acm_microservice_config';
    public const STATIC_CREDENTIALS = 'acm_static_credentials';
    public const ENV_CREDENTIALS = 'acm_provider_credentials';
    public const WEBHOOK_SECRET = 'disparo_connector_webhook_secret';
    /** The master key and webhook secret being replaced, still accepted while a rotation runs. */
    public const PREVIOUS = 'disparo_connector_previous_secrets';
    public const SCHEDULES = 'disparo_connector_schedules';
    public const DISPATCH_ERRORS = 'disparo_connector_dispatch_errors';

    /** Static credential fields; the secret ones are never printed back into a page. */
    public const STATIC_FIELDS = [
        'cda_api_url' => false,
        'cda_api_key' => true,
        'rcs_base_url' => false,
        'rcs_chave_api' => true,
        'otima_rcs_token' => true,
        'otima_rcs_api_url' => false,
        'otima_wpp_token' => true,
        'otima_wpp_broker_code' => false,
        'otima_wpp_customer_code' => false,
        'sf_client_id' => false,
        'sf_client_secret' => true,
        'sf_username' => false,
        'sf_password' => true,
        'sf_token_url' => false,
        'sf_api_url' => false,
        'mkc_client_id' => false,
        'mkc_client_secret' => true,
        'mkc_token_url' => false,
        'mkc_api_url' => false,
    ];

    public static function masterKey(): string
    {
        return trim((string) get_option(self::MASTER_KEY, ''));
    }

    public static function webhookSecret(): string
    {
        return trim((string) get_option(self::WEBHOOK_SECRET, ''));
    }

    /** @param 'master_key'|'webhook_secret' $name the value being rotated out, '' when none */
    public static function previous(string $name): string
    {
        $stored = get_option(self::PREVIOUS, []);
        return is_array($stored) ? trim((string) ($stored[$name] ?? '')) : '';
    }

    /** @return array{url: string, api_key: string} */
    public static function service(): array
    {
        $config = get_option(self::SERVICE, []);
        $config = is_array($config) ? $config : [];
        return [
            'url' => trim((string) ($config['url'] ?? '')),
            'api_key' => trim((string) ($config['api_key'] ?? '')),
        ];
    }

    /**
     * disparo's base URL: trailing slashes and one trailing "/api" removed (the panel's
     * character trim also ate the end of hosts such as ".app"; this removes the suffix only).
     */
    public static function serviceUrl(): string
    {
        $url = rtrim(self::service()['url'], '/');
        if (str_ends_with(strtolower($url), '/api')) {
            $url = rtrim(substr($url, 0, -4), '/');
        }
        return $url;
    }

    /** The key sent to disparo: the service key when set, else the master key. */
    public static function serviceKey(): string
    {
        return self::service()['api_key'] !== '' ? self::service()['api_key'] : self::masterKey();
    }

    /** @return array<string, string> */
    public static function staticCredentials(): array
    {
        $stored = get_option(self::STATIC_CREDENTIALS, []);
        $stored = is_array($stored) ? $stored : [];
        $values = [];
        foreach ($stored as $name => $value) {
            $values[(string) $name] = is_scalar($value) ? trim((string) $value) : '';
        }
        return $values;
    }

    /** @return array<string, array<string, array<string, string>>> provider => env id => block */
    public static function envCredentials(): array
    {
        $stored = get_option(self::ENV_CREDENTIALS, []);
        return is_array($stored) ? $stored : [];
    }

    /** @return array<string, int> agendamento id => Unix time it is due */
    public static function schedules(): array
    {
        $stored = get_option(self::SCHEDULES, []);
        return is_array($stored) ? array_map('intval', $stored) : [];
    }

    /** @return array<string, string> agendamento id => last dispatch error */
    public static function dispatchErrors(): array
    {
        $stored = get_option(self::DISPATCH_ERRORS, []);
        return is_array($stored) ? $stored : [];
    }

    public static function setDispatchError(string $agendamentoId, ?string $message): void
    {
        $errors = self::dispatchErrors();
        if ($message === null) {
            unset($errors[$agendamentoId]);
        } else {
            $errors[$agendamentoId] = $message;
        }
        update_option(self::DISPATCH_ERRORS, $errors, false);
    }
}

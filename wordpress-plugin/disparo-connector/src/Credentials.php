<?php

declare(strict_types=1);

namespace Disparo\Connector;

use WP_Error;

/** The credentials route's answers (CONTRACTS 2.2), from the panel's options. */
final class Credentials
{
    public const OTIMA_RCS_URL = 'https://services.otima.digital/v1/rcs';
    public const OTIMA_WPP_URL = 'https://services.otima.digital/v1/whatsapp';

    /** @return array<string, string>|WP_Error */
    public static function forProvider(string $provider, string $envId): array|WP_Error
    {
        $code = self::code($provider);
        $static = Options::staticCredentials();
        return match ($code) {
            'CDA' => self::nonEmpty($code, [
                'api_url' => $static['cda_api_url'] ?? '',
                'api_key' => $static['cda_api_key'] ?? '',
            ]),
            'RCS' => self::rcs($static),
            'RCS_OTIMA' => self::otimaRcs($static),
            'WHATSAPP_OTIMA' => self::otimaWpp($static),
            'MKC' => self::nonEmpty($code, [
                'client_id' => $static['mkc_client_id'] ?? '',
                'client_secret' => $static['mkc_client_secret'] ?? '',
                'token_url' => $static['mkc_token_url'] ?? '',
                'api_url' => $static['mkc_api_url'] ?? '',
            ]),
            'SALESFORCE' => self::salesforce($static, $envId),
            default => self::perEnvironment($code, $envId),
        };
    }

    /** WordPress upper-cases the path's provider; the Ótima ones are matched by their words. */
    public static function code(string $provider): string
    {
        $upper = strtoupper(trim($provider));
        if (str_contains($upper, 'OTIMA') && str_contains($upper, 'RCS')) {
            return 'RCS_OTIMA';
        }
        if (str_contains($upper, 'OTIMA') && (str_contains($upper, 'WPP') || str_contains($upper, 'WHATSAPP'))) {
            return 'WHATSAPP_OTIMA';
        }
        return $upper;
    }

    /**
     * @param array<string, string> $values
     * @return array<string, string>|WP_Error
     */
    private static function nonEmpty(string $code, array $values): array|WP_Error
    {
        // As the panel: a static object is served as soon as one value is set; disparo
        // checks the required fields itself.
        if (implode('', $values) === '') {
            return self::notFound("Credenciais estáticas não configuradas para {$code}");
        }
        return $values;
    }

    /**
     * @param array<string, string> $static
     * @return array<string, string>|WP_Error
     */
    private static function rcs(array $static): array|WP_Error
    {
        $key = ($static['rcs_chave_api'] ?? '') !== '' ? $static['rcs_chave_api'] : ($static['cda_api_key'] ?? '');
        if ($key === '') {
            $message = 'Credenciais RCS incompletas. Configure a chave_api.';
            return self::incomplete($message, 'INCOMPLETE_RCS_CREDENTIALS', 'RCS', 'chave_api');
        }
        return ['chave_api' => $key, 'base_url' => $static['rcs_base_url'] ?? ''];
    }

    /**
     * @param array<string, string> $static
     * @return array<string, string>|WP_Error
     */
    private static function otimaRcs(array $static): array|WP_Error
    {
        if (($static['otima_rcs_token'] ?? '') === '') {
            $message = 'Credenciais Ótima RCS incompletas. Configure o token.';
            return self::incomplete($message, 'INCOMPLETE_OTIMA_RCS_CREDENTIALS', 'OTIMA RCS', 'token');
        }
        return [
            'token' => $static['otima_rcs_token'],
            'api_url' => self::OTIMA_RCS_URL,
            'broker_code' => '',
            'customer_code' => '',
        ];
    }

    /**
     * @param array<string, string> $static
     * @return array<string, string>|WP_Error
     */
    private static function otimaWpp(array $static): array|WP_Error
    {
        if (($static['otima_wpp_token'] ?? '') === '') {
            $message = 'Credenciais Ótima WhatsApp incompletas. Configure o token.';
            return self::incomplete($message, 'INCOMPLETE_OTIMA_WPP_CREDENTIALS', 'OTIMA WPP', 'token');
        }
        return [
            'token' => $static['otima_wpp_token'],
            'broker_code' => $static['otima_wpp_broker_code'] ?? '',
            'customer_code' => $static['otima_wpp_customer_code'] ?? '',
            'api_url' => self::OTIMA_WPP_URL,
        ];
    }

    /**
     * Static values with the environment's block merged over them (operacao, automation_id,
     * Marketing Cloud values).
     *
     * @param array<string, string> $static
     * @return array<string, string>|WP_Error
     */
    private static function salesforce(array $static, string $envId): array|WP_Error
    {
        $values = [
            'client_id' => $static['sf_client_id'] ?? '',
            'client_secret' => $static['sf_client_secret'] ?? '',
            'username' => $static['sf_username'] ?? '',
            'password' => $static['sf_password'] ?? '',
            'token_url' => $static['sf_token_url'] ?? '',
            'api_url' => $static['sf_api_url'] ?? '',
        ];
        $blocks = self::blocks('salesforce');
        $block = self::pickSalesforceBlock($blocks, $envId);
        return self::nonEmpty('SALESFORCE', array_merge($values, $block ?? []));
    }

    /**
     * Exact id, its integer form, the only block, the first complete block (Gen C order).
     *
     * @param array<string, array<string, string>> $blocks
     * @return array<string, string>|null
     */
    private static function pickSalesforceBlock(array $blocks, string $envId): ?array
    {
        if (isset($blocks[$envId])) {
            return $blocks[$envId];
        }
        $trimmed = trim($envId);
        if (ctype_digit($trimmed) && isset($blocks[(string) (int) $trimmed])) {
            return $blocks[(string) (int) $trimmed];
        }
        if (count($blocks) === 1) {
            return reset($blocks);
        }
        foreach ($blocks as $block) {
            if (($block['operacao'] ?? '') !== '' && ($block['automation_id'] ?? '') !== '') {
                return $block;
            }
        }
        return null;
    }

    /** @return array<string, string>|WP_Error */
    private static function perEnvironment(string $code, string $envId): array|WP_Error
    {
        $block = self::blocks(strtolower($code))[$envId] ?? [];
        if ($block === []) {
            return self::notFound("Credenciais não encontradas para {$code}:{$envId}");
        }
        return $block;
    }

    /** @return array<string, array<string, string>> env id => block, values as strings */
    private static function blocks(string $provider): array
    {
        $blocks = Options::envCredentials()[$provider] ?? [];
        $clean = [];
        foreach (is_array($blocks) ? $blocks : [] as $envId => $block) {
            if (is_array($block)) {
                $clean[(string) $envId] = array_map(
                    static fn ($value): string => is_scalar($value) ? (string) $value : '',
                    $block
                );
            }
        }
        return $clean;
    }

    private static function notFound(string $message): WP_Error
    {
        return new WP_Error('no_credentials', $message, ['status' => 404]);
    }

    private static function incomplete(string $message, string $code, string $provider, string $field): WP_Error
    {
        return new WP_Error('invalid_credentials', $message, [
            'status' => 400,
            'code' => $code,
            'missing_fields' => [$field],
            'provider' => $provider,
        ]);
    }
}

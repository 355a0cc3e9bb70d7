<?php

declare(strict_types=1);

namespace Disparo\Connector;

/**
 * TLS of every call this plugin makes: the certificate is always verified, against the site's
 * CA bundle or one the admin names (a private CA), unless the admin explicitly turns
 * verification off, which the settings page then shows as a red warning. And no redirect is
 * followed: WordPress would send the call's X-API-KEY on to wherever a 3xx points.
 */
final class Tls
{
    public const OPTION = 'disparo_connector_tls';

    public static function register(): void
    {
        // Last word on our own calls: another plugin's filter cannot turn verification off.
        add_filter('https_ssl_verify', [self::class, 'enforce'], PHP_INT_MAX, 2);
        add_filter('http_request_args', [self::class, 'noRedirects'], PHP_INT_MAX, 2);
    }

    /** @return array{ca_bundle: string, insecure: bool} */
    public static function settings(): array
    {
        $stored = get_option(self::OPTION, []);
        $stored = is_array($stored) ? $stored : [];
        return [
            'ca_bundle' => trim((string) ($stored['ca_bundle'] ?? '')),
            'insecure' => !empty($stored['insecure']),
        ];
    }

    /** What makes a call impossible to verify (a CA bundle that cannot be read); null if none. */
    public static function problem(): ?string
    {
        $bundle = self::settings()['ca_bundle'];
        if (self::settings()['insecure'] || $bundle === '' || is_readable($bundle)) {
            return null;
        }
        return sprintf('Arquivo de certificados (CA) TLS não encontrado ou ilegível: %s', $bundle);
    }

    /**
     * The arguments every wp_remote_* call of this plugin merges into its own.
     *
     * @return array<string, mixed>
     */
    public static function requestArgs(): array
    {
        $settings = self::settings();
        // Every call carries a secret (the API key): a redirect would hand it on.
        $args = ['sslverify' => !$settings['insecure'], 'redirection' => 0];
        if (!$settings['insecure'] && $settings['ca_bundle'] !== '') {
            $args['sslcertificates'] = $settings['ca_bundle'];
        }
        return $args;
    }

    /** https_ssl_verify: for calls to disparo, what our settings say, whatever came before. */
    public static function enforce(mixed $verify, string $url = ''): mixed
    {
        if (!self::toService($url)) {
            return $verify;
        }
        $settings = self::settings();
        if ($settings['insecure']) {
            return false;
        }
        if ($settings['ca_bundle'] !== '') {
            return $settings['ca_bundle'];
        }
        return is_string($verify) ? $verify : ABSPATH . WPINC . '/certificates/ca-bundle.crt';
    }

    /**
     * http_request_args: a call to disparo follows no redirect, whatever another plugin says.
     * `$args` is an array unless an earlier filter broke it (then left as it is).
     */
    public static function noRedirects(mixed $args, string $url = ''): mixed
    {
        if (is_array($args) && self::toService($url)) {
            $args['redirection'] = 0;
        }
        return $args;
    }

    private static function toService(string $url): bool
    {
        $service = Options::serviceUrl();
        return $service !== '' && str_starts_with($url, $service . '/');
    }
}

<?php

declare(strict_types=1);

namespace Disparo\Connector;

use WP_Error;
use WP_REST_Request;

/** The contract's permission check (X-API-KEY = master key) and the webhook signature. */
final class Auth
{
    public const TIMESTAMP_HEADER = 'X-Disparo-Timestamp';
    public const SIGNATURE_HEADER = 'X-Disparo-Signature';
    /** Seconds a signed timestamp stays acceptable (clock skew plus transit). */
    public const DEFAULT_TOLERANCE = 300;

    /** REST permission callback: true, or the contract's 401/503 error. */
    public static function checkKey(WP_REST_Request $request): bool|WP_Error
    {
        $master = Options::masterKey();
        if ($master === '') {
            return new WP_Error('no_master_key', 'Master API Key não configurada.', ['status' => 503]);
        }
        $given = trim((string) $request->get_header('X-API-KEY'));
        if ($given === '') {
            return new WP_Error(
                'no_key_provided',
                'API Key não fornecida no header X-API-KEY.',
                ['status' => 401]
            );
        }
        $previous = Options::previous('master_key');
        if (!hash_equals($master, $given) && ($previous === '' || !hash_equals($previous, $given))) {
            return new WP_Error('invalid_key', 'API Key inválida.', ['status' => 401]);
        }
        return true;
    }

    /**
     * The status receiver's check: the key, then, when a secret is configured, a signature that
     * is present, fresh, valid and not seen before. Without a secret nothing is signed and
     * the settings page says so in red.
     */
    public static function checkWebhook(WP_REST_Request $request): bool|WP_Error
    {
        $allowed = self::checkKey($request);
        if ($allowed !== true) {
            return $allowed;
        }
        $secret = Options::webhookSecret();
        if ($secret === '') {
            return true;
        }
        $timestamp = (string) $request->get_header(self::TIMESTAMP_HEADER);
        $signature = (string) $request->get_header(self::SIGNATURE_HEADER);
        $checked = self::checkSignature($secret, $timestamp, $signature, $request->get_body(), time());
        $previous = Options::previous('webhook_secret');
        if ($checked instanceof WP_Error && $checked->get_error_code() === 'invalid_signature' && $previous !== '') {
            // A rotation: disparo may still sign with the secret being replaced.
            return self::checkSignature($previous, $timestamp, $signature, $request->get_body(), time());
        }
        return $checked;
    }

    public static function checkSignature(
        string $secret,
        string $timestamp,
        string $signature,
        string $body,
        int $now
    ): bool|WP_Error {
        if ($timestamp === '' || $signature === '') {
            return new WP_Error(
                'missing_signature',
                'Webhook sem assinatura (X-Disparo-Timestamp e X-Disparo-Signature).',
                ['status' => 401]
            );
        }
        $tolerance = (int) apply_filters('disparo_connector_signature_tolerance', self::DEFAULT_TOLERANCE);
        if (!ctype_digit($timestamp) || abs($now - (int) $timestamp) > $tolerance) {
            return new WP_Error(
                'stale_signature',
                'Assinatura do webhook fora da janela de tempo aceita.',
                ['status' => 401]
            );
        }
        if (!hash_equals(self::sign($secret, $timestamp, $body), trim($signature))) {
            return new WP_Error('invalid_signature', 'Assinatura do webhook inválida.', ['status' => 401]);
        }
        // disparo signs every attempt afresh: the same signature twice is a captured request.
        $first = WebhookLedger::firstSighting(trim($signature), (int) $timestamp, $tolerance, $now);
        if ($first instanceof WP_Error) {
            return $first;
        }
        if (!$first) {
            return new WP_Error(
                'replayed_signature',
                'Webhook repetido: esta assinatura já foi aceita.',
                ['status' => 401]
            );
        }
        return true;
    }

    public static function sign(string $secret, string $timestamp, string $body): string
    {
        return 'sha256=' . hash_hmac('sha256', $timestamp . '.' . $body, $secret);
    }
}

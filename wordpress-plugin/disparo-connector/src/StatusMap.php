<?php

declare(strict_types=1);

namespace Disparo\Connector;

/** disparo's webhook status onto the rows' status (CONTRACTS 2.4, Gen C column). */
final class StatusMap
{
    private const MAP = [
        'processando' => 'pendente',
        'enviado' => 'enviado',
        'iniciado' => 'enviado',
        'mkc_executado' => 'enviado',
    ];

    public static function rowStatus(string $serviceStatus): string
    {
        return self::MAP[$serviceStatus] ?? 'erro';
    }
}

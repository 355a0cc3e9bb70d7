<?php

declare(strict_types=1);

namespace Disparo\Connector;

/** What happened when a campaign was handed to disparo; `message` is shown to the admin. */
final class DispatchResult
{
    public function __construct(
        public readonly bool $ok,
        public readonly string $message,
        public readonly string $code = 'ok',
        public readonly int $httpStatus = 200,
        public readonly int $rows = 0
    ) {
    }

    public static function failed(string $code, string $message, int $httpStatus): self
    {
        return new self(false, $message, $code, $httpStatus);
    }
}

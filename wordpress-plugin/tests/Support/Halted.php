<?php

declare(strict_types=1);

namespace Disparo\Connector\Tests\Support;

use RuntimeException;

/** Raised instead of exiting (wp_die, a redirect), so a test sees where an admin action ended. */
final class Halted extends RuntimeException
{
}

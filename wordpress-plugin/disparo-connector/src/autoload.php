<?php

declare(strict_types=1);

// Classes of Disparo\Connector live in this folder, one per file, named after the class.
spl_autoload_register(static function (string $class): void {
    $prefix = 'Disparo\\Connector\\';
    if (!str_starts_with($class, $prefix)) {
        return;
    }
    $file = __DIR__ . '/' . str_replace('\\', '/', substr($class, strlen($prefix))) . '.php';
    if (is_file($file)) {
        require_once $file;
    }
});

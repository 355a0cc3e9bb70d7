<?php

/**
 * Plugin Name: Disparo Connector
 * Description: Liga o painel de campanhas ao disparo: dados, credenciais e status por REST,
 *              aprovação e agendamento de campanhas, webhooks assinados.
 * Version: 1.0.0
 * Requires at least: 6.1
 * Requires PHP: 8.2
 * License: MIT
 * Text Domain: disparo-connector
 */

declare(strict_types=1);

if (!defined('ABSPATH')) {
    exit;
}

require_once __DIR__ . '/src/autoload.php';

\Disparo\Connector\Plugin::boot(__FILE__);

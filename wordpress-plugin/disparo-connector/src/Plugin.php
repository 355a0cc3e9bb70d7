<?php

declare(strict_types=1);

namespace Disparo\Connector;

use Disparo\Connector\Admin\CampaignsPage;
use Disparo\Connector\Admin\SettingsPage;

/** Wires the plugin into WordPress. */
final class Plugin
{
    private static ?Dispatcher $dispatcher = null;

    public static function boot(string $pluginFile): void
    {
        // First: every later read of a secret option (ours or the panel's) goes through it.
        Secrets::register();
        Tls::register();
        register_activation_hook($pluginFile, [self::class, 'activate']);
        register_deactivation_hook($pluginFile, [Secrets::class, 'unsealAll']);
        add_action('init', [WebhookLedger::class, 'ensureInstalled']);
        add_action('rest_api_init', [RestRoutes::class, 'register'], 100);
        add_filter('rest_pre_serve_request', [RowStream::class, 'serve'], 10, 2);
        add_action(Scheduler::HOOK, [Scheduler::class, 'dispatchDue']);
        OutcomeSync::register();
        // Other code (a panel screen, a test) approves through this action.
        add_action('disparo_connector_approve', [self::class, 'approve']);
        if (is_admin()) {
            SettingsPage::register();
            CampaignsPage::register();
        }
    }

    public static function activate(): void
    {
        Schema::install();
        Rows::forgetColumns();
        WebhookLedger::install();
        Secrets::migrate();
    }

    public static function dispatcher(): Dispatcher
    {
        return self::$dispatcher ??= new Dispatcher();
    }

    public static function approve(string $agendamentoId): DispatchResult
    {
        return self::dispatcher()->dispatch($agendamentoId);
    }
}

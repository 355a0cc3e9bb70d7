<?php

declare(strict_types=1);

namespace Disparo\Connector\Admin;

/** One message per user carried across the redirect that follows every admin action. */
final class Notices
{
    public static function push(string $type, string $message): void
    {
        set_transient(self::key(), ['type' => $type, 'message' => $message], 120);
    }

    public static function render(): void
    {
        $notice = get_transient(self::key());
        if (!is_array($notice)) {
            return;
        }
        delete_transient(self::key());
        $class = $notice['type'] === 'success' ? 'notice-success' : 'notice-error';
        printf(
            '<div class="notice %s disparo-notice"><p>%s</p></div>',
            esc_attr($class),
            esc_html((string) $notice['message'])
        );
    }

    /** Ends an admin action: back to the page it came from. */
    public static function redirect(string $page): never
    {
        wp_safe_redirect(admin_url('admin.php?page=' . rawurlencode($page)));
        exit;
    }

    /** Capability and nonce, checked first by every handler. */
    public static function guard(string $action): void
    {
        if (!current_user_can('manage_options')) {
            wp_die(esc_html__('Acesso negado.', 'disparo-connector'), '', ['response' => 403]);
        }
        check_admin_referer($action);
    }

    private static function key(): string
    {
        return 'disparo_connector_notice_' . get_current_user_id();
    }
}

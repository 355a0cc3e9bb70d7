<?php

declare(strict_types=1);

namespace Disparo\Connector\Admin;

use Disparo\Connector\Options;
use Disparo\Connector\Secrets;
use Disparo\Connector\Tls;

/**
 * disparo's URL and key, TLS, the master key, the webhook secret, static and per-environment
 * credentials. Secrets are write-only: the page says whether one is set, never what it is;
 * an empty field keeps the stored value and a checkbox clears it. A typed secret is saved
 * byte for byte (no sanitizing: a key may hold `%41` or `<`), and sealed by Secrets.
 */
final class SettingsPage
{
    public const SLUG = 'disparo-configuracoes';
    public const SAVE = 'disparo_connector_save_settings';
    public const SAVE_ENV = 'disparo_connector_save_env_credential';
    public const DELETE_ENV = 'disparo_connector_delete_env_credential';
    /** Per-environment fields; `token` is the secret one. */
    private const ENV_FIELDS = ['url' => false, 'token' => true, 'operacao' => false, 'automation_id' => false];
    private const ENV_PROVIDERS = ['gosac', 'noah', 'salesforce', 'gosac_oficial', 'noah_oficial', 'robbu_oficial'];

    public static function register(): void
    {
        add_action('admin_menu', [self::class, 'menu'], 11);
        add_action('admin_post_' . self::SAVE, [self::class, 'handleSave']);
        add_action('admin_post_' . self::SAVE_ENV, [self::class, 'handleSaveEnv']);
        add_action('admin_post_' . self::DELETE_ENV, [self::class, 'handleDeleteEnv']);
    }

    public static function menu(): void
    {
        add_submenu_page(
            CampaignsPage::SLUG,
            'Configurações do disparo',
            'Configurações',
            'manage_options',
            self::SLUG,
            [self::class, 'render']
        );
    }

    public static function handleSave(): void
    {
        Notices::guard(self::SAVE);
        $service = Options::service();
        update_option(Options::SERVICE, [
            'url' => esc_url_raw(self::posted('service_url')),
            'api_key' => self::secret('service_api_key', $service['api_key']),
        ], false);
        update_option(Tls::OPTION, [
            'ca_bundle' => self::posted('tls_ca_bundle'),
            'insecure' => self::posted('tls_insecure') === '1',
        ], false);
        update_option(Options::MASTER_KEY, self::secret('master_key', Options::masterKey()), false);
        update_option(Options::WEBHOOK_SECRET, self::secret('webhook_secret', Options::webhookSecret()), false);
        update_option(Options::PREVIOUS, [
            'master_key' => self::secret('previous_master_key', Options::previous('master_key')),
            'webhook_secret' => self::secret('previous_webhook_secret', Options::previous('webhook_secret')),
        ], false);
        $current = Options::staticCredentials();
        $static = $current;
        foreach (Options::STATIC_FIELDS as $field => $isSecret) {
            $input = 'static_' . $field;
            if ($isSecret) {
                $static[$field] = self::secret($input, $current[$field] ?? '');
            } elseif (str_ends_with($field, '_url')) {
                $static[$field] = esc_url_raw(self::posted($input));
            } else {
                $static[$field] = self::posted($input);
            }
        }
        update_option(Options::STATIC_CREDENTIALS, $static, false);
        Notices::push('success', 'Configurações salvas.');
        Notices::redirect(self::SLUG);
    }

    public static function handleSaveEnv(): void
    {
        Notices::guard(self::SAVE_ENV);
        $provider = sanitize_key(self::posted('provider'));
        $envId = self::posted('env_id');
        if ($provider === '' || $envId === '') {
            Notices::push('error', 'Informe o fornecedor e o ambiente (idgis_ambiente).');
            Notices::redirect(self::SLUG);
        }
        $all = Options::envCredentials();
        $current = $all[$provider][$envId] ?? [];
        $block = [];
        foreach (self::ENV_FIELDS as $field => $isSecret) {
            $value = $isSecret
                ? self::secret('env_' . $field, (string) ($current[$field] ?? ''))
                : self::posted('env_' . $field);
            if ($field === 'url') {
                $value = esc_url_raw($value);
            }
            if ($value !== '') {
                $block[$field] = $value;
            }
        }
        $all[$provider][$envId] = $block;
        update_option(Options::ENV_CREDENTIALS, $all, false);
        Notices::push('success', sprintf('Credenciais de %s:%s salvas.', strtoupper($provider), $envId));
        Notices::redirect(self::SLUG);
    }

    public static function handleDeleteEnv(): void
    {
        Notices::guard(self::DELETE_ENV);
        $provider = sanitize_key(self::posted('provider'));
        $envId = self::posted('env_id');
        $all = Options::envCredentials();
        unset($all[$provider][$envId]);
        update_option(Options::ENV_CREDENTIALS, $all, false);
        Notices::push('success', sprintf('Credenciais de %s:%s removidas.', strtoupper($provider), $envId));
        Notices::redirect(self::SLUG);
    }

    private static function posted(string $name): string
    {
        $value = $_POST[$name] ?? ''; // phpcs:ignore -- nonce checked by Notices::guard
        return is_string($value) ? trim(sanitize_text_field(wp_unslash($value))) : '';
    }

    /** A write-only field: cleared on request, replaced when typed (byte for byte), else kept. */
    private static function secret(string $name, string $stored): string
    {
        if (self::posted('clear_' . $name) === '1') {
            return '';
        }
        $typed = $_POST[$name] ?? ''; // phpcs:ignore -- nonce checked by Notices::guard
        $typed = is_string($typed) ? wp_unslash($typed) : '';
        return trim($typed) !== '' ? $typed : $stored;
    }

    public static function render(): void
    {
        if (!current_user_can('manage_options')) {
            wp_die(esc_html__('Acesso negado.', 'disparo-connector'), '', ['response' => 403]);
        }
        $service = Options::service();
        $static = Options::staticCredentials();
        echo '<div class="wrap"><h1>Configurações do disparo</h1>';
        Notices::render();
        self::renderWarnings();
        self::formStart(self::SAVE);
        echo '<h2>Serviço</h2><table class="form-table">';
        self::textRow('service_url', 'URL do disparo', $service['url'], 'url');
        $tls = Tls::settings();
        $label = 'Certificados (CA) TLS do disparo: arquivo PEM (vazio: os do site)';
        self::textRow('tls_ca_bundle', $label, $tls['ca_bundle'], 'text');
        printf(
            '<tr><th><label for="tls_insecure">Verificação TLS</label></th><td><label style="color:#b32d2e">'
            . '<input type="checkbox" id="tls_insecure" name="tls_insecure" value="1"%s> '
            . 'Não verificar o certificado do disparo (inseguro: a chave de API pode ser interceptada)'
            . '</label></td></tr>',
            $tls['insecure'] ? ' checked' : ''
        );
        self::secretRow('service_api_key', 'Chave de API do disparo (vazia: usa a master key)', $service['api_key']);
        self::secretRow('master_key', 'Master API Key (X-API-KEY que o disparo envia)', Options::masterKey());
        $label = 'Segredo de assinatura dos webhooks (DISPARO_WEBHOOK_SECRET)';
        self::secretRow('webhook_secret', $label, Options::webhookSecret());
        $label = 'Master key anterior (aceita só durante uma troca; apague ao terminar)';
        self::secretRow('previous_master_key', $label, Options::previous('master_key'));
        $label = 'Segredo de webhooks anterior (aceito só durante uma troca; apague ao terminar)';
        self::secretRow('previous_webhook_secret', $label, Options::previous('webhook_secret'));
        echo '</table><h2>Credenciais estáticas</h2><table class="form-table">';
        foreach (Options::STATIC_FIELDS as $field => $isSecret) {
            $value = $static[$field] ?? '';
            if ($isSecret) {
                self::secretRow('static_' . $field, $field, $value);
            } else {
                self::textRow('static_' . $field, $field, $value, str_ends_with($field, '_url') ? 'url' : 'text');
            }
        }
        echo '</table>';
        submit_button('Salvar');
        echo '</form>';
        self::renderEnvironments();
        echo '</div>';
    }

    /** In red at the top of both screens: what an admin must see before approving anything. */
    public static function renderWarnings(): void
    {
        foreach (self::warnings() as $warning) {
            printf('<div class="notice notice-error disparo-warning"><p>%s</p></div>', esc_html($warning));
        }
    }

    /** @return list<string> what makes this site unsafe right now */
    public static function warnings(): array
    {
        $warnings = [];
        $url = Options::serviceUrl();
        if ($url !== '' && strtolower((string) wp_parse_url($url, PHP_URL_SCHEME)) !== 'https') {
            $warnings[] = 'A URL do disparo não usa https: a chave de API e os dados das campanhas passam '
                . 'sem cifra, e quem estiver no caminho pode lê-los. Use uma URL https://.';
        }
        if (Tls::settings()['insecure']) {
            $warnings[] = 'Verificação TLS desativada: as chamadas ao disparo aceitam qualquer certificado, '
                . 'e quem estiver no caminho pode ler a chave de API. Use um arquivo de CA em vez disso.';
        }
        $problem = Tls::problem();
        if ($problem !== null) {
            $warnings[] = $problem . '. Nenhuma campanha é enviada ao disparo até que seja corrigido.';
        }
        if (Options::webhookSecret() === '') {
            $warnings[] = 'Sem segredo de assinatura: webhooks de status sem assinatura são aceitos '
                . 'de quem tiver a master key. Configure o mesmo DISPARO_WEBHOOK_SECRET dos dois lados.';
        }
        if (!Secrets::available()) {
            $warnings[] = 'O wp-config.php não define salts (AUTH_KEY…): as chaves e credenciais ficam '
                . 'gravadas sem cifra no banco de dados.';
        }
        foreach (Secrets::unreadable() as $name) {
            $warnings[] = sprintf(
                'Não foi possível decifrar %s (os salts do wp-config.php mudaram?): digite esses valores de novo.',
                $name
            );
        }
        return $warnings;
    }

    private static function renderEnvironments(): void
    {
        echo '<h2>Credenciais por ambiente</h2><table class="widefat striped disparo-env"><thead><tr>'
            . '<th>Fornecedor</th><th>Ambiente</th><th>Campos</th><th></th></tr></thead><tbody>';
        foreach (Options::envCredentials() as $provider => $blocks) {
            foreach ((array) $blocks as $envId => $block) {
                echo '<tr><td>' . esc_html(strtoupper((string) $provider)) . '</td>';
                echo '<td>' . esc_html((string) $envId) . '</td>';
                echo '<td>' . esc_html(implode(', ', array_keys((array) $block))) . '</td><td>';
                self::formStart(self::DELETE_ENV);
                echo '<input type="hidden" name="provider" value="' . esc_attr((string) $provider) . '">';
                echo '<input type="hidden" name="env_id" value="' . esc_attr((string) $envId) . '">';
                submit_button('Remover', 'delete small', 'submit', false);
                echo '</form></td></tr>';
            }
        }
        echo '</tbody></table><h3>Adicionar ou alterar</h3>';
        self::formStart(self::SAVE_ENV);
        echo '<table class="form-table"><tr><th><label for="disparo-provider">Fornecedor</label></th><td>'
            . '<select id="disparo-provider" name="provider">';
        foreach (self::ENV_PROVIDERS as $provider) {
            echo '<option value="' . esc_attr($provider) . '">' . esc_html(strtoupper($provider)) . '</option>';
        }
        echo '</select></td></tr>';
        self::textRow('env_id', 'Ambiente (idgis_ambiente)', '', 'text');
        foreach (self::ENV_FIELDS as $field => $isSecret) {
            if ($isSecret) {
                self::secretRow('env_' . $field, $field, '');
            } else {
                self::textRow('env_' . $field, $field, '', $field === 'url' ? 'url' : 'text');
            }
        }
        echo '</table>';
        submit_button('Salvar credencial');
        echo '</form>';
    }

    private static function formStart(string $action): void
    {
        echo '<form method="post" action="' . esc_url(admin_url('admin-post.php')) . '">';
        echo '<input type="hidden" name="action" value="' . esc_attr($action) . '">';
        wp_nonce_field($action);
    }

    private static function textRow(string $name, string $label, string $value, string $type): void
    {
        printf(
            '<tr><th><label for="%1$s">%2$s</label></th><td>'
            . '<input class="regular-text" type="%3$s" id="%1$s" name="%1$s" value="%4$s"></td></tr>',
            esc_attr($name),
            esc_html($label),
            esc_attr($type),
            esc_attr($value)
        );
    }

    /** The input is always empty: a stored secret is shown as "configurada", never echoed. */
    private static function secretRow(string $name, string $label, string $stored): void
    {
        $state = $stored !== '' ? 'configurada' : 'não configurada';
        printf(
            '<tr><th><label for="%1$s">%2$s</label></th><td>'
            . '<input class="regular-text" type="password" id="%1$s" name="%1$s" value="" autocomplete="new-password"> '
            . '<span class="description">%3$s</span> '
            . '<label><input type="checkbox" name="clear_%1$s" value="1"> apagar</label></td></tr>',
            esc_attr($name),
            esc_html($label),
            esc_html($state)
        );
    }
}

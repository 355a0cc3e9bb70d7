<?php

declare(strict_types=1);

namespace Disparo\Connector\Admin;

use DateTimeImmutable;
use Disparo\Connector\Options;
use Disparo\Connector\Plugin;
use Disparo\Connector\Preflight;
use Disparo\Connector\Rows;
use Disparo\Connector\Scheduler;
use Exception;

/**
 * Campaigns awaiting approval. Each row leads to its review screen: disparo's preflight (what
 * a dispatch would do, nothing sent) above the form that approves now or schedules for later.
 * Below them, the campaigns sent, with each row's outcome (OutcomesView).
 */
final class CampaignsPage
{
    public const SLUG = 'disparo-campanhas';
    public const ACTION = 'disparo_connector_approve';
    public const REVIEW = 'disparo_connector_review';

    public static function register(): void
    {
        add_action('admin_menu', [self::class, 'menu']);
        add_action('admin_post_' . self::ACTION, [self::class, 'handleApprove']);
    }

    public static function menu(): void
    {
        add_menu_page(
            'Disparo',
            'Disparo',
            'manage_options',
            self::SLUG,
            [self::class, 'render'],
            'dashicons-megaphone'
        );
        add_submenu_page(self::SLUG, 'Campanhas', 'Campanhas', 'manage_options', self::SLUG, [self::class, 'render']);
    }

    public static function nonceAction(string $agendamentoId): string
    {
        return self::ACTION . '_' . $agendamentoId;
    }

    public static function reviewNonceAction(string $agendamentoId): string
    {
        return self::REVIEW . '_' . $agendamentoId;
    }

    /** The review screen of one campaign (its link carries a nonce: it calls disparo). */
    public static function reviewUrl(string $agendamentoId): string
    {
        $url = add_query_arg(['page' => self::SLUG, 'review' => $agendamentoId], admin_url('admin.php'));
        return wp_nonce_url($url, self::reviewNonceAction($agendamentoId));
    }

    public static function handleApprove(): void
    {
        $agendamentoId = sanitize_text_field(wp_unslash((string) ($_POST['agendamento_id'] ?? '')));
        Notices::guard(self::nonceAction($agendamentoId));
        if ($agendamentoId === '') {
            Notices::push('error', 'Agendamento não informado.');
            Notices::redirect(self::SLUG);
        }
        $when = self::scheduleTime(sanitize_text_field(wp_unslash((string) ($_POST['schedule_at'] ?? ''))));
        if ($when === false) {
            Notices::push('error', 'Data de agendamento inválida.');
        } elseif ($when !== null && $when > time()) {
            Scheduler::schedule($agendamentoId, $when);
            Notices::push('success', sprintf(
                'Campanha %s agendada para %s.',
                $agendamentoId,
                wp_date('d/m/Y H:i', $when)
            ));
        } else {
            $result = Plugin::approve($agendamentoId);
            Notices::push($result->ok ? 'success' : 'error', $agendamentoId . ': ' . $result->message);
        }
        Notices::redirect(self::SLUG);
    }

    /** A datetime-local value in the site's time zone; null when empty, false when invalid. */
    private static function scheduleTime(string $value): int|false|null
    {
        if ($value === '') {
            return null;
        }
        try {
            return (new DateTimeImmutable($value, wp_timezone()))->getTimestamp();
        } catch (Exception) {
            return false;
        }
    }

    public static function render(): void
    {
        if (!current_user_can('manage_options')) {
            wp_die(esc_html__('Acesso negado.', 'disparo-connector'), '', ['response' => 403]);
        }
        $review = sanitize_text_field(wp_unslash((string) ($_GET['review'] ?? '')));
        if ($review !== '') {
            self::renderReview($review);
            return;
        }
        $results = sanitize_text_field(wp_unslash((string) ($_GET['results'] ?? '')));
        if ($results !== '') {
            OutcomesView::renderCampaign($results);
            return;
        }
        $schedules = Options::schedules();
        $errors = Options::dispatchErrors();
        echo '<div class="wrap"><h1>Campanhas aguardando aprovação</h1>';
        Notices::render();
        SettingsPage::renderWarnings();
        echo '<table class="widefat striped disparo-campaigns"><thead><tr>';
        foreach (['Agendamento', 'Fornecedor', 'Linhas', 'Cadastro', 'Situação', 'Ação'] as $title) {
            echo '<th>' . esc_html($title) . '</th>';
        }
        echo '</tr></thead><tbody>';
        $campaigns = Rows::campaignsAwaitingApproval();
        if ($campaigns === []) {
            echo '<tr><td colspan="6">Nenhuma campanha aguardando aprovação.</td></tr>';
        }
        foreach ($campaigns as $campaign) {
            self::renderRow($campaign, $schedules, $errors);
        }
        echo '</tbody></table>';
        OutcomesView::renderSummary();
        echo '</div>';
    }

    /**
     * @param array<string, mixed> $campaign
     * @param array<string, int> $schedules
     * @param array<string, string> $errors
     */
    private static function renderRow(array $campaign, array $schedules, array $errors): void
    {
        $id = (string) $campaign['agendamento_id'];
        $situation = isset($schedules[$id]) ? 'Agendada para ' . wp_date('d/m/Y H:i', $schedules[$id]) : 'Pendente';
        if (isset($errors[$id])) {
            $situation .= ' — último erro: ' . $errors[$id];
        }
        echo '<tr data-agendamento="' . esc_attr($id) . '">';
        echo '<td>' . esc_html($id) . '</td>';
        echo '<td>' . esc_html((string) $campaign['fornecedor']) . '</td>';
        echo '<td>' . esc_html((string) $campaign['total']) . '</td>';
        echo '<td>' . esc_html((string) $campaign['data_cadastro']) . '</td>';
        echo '<td>' . esc_html($situation) . '</td><td>';
        printf(
            '<a class="button button-primary button-small" href="%s">%s</a>',
            esc_url(self::reviewUrl($id)),
            esc_html('Verificar e aprovar')
        );
        echo '</td></tr>';
    }

    /** The preflight report, then the approve form: the admin confirms having seen it. */
    private static function renderReview(string $agendamentoId): void
    {
        $nonce = sanitize_text_field(wp_unslash((string) ($_GET['_wpnonce'] ?? '')));
        if (!wp_verify_nonce($nonce, self::reviewNonceAction($agendamentoId))) {
            $expired = esc_html__('Link expirado: volte à lista de campanhas.', 'disparo-connector');
            wp_die($expired, '', ['response' => 403]);
        }
        echo '<div class="wrap"><h1>' . esc_html('Aprovar ' . $agendamentoId) . '</h1>';
        printf(
            '<p><a href="%s">%s</a></p>',
            esc_url(admin_url('admin.php?page=' . self::SLUG)),
            esc_html('← Campanhas aguardando aprovação')
        );
        SettingsPage::renderWarnings();
        echo '<h2>Verificação do disparo (nada é enviado)</h2>';
        $checked = Preflight::check($agendamentoId);
        if ($checked['report'] !== null) {
            PreflightView::render($checked['report']);
        } else {
            printf(
                '<div class="notice notice-warning inline disparo-preflight-error"><p>%s</p></div>',
                esc_html('Não foi possível verificar a campanha: ' . $checked['message'])
            );
        }
        echo '<div class="disparo-approve" data-review="' . esc_attr($agendamentoId) . '">';
        echo '<form method="post" action="' . esc_url(admin_url('admin-post.php')) . '">';
        wp_nonce_field(self::nonceAction($agendamentoId));
        echo '<input type="hidden" name="action" value="' . esc_attr(self::ACTION) . '">';
        echo '<input type="hidden" name="agendamento_id" value="' . esc_attr($agendamentoId) . '">';
        echo '<label>Agendar para <input type="datetime-local" name="schedule_at"></label> ';
        submit_button('Confirmar aprovação', 'primary', 'submit', false);
        echo '</form></div></div>';
    }
}

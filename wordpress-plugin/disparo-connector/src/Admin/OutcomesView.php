<?php

declare(strict_types=1);

namespace Disparo\Connector\Admin;

use Disparo\Connector\OutcomeSync;
use Disparo\Connector\RowOutcomes;

/**
 * The campaigns page's results: per campaign its rows counted by outcome, and one campaign's
 * rows with each one's outcome and reason, a page at a time (keyset by row id).
 */
final class OutcomesView
{
    public const PAGE = 100;
    private const OUTCOMES = [
        RowOutcomes::SENT => 'Enviadas',
        RowOutcomes::SKIPPED => 'Ignoradas',
        RowOutcomes::FAILED => 'Com falha',
        RowOutcomes::UNKNOWN => 'Desconhecidas',
        RowOutcomes::PENDING => 'Pendentes',
    ];
    private const PHASES = [
        OutcomeSync::ROWS => 'Buscando resultados',
        OutcomeSync::DELIVERIES => 'Acompanhando entregas',
        OutcomeSync::DONE => 'Concluído',
        OutcomeSync::FAILED => 'Falhou',
    ];

    public static function url(string $agendamentoId, array $args = []): string
    {
        $args = ['page' => CampaignsPage::SLUG, 'results' => $agendamentoId] + $args;
        return add_query_arg(array_map('rawurlencode', $args), admin_url('admin.php'));
    }

    public static function renderSummary(): void
    {
        echo '<h2>Resultados por linha</h2>';
        echo '<table class="widefat striped disparo-outcomes"><thead><tr>';
        $titles = array_merge(['Agendamento'], array_values(self::OUTCOMES), ['Entregas', 'Situação']);
        foreach ($titles as $title) {
            echo '<th>' . esc_html($title) . '</th>';
        }
        echo '</tr></thead><tbody>';
        $campaigns = OutcomeSync::recent(20);
        if ($campaigns === []) {
            echo '<tr><td colspan="' . count($titles) . '">Nenhum resultado recebido do disparo ainda.</td></tr>';
        }
        foreach ($campaigns as $campaign) {
            self::renderSummaryRow($campaign);
        }
        echo '</tbody></table>';
    }

    /** @param array<string, mixed> $campaign */
    private static function renderSummaryRow(array $campaign): void
    {
        $id = (string) $campaign['agendamento_id'];
        $counts = RowOutcomes::counts($id);
        echo '<tr data-outcomes="' . esc_attr($id) . '">';
        printf('<td><a href="%s">%s</a></td>', esc_url(self::url($id)), esc_html($id));
        foreach (array_keys(self::OUTCOMES) as $outcome) {
            $total = (string) ($counts[$outcome] ?? 0);
            echo '<td data-outcome="' . esc_attr($outcome) . '">' . esc_html($total) . '</td>';
        }
        echo '<td>' . esc_html(self::deliveryLine(RowOutcomes::deliveryCounts($id))) . '</td>';
        $situation = self::PHASES[$campaign['phase']] ?? (string) $campaign['phase'];
        if (!empty($campaign['last_error'])) {
            $situation .= ' — último erro: ' . $campaign['last_error'];
        }
        echo '<td>' . esc_html($situation) . '</td></tr>';
    }

    /** @param array<string, int> $counts */
    private static function deliveryLine(array $counts): string
    {
        $parts = [];
        foreach ($counts as $state => $total) {
            $parts[] = $total . ' ' . strtolower($state);
        }
        return $parts === [] ? '—' : implode(', ', $parts);
    }

    public static function renderCampaign(string $agendamentoId): void
    {
        $after = max(0, (int) ($_GET['after'] ?? 0));
        $outcome = sanitize_key(wp_unslash((string) ($_GET['outcome'] ?? '')));
        $outcome = isset(self::OUTCOMES[$outcome]) ? $outcome : '';
        echo '<div class="wrap"><h1>' . esc_html('Resultados de ' . $agendamentoId) . '</h1>';
        printf(
            '<p><a href="%s">%s</a></p>',
            esc_url(admin_url('admin.php?page=' . CampaignsPage::SLUG)),
            esc_html('← Campanhas')
        );
        self::renderFilter($agendamentoId, $outcome);
        $rows = RowOutcomes::page($agendamentoId, $after, self::PAGE, $outcome);
        echo '<table class="widefat striped disparo-row-outcomes"><thead><tr>';
        foreach (['Linha', 'Telefone', 'Resultado', 'Motivo', 'Entrega', 'Entrega em'] as $title) {
            echo '<th>' . esc_html($title) . '</th>';
        }
        echo '</tr></thead><tbody>';
        if ($rows === []) {
            echo '<tr><td colspan="6">Nenhuma linha.</td></tr>';
        }
        foreach ($rows as $row) {
            self::renderRow($row);
        }
        echo '</tbody></table>';
        if (count($rows) === self::PAGE) {
            $next = ['after' => (string) $rows[self::PAGE - 1]['row_id']];
            $next += $outcome !== '' ? ['outcome' => $outcome] : [];
            printf(
                '<p><a class="button disparo-next" href="%s">%s</a></p>',
                esc_url(self::url($agendamentoId, $next)),
                esc_html('Próxima página →')
            );
        }
        echo '</div>';
    }

    private static function renderFilter(string $agendamentoId, string $current): void
    {
        $counts = RowOutcomes::counts($agendamentoId);
        $links = [sprintf('<a href="%s">%s</a>', esc_url(self::url($agendamentoId)), esc_html('Todas'))];
        foreach (self::OUTCOMES as $outcome => $label) {
            $text = $label . ' (' . ($counts[$outcome] ?? 0) . ')';
            $url = self::url($agendamentoId, ['outcome' => $outcome]);
            $links[] = $outcome === $current
                ? '<strong>' . esc_html($text) . '</strong>'
                : sprintf('<a href="%s">%s</a>', esc_url($url), esc_html($text));
        }
        echo '<p class="disparo-outcome-filter">' . implode(' | ', $links) . '</p>';
    }

    /** @param array<string, mixed> $row */
    private static function renderRow(array $row): void
    {
        $outcome = (string) $row['outcome'];
        echo '<tr data-row="' . esc_attr((string) $row['row_id']) . '" data-outcome="' . esc_attr($outcome) . '">';
        echo '<td>' . esc_html((string) $row['row_id']) . '</td>';
        echo '<td>' . esc_html((string) ($row['telefone'] ?? '')) . '</td>';
        echo '<td>' . esc_html(self::OUTCOMES[$outcome] ?? $outcome) . '</td>';
        echo '<td>' . esc_html((string) ($row['reason'] ?? '')) . '</td>';
        echo '<td>' . esc_html(strtolower((string) ($row['delivery_status'] ?? ''))) . '</td>';
        echo '<td>' . esc_html((string) ($row['delivery_at'] ?? '')) . '</td></tr>';
    }
}

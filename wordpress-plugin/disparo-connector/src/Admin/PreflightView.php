<?php

declare(strict_types=1);

namespace Disparo\Connector\Admin;

/** The preflight report as HTML, every value escaped (it comes from disparo, and rows from users). */
final class PreflightView
{
    private const FIGURES = [
        'rows' => 'Linhas',
        'valid' => 'Válidas',
        'skipped' => 'Ignoradas',
        'batches' => 'Lotes',
        'requests' => 'Requisições ao fornecedor',
    ];

    /** @param array<string, mixed> $report */
    public static function render(array $report): void
    {
        $verdict = !empty($report['would_dispatch'])
            ? sprintf('Um disparo agora enviaria para %s destinatários.', self::number($report['valid'] ?? 0))
            : 'Um disparo agora não enviaria nada.';
        $class = !empty($report['would_dispatch']) ? 'notice-info' : 'notice-error';
        echo '<div class="disparo-preflight">';
        printf('<div class="notice %s inline"><p>%s</p></div>', esc_attr($class), esc_html($verdict));
        echo '<table class="widefat striped disparo-preflight-figures"><tbody>';
        foreach (self::FIGURES as $field => $label) {
            self::row($label, self::number($report[$field] ?? 0), $field);
        }
        self::row('Início mais cedo', self::when($report['earliest_start'] ?? ''), 'earliest_start');
        self::row('Fim estimado', self::when($report['estimated_finish'] ?? ''), 'estimated_finish');
        $step = $report['second_step'] ?? null;
        if (is_array($step)) {
            $runs = self::number($step['runs'] ?? 1);
            $label = sprintf('Segunda etapa (%s, %s×)', self::text($step['step'] ?? ''), $runs);
            self::row($label, self::when($step['at'] ?? ''), 'second_step');
        }
        self::row('Credenciais', !empty($report['credentials_ok']) ? 'ok' : 'com problema', 'credentials');
        echo '</tbody></table>';
        self::problems($report['problems'] ?? []);
        self::reasons('Ignoradas por motivo', $report['skipped_by_reason'] ?? []);
        self::reasons('Enviadas, mas a conferir', $report['warnings_by_reason'] ?? []);
        echo '</div>';
    }

    private static function row(string $label, string $value, string $field): void
    {
        printf(
            '<tr><th scope="row">%s</th><td data-field="%s">%s</td></tr>',
            esc_html($label),
            esc_attr($field),
            esc_html($value)
        );
    }

    private static function problems(mixed $problems): void
    {
        foreach (is_array($problems) ? $problems : [] as $problem) {
            if (!is_array($problem)) {
                continue;
            }
            printf(
                '<div class="notice notice-error inline disparo-preflight-problem"><p>%s: %s</p></div>',
                esc_html(self::text($problem['phase'] ?? '')),
                esc_html(self::text($problem['message'] ?? ''))
            );
        }
    }

    private static function reasons(string $title, mixed $reasons): void
    {
        if (!is_array($reasons) || $reasons === []) {
            return;
        }
        printf('<h3>%s</h3>', esc_html($title));
        echo '<table class="widefat striped disparo-preflight-reasons"><thead><tr>';
        echo '<th>Motivo</th><th>Linhas</th><th>Exemplos (linha: telefone)</th></tr></thead><tbody>';
        foreach ($reasons as $entry) {
            if (!is_array($entry)) {
                continue;
            }
            $examples = [];
            foreach (is_array($entry['examples'] ?? null) ? $entry['examples'] : [] as $example) {
                $examples[] = self::text($example['row'] ?? '') . ': ' . self::text($example['phone'] ?? '');
            }
            printf(
                '<tr data-reason="%s"><td>%s</td><td>%s</td><td>%s</td></tr>',
                esc_attr(self::text($entry['reason'] ?? '')),
                esc_html(self::text($entry['reason'] ?? '')),
                esc_html(self::number($entry['count'] ?? 0)),
                esc_html(implode(', ', $examples))
            );
        }
        echo '</tbody></table>';
    }

    private static function number(mixed $value): string
    {
        return is_numeric($value) ? number_format_i18n((float) $value) : '0';
    }

    /** disparo's ISO 8601 time in the site's time zone. */
    private static function when(mixed $value): string
    {
        $time = is_string($value) && $value !== '' ? strtotime($value) : false;
        return $time === false ? '' : (string) wp_date('d/m/Y H:i:s', $time);
    }

    private static function text(mixed $value): string
    {
        return is_scalar($value) ? (string) $value : '';
    }
}

<?php

declare(strict_types=1);

namespace Disparo\Connector;

use WP_Error;
use WP_REST_Request;
use WP_REST_Response;

/**
 * The contract's routes (CONTRACTS 2.1, 2.2, 2.4) and the panel's old per-campaign dispatch
 * route. A route another plugin (the panel) already serves is left to it. Plus this plugin's
 * own: each row's outcome (RowOutcomes) for the panel, `GET disparo/v1/outcomes/{id}`.
 */
final class RestRoutes
{
    public const RESPOSTA_MAX = 12000;
    public const PROGRESSO_MAX = 2048;
    private const FINAL_ROW_STATUSES = ['enviado', 'erro'];

    public static function register(): void
    {
        self::route('campaigns/v1', '/data/(?P<agendamento_id>[^/]+)', 'GET', [self::class, 'data']);
        self::route(
            'api-manager/v1',
            '/credentials/(?P<provider>[^/]+)/(?P<env_id>[^/]+)',
            'GET',
            [self::class, 'credentials']
        );
        self::route('webhook-status/v1', '/update', 'POST', [self::class, 'webhook'], [Auth::class, 'checkWebhook']);
        self::route('unique/v1', '/(?P<agendamento_id>[^/]+)', 'POST', [self::class, 'dispatch']);
        self::route('disparo/v1', '/outcomes/(?P<agendamento_id>[^/]+)', 'GET', [self::class, 'outcomes']);
    }

    /**
     * One agendamento's counts by outcome and one page of its rows' outcomes, by row id:
     * `?after=<row id>&limit=<1..1000>&outcome=sent|skipped|failed|unknown|pending`.
     */
    public static function outcomes(WP_REST_Request $request): WP_REST_Response
    {
        $agendamentoId = trim((string) $request->get_param('agendamento_id'));
        $limit = min(1000, max(1, (int) ($request->get_param('limit') ?? 100)));
        $outcome = sanitize_key((string) $request->get_param('outcome'));
        $rows = RowOutcomes::page($agendamentoId, max(0, (int) $request->get_param('after')), $limit, $outcome);
        return new WP_REST_Response([
            'agendamento_id' => $agendamentoId,
            'counts' => RowOutcomes::counts($agendamentoId),
            'delivery' => RowOutcomes::deliveryCounts($agendamentoId),
            'sync' => OutcomeSync::load($agendamentoId)['phase'] ?? null,
            'items' => $rows,
            'next_after' => count($rows) === $limit ? (int) $rows[$limit - 1]['row_id'] : null,
        ], 200);
    }

    private static function route(
        string $namespace,
        string $path,
        string $method,
        callable $callback,
        ?callable $permission = null
    ): void {
        $routes = rest_get_server()->get_routes($namespace);
        if (isset($routes['/' . $namespace . $path])) {
            return;
        }
        register_rest_route($namespace, $path, [
            'methods' => $method,
            'callback' => $callback,
            'permission_callback' => $permission ?? [Auth::class, 'checkKey'],
        ]);
    }

    public static function data(WP_REST_Request $request): WP_REST_Response|WP_Error
    {
        $agendamentoId = trim((string) $request->get_param('agendamento_id'));
        if ($agendamentoId === '') {
            return new WP_Error('invalid_agendamento', 'ID do agendamento inválido.', ['status' => 400]);
        }
        if (Rows::pendingRows($agendamentoId, 0, 1) === []) {
            return new WP_Error('no_data', 'Nenhum dado encontrado para este agendamento.', ['status' => 404]);
        }
        return new WP_REST_Response(new RowStream($agendamentoId), 200);
    }

    /**
     * One row as the contract's Gen C element: every scalar a string, variables an object.
     *
     * @param array<string, mixed> $row
     * @return array<string, mixed>
     */
    public static function rowForService(array $row): array
    {
        $text = static fn (string $name): string => isset($row[$name]) ? (string) $row[$name] : '';
        $digits = preg_replace('/\D+/', '', $text('telefone')) ?? '';
        $telefone = strlen($digits) > 11 && str_starts_with($digits, '55') ? $digits : '55' . $digits;
        $out = [
            'id' => $text('id'),
            'agendamento_id' => $text('agendamento_id'),
            'telefone' => $telefone,
            'nome' => $text('nome'),
            'id_carteira' => $text('id_carteira'),
            'carteira_nome' => $text('carteira_nome'),
            'idgis_ambiente' => $text('idgis_ambiente'),
            'idcob_contrato' => $text('idcob_contrato'),
            'cpf_cnpj' => $text('cpf_cnpj'),
            'mensagem' => $text('mensagem'),
            'data_cadastro' => $text('data_cadastro') !== '' ? $text('data_cadastro') : current_time('mysql'),
            'midia_campanha' => $text('midia_campanha'),
            'nome_campanha' => $text('nome_campanha'),
            'broker_code' => $text('broker_code'),
        ];
        $out['variables'] = [
            'nome' => $out['nome'],
            'telefone' => $telefone,
            'cpf_cnpj' => $out['cpf_cnpj'],
            'idcob_contrato' => $out['idcob_contrato'],
            'idgis_ambiente' => $out['idgis_ambiente'],
            'nome_campanha' => $out['nome_campanha'],
        ];
        return $out;
    }

    public static function credentials(WP_REST_Request $request): WP_REST_Response|WP_Error
    {
        $found = Credentials::forProvider(
            (string) $request->get_param('provider'),
            (string) $request->get_param('env_id')
        );
        return $found instanceof WP_Error ? $found : new WP_REST_Response($found, 200);
    }

    public static function webhook(WP_REST_Request $request): WP_REST_Response|WP_Error
    {
        $params = json_decode($request->get_body(), true);
        if (!is_array($params) || $params === []) {
            return new WP_Error('invalid_request', 'Body vazio', ['status' => 400]);
        }
        if (!empty($params['bulk'])) {
            return self::bulk($params['updates'] ?? null);
        }
        $outcome = self::applyOne($params);
        if ($outcome instanceof WP_Error) {
            return $outcome;
        }
        return new WP_REST_Response([
            'success' => true,
            'message' => 'Status atualizado com sucesso',
            'agendamento_id' => $outcome['agendamento_id'],
            'status' => $outcome['status'],
            'records_updated' => $outcome['records'],
            'total_enviados' => (int) ($params['total_enviados'] ?? 0),
            'total_falhas' => (int) ($params['total_falhas'] ?? 0),
        ], 200);
    }

    private static function bulk(mixed $updates): WP_REST_Response|WP_Error
    {
        if (!is_array($updates) || $updates === [] || count($updates) > 250) {
            return new WP_Error('invalid_request', 'updates deve ser uma lista de 1 a 250 itens', ['status' => 400]);
        }
        $results = [];
        $records = 0;
        foreach ($updates as $update) {
            $outcome = self::applyOne(is_array($update) ? $update : []);
            if ($outcome instanceof WP_Error) {
                $data = (array) $outcome->get_error_data();
                $results[] = [
                    'agendamento_id' => sanitize_text_field((string) ($update['agendamento_id'] ?? '')),
                    'ok' => false,
                    'reason' => $data['reason'] ?? $outcome->get_error_code(),
                ];
                continue;
            }
            $records += $outcome['records'];
            $results[] = [
                'agendamento_id' => $outcome['agendamento_id'],
                'ok' => true,
                'records' => $outcome['records'],
            ];
        }
        $errors = count(array_filter($results, static fn (array $result): bool => !$result['ok']));
        return new WP_REST_Response([
            'success' => $errors === 0,
            'message' => sprintf('Bulk processado: %d ok, %d com erro', count($results) - $errors, $errors),
            'total_items' => count($results),
            'total_records_updated' => $records,
            'total_errors' => $errors,
            'results' => $results,
        ], 200);
    }

    /**
     * @param array<string, mixed> $params
     * @return array{agendamento_id: string, status: string, records: int}|WP_Error
     */
    private static function applyOne(array $params): array|WP_Error
    {
        $agendamentoId = sanitize_text_field((string) ($params['agendamento_id'] ?? ''));
        $status = sanitize_text_field((string) ($params['status'] ?? ''));
        if ($agendamentoId === '' || $status === '') {
            return new WP_Error(
                'invalid_request',
                'agendamento_id e status são obrigatórios',
                ['status' => 400, 'reason' => 'missing_fields']
            );
        }
        $sequencia = self::sequencia($params);
        if ($sequencia instanceof WP_Error) {
            return $sequencia;
        }
        $rowStatus = StatusMap::rowStatus($status);
        $total = Rows::countAll($agendamentoId);
        if ($total === 0) {
            $message = "Nenhum registro encontrado para o agendamento {$agendamentoId}.";
            return new WP_Error('agendamento_not_found', $message, [
                'status' => 404,
                'reason' => 'agendamento_not_found',
                'agendamento_id' => $agendamentoId,
                'received_status' => $status,
                'normalized_status' => $rowStatus,
            ]);
        }
        // An older webhook (a replay, a late retry) never overwrites a newer status.
        return WebhookLedger::inOrder(
            $agendamentoId,
            $sequencia,
            static fn (): array|WP_Error => self::applyRows($agendamentoId, $rowStatus, $total, $params)
        );
    }

    /**
     * @param array<string, mixed> $params
     * @return array{agendamento_id: string, status: string, records: int}|WP_Error
     */
    private static function applyRows(
        string $agendamentoId,
        string $rowStatus,
        int $total,
        array $params
    ): array|WP_Error {
        if ($rowStatus === Rows::PENDING && self::finished($agendamentoId, $total)) {
            // A progress line that arrives late never reopens a finished campaign.
            return ['agendamento_id' => $agendamentoId, 'status' => $rowStatus, 'records' => 0];
        }
        $changed = Rows::applyStatus(
            $agendamentoId,
            $rowStatus,
            self::utcDate($params['data_disparo'] ?? null),
            self::resposta($params)
        );
        if ($changed === false) {
            $data = ['status' => 500, 'reason' => 'database_error'];
            return new WP_Error('database_error', 'Erro ao atualizar o banco de dados.', $data);
        }
        return ['agendamento_id' => $agendamentoId, 'status' => $rowStatus, 'records' => $changed];
    }

    /**
     * The body's `sequencia` (disparo numbers each campaign's webhooks 1, 2, 3…): null when
     * absent, an error when it is not a non-negative integer.
     *
     * @param array<string, mixed> $params
     */
    private static function sequencia(array $params): int|null|WP_Error
    {
        $value = $params['sequencia'] ?? null;
        if ($value === null) {
            return null;
        }
        if (is_int($value) && $value >= 0) {
            return $value;
        }
        if (is_string($value) && ctype_digit($value) && strlen($value) < 19) {
            return (int) $value;
        }
        return new WP_Error(
            'invalid_request',
            'sequencia deve ser um inteiro não negativo',
            ['status' => 400, 'reason' => 'invalid_sequencia']
        );
    }

    private static function finished(string $agendamentoId, int $total): bool
    {
        $final = 0;
        foreach (self::FINAL_ROW_STATUSES as $status) {
            $final += Rows::countWithStatus($agendamentoId, $status);
        }
        return $final === $total;
    }

    /** @param array<string, mixed> $params */
    private static function resposta(array $params): string
    {
        $resposta = $params['resposta_api'] ?? '';
        $text = is_string($resposta) ? $resposta : (string) wp_json_encode($resposta);
        if (mb_strlen($text) > self::RESPOSTA_MAX) {
            $text = mb_substr($text, 0, self::RESPOSTA_MAX) . "\n...[truncado]";
        }
        $progresso = sanitize_text_field((string) ($params['mensagem_progresso'] ?? ''));
        $progresso = mb_substr($progresso, 0, self::PROGRESSO_MAX);
        if ($progresso === '') {
            return $text;
        }
        return $text === '' ? $progresso : $progresso . "\n\n" . $text;
    }

    /** ISO-8601 instant as UTC `Y-m-d H:i:s` (WordPress keeps PHP on UTC); now when absent. */
    private static function utcDate(mixed $value): string
    {
        $time = is_string($value) && $value !== '' ? strtotime($value) : false;
        return gmdate('Y-m-d H:i:s', $time === false ? time() : $time);
    }

    public static function dispatch(WP_REST_Request $request): WP_REST_Response|WP_Error
    {
        $agendamentoId = trim((string) $request->get_param('agendamento_id'));
        if ($agendamentoId === '') {
            return new WP_Error('invalid_agendamento', 'Necessário passar um agendamento_id válido', ['status' => 400]);
        }
        $result = Plugin::dispatcher()->dispatch($agendamentoId);
        if (!$result->ok) {
            return new WP_Error($result->code, $result->message, ['status' => $result->httpStatus]);
        }
        return new WP_REST_Response([
            'success' => true,
            'message' => $result->message,
            'agendamento_id' => $agendamentoId,
            'records_updated' => $result->rows,
        ], 200);
    }
}

<?php

declare(strict_types=1);

namespace Disparo\Connector;

/** Reads and writes of the campaign rows ({prefix}envios_pendentes); every query prepared. */
final class Rows
{
    public const AWAITING_APPROVAL = 'pendente_aprovacao';
    public const PENDING = 'pendente';

    /** Gen C columns a panel's older table may lack; they are read only when present. */
    private const OPTIONAL_COLUMNS = [
        'id_carteira', 'carteira_nome', 'idgis_ambiente', 'nome_campanha', 'midia_campanha',
        'broker_code', 'fornecedor',
    ];

    /** @var array<string, bool>|null */
    private static ?array $columns = null;

    /** @return array<int, array<string, mixed>> pending rows of one agendamento after an id, by id */
    public static function pendingRows(string $agendamentoId, int $afterId = 0, int $limit = 1000000): array
    {
        global $wpdb;
        $table = Schema::table();
        $optional = array_values(array_filter(
            self::OPTIONAL_COLUMNS,
            static fn (string $column): bool => self::hasColumn($column)
        ));
        $select = implode(', ', array_merge(
            ['id', 'agendamento_id', 'telefone', 'nome', 'idcob_contrato', 'cpf_cnpj', 'mensagem',
                'data_cadastro'],
            $optional
        ));
        $rows = $wpdb->get_results(
            $wpdb->prepare(
                "SELECT {$select} FROM {$table} WHERE agendamento_id = %s AND status IN (%s, %s)"
                . ' AND id > %d ORDER BY id ASC LIMIT %d',
                $agendamentoId,
                self::AWAITING_APPROVAL,
                self::PENDING,
                $afterId,
                $limit
            ),
            ARRAY_A
        );
        return is_array($rows) ? $rows : [];
    }

    public static function firstMessage(string $agendamentoId): string
    {
        global $wpdb;
        $table = Schema::table();
        return (string) $wpdb->get_var($wpdb->prepare(
            "SELECT mensagem FROM {$table} WHERE agendamento_id = %s AND status IN (%s, %s)"
            . ' ORDER BY id ASC LIMIT 1',
            $agendamentoId,
            self::AWAITING_APPROVAL,
            self::PENDING
        ));
    }

    /** @return array{count: int, fornecedor: string} */
    public static function awaitingApproval(string $agendamentoId): array
    {
        global $wpdb;
        $table = Schema::table();
        $fornecedor = self::hasColumn('fornecedor') ? 'MAX(fornecedor)' : "''";
        $row = $wpdb->get_row(
            $wpdb->prepare(
                "SELECT COUNT(*) AS total, {$fornecedor} AS fornecedor FROM {$table}"
                . ' WHERE agendamento_id = %s AND status = %s',
                $agendamentoId,
                self::AWAITING_APPROVAL
            ),
            ARRAY_A
        );
        return ['count' => (int) ($row['total'] ?? 0), 'fornecedor' => (string) ($row['fornecedor'] ?? '')];
    }

    public static function countWithStatus(string $agendamentoId, string $status): int
    {
        global $wpdb;
        $table = Schema::table();
        return (int) $wpdb->get_var($wpdb->prepare(
            "SELECT COUNT(*) FROM {$table} WHERE agendamento_id = %s AND status = %s",
            $agendamentoId,
            $status
        ));
    }

    public static function countAll(string $agendamentoId): int
    {
        global $wpdb;
        $table = Schema::table();
        return (int) $wpdb->get_var(
            $wpdb->prepare("SELECT COUNT(*) FROM {$table} WHERE agendamento_id = %s", $agendamentoId)
        );
    }

    /** Rows awaiting approval become pending: disparo has the campaign. */
    public static function markDispatched(string $agendamentoId): int
    {
        global $wpdb;
        $table = Schema::table();
        return (int) $wpdb->query($wpdb->prepare(
            "UPDATE {$table} SET status = %s WHERE agendamento_id = %s AND status = %s",
            self::PENDING,
            $agendamentoId,
            self::AWAITING_APPROVAL
        ));
    }

    /** Overwrites every row of the agendamento; returns the rows changed (MySQL's count). */
    public static function applyStatus(
        string $agendamentoId,
        string $status,
        string $dataDisparo,
        string $respostaApi
    ): int|false {
        global $wpdb;
        $table = Schema::table();
        $changed = $wpdb->query($wpdb->prepare(
            "UPDATE {$table} SET status = %s, data_disparo = %s, resposta_api = %s"
            . ' WHERE agendamento_id = %s',
            $status,
            $dataDisparo,
            $respostaApi,
            $agendamentoId
        ));
        return $changed === false ? false : (int) $changed;
    }

    /** @return array<int, array<string, mixed>> agendamentos with rows awaiting approval */
    public static function campaignsAwaitingApproval(int $limit = 200): array
    {
        global $wpdb;
        $table = Schema::table();
        $fornecedor = self::hasColumn('fornecedor') ? 'MAX(fornecedor)' : "''";
        $rows = $wpdb->get_results(
            $wpdb->prepare(
                "SELECT agendamento_id, {$fornecedor} AS fornecedor, COUNT(*) AS total,"
                . " MIN(data_cadastro) AS data_cadastro FROM {$table} WHERE status = %s"
                . ' GROUP BY agendamento_id ORDER BY MIN(id) ASC LIMIT %d',
                self::AWAITING_APPROVAL,
                $limit
            ),
            ARRAY_A
        );
        return is_array($rows) ? $rows : [];
    }

    public static function hasColumn(string $column): bool
    {
        if (self::$columns === null) {
            global $wpdb;
            $names = $wpdb->get_col('SHOW COLUMNS FROM ' . Schema::table());
            self::$columns = array_fill_keys(is_array($names) ? $names : [], true);
        }
        return isset(self::$columns[$column]);
    }

    /** Forget the cached column list (the table was just created or altered). */
    public static function forgetColumns(): void
    {
        self::$columns = null;
    }
}

<?php

declare(strict_types=1);

namespace Disparo\Connector;

/** The campaign rows table, created on activation when the site does not have it yet. */
final class Schema
{
    public static function table(): string
    {
        global $wpdb;
        return $wpdb->prefix . 'envios_pendentes';
    }

    public static function exists(): bool
    {
        global $wpdb;
        $table = self::table();
        $found = $wpdb->get_var($wpdb->prepare('SHOW TABLES LIKE %s', $wpdb->esc_like($table)));
        return $found === $table;
    }

    /** Creates the table only when absent: a panel's existing table is never altered. */
    public static function install(): void
    {
        if (self::exists()) {
            return;
        }
        global $wpdb;
        require_once ABSPATH . 'wp-admin/includes/upgrade.php';
        $table = self::table();
        $charset = $wpdb->get_charset_collate();
        dbDelta("CREATE TABLE {$table} (
  id bigint(20) unsigned NOT NULL AUTO_INCREMENT,
  agendamento_id varchar(100) NOT NULL,
  fornecedor varchar(50) NOT NULL DEFAULT '',
  status varchar(50) NOT NULL DEFAULT 'pendente_aprovacao',
  telefone varchar(20) NOT NULL,
  nome varchar(255) DEFAULT NULL,
  id_carteira varchar(100) DEFAULT NULL,
  carteira_nome varchar(255) DEFAULT NULL,
  idgis_ambiente varchar(100) DEFAULT NULL,
  idcob_contrato varchar(100) DEFAULT NULL,
  cpf_cnpj varchar(20) DEFAULT NULL,
  mensagem longtext,
  nome_campanha varchar(255) DEFAULT NULL,
  midia_campanha text,
  broker_code varchar(100) DEFAULT NULL,
  resposta_api longtext,
  data_cadastro datetime DEFAULT NULL,
  data_disparo datetime DEFAULT NULL,
  PRIMARY KEY  (id),
  KEY agendamento_status (agendamento_id,status)
) {$charset};");
    }
}

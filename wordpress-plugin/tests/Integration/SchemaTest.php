<?php

declare(strict_types=1);

namespace Disparo\Connector\Tests\Integration;

use Disparo\Connector\Plugin;
use Disparo\Connector\Rows;
use Disparo\Connector\Schema;
use Disparo\Connector\Tests\Support\SiteTestCase;

/** The rows table: created on activation when absent, a panel's own table left alone. */
final class SchemaTest extends SiteTestCase
{
    protected function tearDown(): void
    {
        global $wpdb;
        $wpdb->query('DROP TABLE IF EXISTS ' . Schema::table());
        Plugin::activate();
        parent::tearDown();
    }

    public function testActivationCreatesTheTable(): void
    {
        global $wpdb;
        $wpdb->query('DROP TABLE ' . Schema::table());
        $this->assertFalse(Schema::exists());
        deactivate_plugins('disparo-connector/disparo-connector.php');
        activate_plugin('disparo-connector/disparo-connector.php');
        $this->assertTrue(Schema::exists());
        $this->assertTrue(Rows::hasColumn('idgis_ambiente'));
    }

    public function testAnOlderPanelTableIsNotAlteredAndStillServed(): void
    {
        global $wpdb;
        $table = Schema::table();
        $wpdb->query("DROP TABLE {$table}");
        $wpdb->query("CREATE TABLE {$table} (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY,
            agendamento_id varchar(100), status varchar(50), telefone varchar(20), nome varchar(255),
            idgis_ambiente varchar(100), idcob_contrato varchar(100), cpf_cnpj varchar(20), mensagem text,
            data_cadastro datetime, data_disparo datetime, resposta_api text)");
        Plugin::activate();
        $this->assertFalse(Rows::hasColumn('nome_campanha'));

        $wpdb->insert($table, [
            'agendamento_id' => 'C1',
            'status' => 'pendente_aprovacao',
            'telefone' => '11900000001',
            'idgis_ambiente' => '1001',
        ]);
        $response = $this->http('GET', '/wp-json/campaigns/v1/data/C1', ['X-API-KEY' => self::MASTER_KEY]);
        $this->assertSame(200, $response['status'], $response['raw']);
        $this->assertSame('', $response['body'][0]['nome_campanha']);
        $this->assertSame('5511900000001', $response['body'][0]['telefone']);
    }
}

<?php

declare(strict_types=1);

namespace Disparo\Connector\Tests\Integration;

use Disparo\Connector\Options;
use Disparo\Connector\RowStream;
use Disparo\Connector\Schema;
use Disparo\Connector\Tests\Support\SiteTestCase;

/** The contract's routes over real HTTP (CONTRACTS 2.0, 2.1, 2.2). */
final class RestRoutesTest extends SiteTestCase
{
    private const DATA = '/wp-json/campaigns/v1/data/';

    public function testRoutesAnswer503WithoutAMasterKey(): void
    {
        delete_option(Options::MASTER_KEY);
        $response = $this->http('GET', self::DATA . 'C1', ['X-API-KEY' => 'qualquer']);
        $this->assertSame(503, $response['status']);
        $this->assertSame('no_master_key', $response['body']['code']);
    }

    public function testMissingAndWrongKeysAre401(): void
    {
        $missing = $this->http('GET', self::DATA . 'C1');
        $wrong = $this->http('GET', self::DATA . 'C1', ['X-API-KEY' => 'errada']);
        $this->assertSame([401, 'no_key_provided'], [$missing['status'], $missing['body']['code']]);
        $this->assertSame([401, 'invalid_key'], [$wrong['status'], $wrong['body']['code']]);
    }

    public function testTheKeyIsComparedTrimmed(): void
    {
        $this->seed('C20250115093000', 1);
        $response = $this->http('GET', self::DATA . 'C20250115093000', ['X-API-KEY' => ' ' . self::MASTER_KEY . ' ']);
        $this->assertSame(200, $response['status']);
    }

    public function testDataReturnsPendingRowsInOrderAsStrings(): void
    {
        $this->seed('C20250115093000', 3);
        $this->seed('C20250115093000', 1, ['status' => 'enviado', 'telefone' => '11988887777']);
        $this->seed('C29990101000000', 1);

        $response = $this->http('GET', self::DATA . 'C20250115093000', ['X-API-KEY' => self::MASTER_KEY]);

        $this->assertSame(200, $response['status']);
        $this->assertCount(3, $response['body']);
        $phones = array_column($response['body'], 'telefone');
        $this->assertSame(['5511900000001', '5511900000002', '5511900000003'], $phones);
        $first = $response['body'][0];
        $this->assertSame('CLIENTE EXEMPLO 1', $first['nome']);
        $this->assertSame('1001', $first['idgis_ambiente']);
        $this->assertSame('500001', $first['idcob_contrato']);
        $this->assertSame('2025-01-15 09:30:00', $first['data_cadastro']);
        $this->assertSame('5511900000001', $first['variables']['telefone']);
        foreach ($first as $name => $value) {
            $this->assertTrue($name === 'variables' || is_string($value), "{$name} is not a string");
        }
    }

    public function testALargeCampaignStreamsEveryRowInOrder(): void
    {
        global $wpdb;
        $count = RowStream::CHUNK * 2 + 7;
        $values = [];
        for ($i = 1; $i <= $count; $i++) {
            $values[] = $wpdb->prepare('(%s, %s, %s, %s)', 'C1', 'pendente', sprintf('119%08d', $i), '1001');
        }
        $wpdb->query('INSERT INTO ' . Schema::table() . ' (agendamento_id, status, telefone, idgis_ambiente) VALUES '
            . implode(',', $values));

        $response = $this->http('GET', self::DATA . 'C1', ['X-API-KEY' => self::MASTER_KEY]);

        $this->assertSame(200, $response['status']);
        $this->assertCount($count, $response['body']);
        $this->assertSame('5511900000001', $response['body'][0]['telefone']);
        $this->assertSame(sprintf('55119%08d', $count), $response['body'][$count - 1]['telefone']);
        $ids = array_map('intval', array_column($response['body'], 'id'));
        $sorted = $ids;
        sort($sorted);
        $this->assertSame($sorted, $ids);
        $this->assertSame($count, count(array_unique($ids)));
    }

    public function testDataWithoutRowsIs404(): void
    {
        $this->seed('C20250115093000', 2, ['status' => 'enviado']);
        $response = $this->http('GET', self::DATA . 'C20250115093000', ['X-API-KEY' => self::MASTER_KEY]);
        $this->assertSame([404, 'no_data'], [$response['status'], $response['body']['code']]);
    }

    public function testStaticCredentials(): void
    {
        update_option(Options::STATIC_CREDENTIALS, [
            'cda_api_url' => 'https://cda.example.com/importar',
            'cda_api_key' => 'chave-cda',
        ]);
        $response = $this->credentials('cda', '1001');
        $this->assertSame(200, $response['status']);
        $expected = ['api_url' => 'https://cda.example.com/importar', 'api_key' => 'chave-cda'];
        $this->assertSame($expected, $response['body']);

        $missing = $this->credentials('mkc', '1001');
        $this->assertSame([404, 'no_credentials'], [$missing['status'], $missing['body']['code']]);
        $this->assertSame('Credenciais estáticas não configuradas para MKC', $missing['body']['message']);
    }

    public function testIncompleteRcsCredentialsAre400WithTheMissingField(): void
    {
        $response = $this->credentials('rcs', '1001');
        $this->assertSame(400, $response['status']);
        $this->assertSame('INCOMPLETE_RCS_CREDENTIALS', $response['body']['data']['code']);
        $this->assertSame(['chave_api'], $response['body']['data']['missing_fields']);
    }

    public function testPerEnvironmentCredentials(): void
    {
        update_option(Options::ENV_CREDENTIALS, [
            'gosac' => ['1001' => ['url' => 'https://gosac.example.com', 'token' => 'tok']],
        ]);
        $found = $this->credentials('gosac', '1001');
        $this->assertSame(['url' => 'https://gosac.example.com', 'token' => 'tok'], $found['body']);

        $missing = $this->credentials('gosac', '2002');
        $this->assertSame(404, $missing['status']);
        $this->assertSame('Credenciais não encontradas para GOSAC:2002', $missing['body']['message']);
    }

    public function testSalesforceMergesTheEnvironmentBlock(): void
    {
        update_option(Options::STATIC_CREDENTIALS, ['sf_client_id' => 'id', 'sf_token_url' => 'https://sf.test']);
        update_option(Options::ENV_CREDENTIALS, [
            'salesforce' => ['1001' => ['operacao' => 'OP', 'automation_id' => 'auto-1']],
        ]);
        $response = $this->credentials('salesforce', '01001');
        $this->assertSame(200, $response['status']);
        $this->assertSame('id', $response['body']['client_id']);
        $this->assertSame('OP', $response['body']['operacao']);
        $this->assertSame('auto-1', $response['body']['automation_id']);
    }

    public function testOtimaProvidersAreMatchedByTheirWords(): void
    {
        update_option(Options::STATIC_CREDENTIALS, ['otima_rcs_token' => 'tok-rcs']);
        $response = $this->credentials('rcs_otima', '1001');
        $this->assertSame(200, $response['status']);
        $this->assertSame('https://services.otima.digital/v1/rcs', $response['body']['api_url']);
        $this->assertSame('tok-rcs', $response['body']['token']);
    }

    /** @return array{status: int, body: mixed, raw: string} */
    private function credentials(string $provider, string $envId): array
    {
        return $this->http(
            'GET',
            "/wp-json/api-manager/v1/credentials/{$provider}/{$envId}",
            ['X-API-KEY' => self::MASTER_KEY]
        );
    }
}

<?php

declare(strict_types=1);

namespace Disparo\Connector\Tests\Integration;

use Disparo\Connector\Admin\SettingsPage;
use Disparo\Connector\Options;
use Disparo\Connector\Secrets;
use Disparo\Connector\Tests\Support\SiteTestCase;

/** Keys and credentials sealed at rest with a key from the wp-config.php salts, never autoloaded. */
final class SecretsTest extends SiteTestCase
{
    private const VALUES = [
        Options::MASTER_KEY => 'mestra-%41-<b>-secreta',
        Options::WEBHOOK_SECRET => 'webhook-secreto-1',
        Options::SERVICE => ['url' => 'https://disparo.example.com', 'api_key' => 'svc-secreta-2'],
        Options::STATIC_CREDENTIALS => ['cda_api_url' => 'https://cda.example.com', 'cda_api_key' => 'cda-secreta-3'],
        Options::ENV_CREDENTIALS => ['gosac' => ['1001' => ['url' => 'https://g.example', 'token' => 'tok-secreto-4']]],
    ];

    public function testEverySecretIsSealedAtRestNotAutoloadedAndReadBackExactly(): void
    {
        foreach (self::VALUES as $name => $value) {
            update_option($name, $value);
        }
        foreach (self::VALUES as $name => $value) {
            $row = $this->rawRow($name);
            $this->assertStringStartsWith(Secrets::PREFIX, $row['option_value'], $name);
            $this->assertSame('no', $row['autoload'], $name);
            $this->assertSame($value, get_option($name), $name);
        }
        $dump = implode("\n", array_column($this->allRawOptions(), 'option_value'));
        foreach (['mestra-%41', 'webhook-secreto-1', 'svc-secreta-2', 'cda-secreta-3', 'tok-secreto-4'] as $secret) {
            $this->assertStringNotContainsString($secret, $dump);
        }
        $this->assertArrayNotHasKey(Options::MASTER_KEY, wp_load_alloptions());
    }

    /** Another process (the site's HTTP server) opens them with the same salts. */
    public function testTheSiteServesTheSealedValuesOverHttp(): void
    {
        foreach (self::VALUES as $name => $value) {
            update_option($name, $value);
        }
        $headers = ['X-API-KEY' => self::VALUES[Options::MASTER_KEY]];
        $cda = $this->http('GET', '/wp-json/api-manager/v1/credentials/cda/1001', $headers);
        $gosac = $this->http('GET', '/wp-json/api-manager/v1/credentials/gosac/1001', $headers);
        $this->assertSame([200, 'cda-secreta-3'], [$cda['status'], $cda['body']['api_key']]);
        $this->assertSame([200, 'tok-secreto-4'], [$gosac['status'], $gosac['body']['token']]);
    }

    public function testClearValuesOfASiteThatRanThePanelAreMigratedTransparently(): void
    {
        global $wpdb;
        foreach (self::VALUES as $name => $value) {
            delete_option($name);
            $wpdb->insert($wpdb->options, [
                'option_name' => $name,
                'option_value' => maybe_serialize($value),
                'autoload' => 'yes',
            ]);
        }
        delete_option(Secrets::VERSION_OPTION);
        wp_cache_flush();

        Secrets::migrate();

        foreach (self::VALUES as $name => $value) {
            $row = $this->rawRow($name);
            $this->assertStringStartsWith(Secrets::PREFIX, $row['option_value'], $name);
            $this->assertSame('no', $row['autoload'], $name);
            $this->assertSame($value, get_option($name), $name);
        }
        $this->assertSame('1', get_option(Secrets::VERSION_OPTION));
        $headers = ['X-API-KEY' => self::VALUES[Options::MASTER_KEY]];
        $response = $this->http('GET', '/wp-json/campaigns/v1/data/C1', $headers);
        $this->assertSame([404, 'no_data'], [$response['status'], $response['body']['code']], 'the key still opens');
    }

    public function testAValueAddedWithAddOptionIsSealedToo(): void
    {
        delete_option(Options::WEBHOOK_SECRET);
        add_option(Options::WEBHOOK_SECRET, 'adicionado', '', 'yes');
        $row = $this->rawRow(Options::WEBHOOK_SECRET);
        $this->assertStringStartsWith(Secrets::PREFIX, $row['option_value']);
        $this->assertSame('no', $row['autoload']);
        $this->assertSame('adicionado', Options::webhookSecret());
        update_option(Options::WEBHOOK_SECRET, 'trocado', true); // asks for autoload
        $row = $this->rawRow(Options::WEBHOOK_SECRET);
        $this->assertStringStartsWith(Secrets::PREFIX, $row['option_value']);
        $this->assertSame('no', $row['autoload']);
        $this->assertSame('trocado', Options::webhookSecret());
    }

    public function testACiphertextMovedToAnotherOptionDoesNotOpenAndTheSettingsPageSaysSo(): void
    {
        global $wpdb;
        update_option(Options::WEBHOOK_SECRET, 'segredo-do-webhook');
        $sealed = $this->rawRow(Options::WEBHOOK_SECRET)['option_value'];
        $wpdb->update($wpdb->options, ['option_value' => $sealed], ['option_name' => Options::MASTER_KEY]);
        wp_cache_flush();

        $this->assertSame('', Options::masterKey());
        $this->assertContains(Options::MASTER_KEY, Secrets::unreadable());
        $warnings = implode("\n", SettingsPage::warnings());
        $this->assertStringContainsString('Não foi possível decifrar ' . Options::MASTER_KEY, $warnings);
        $this->assertNull(Secrets::decrypt(Secrets::PREFIX . base64_encode('curto'), Options::MASTER_KEY));
    }

    /** The panel reads the same options without our filters: deactivating gives them back clear. */
    public function testDeactivationWritesTheClearValuesBackAndActivationSealsThemAgain(): void
    {
        foreach (self::VALUES as $name => $value) {
            update_option($name, $value);
        }
        Secrets::unsealAll();
        foreach (self::VALUES as $name => $value) {
            $this->assertSame(maybe_serialize($value), $this->rawRow($name)['option_value'], $name);
        }
        Secrets::migrate();
        foreach (self::VALUES as $name => $value) {
            $this->assertStringStartsWith(Secrets::PREFIX, $this->rawRow($name)['option_value'], $name);
            $this->assertSame($value, get_option($name), $name);
        }
    }

    /** @return array{option_value: string, autoload: string} */
    private function rawRow(string $name): array
    {
        global $wpdb;
        return $wpdb->get_row($wpdb->prepare(
            "SELECT option_value, autoload FROM {$wpdb->options} WHERE option_name = %s",
            $name
        ), ARRAY_A);
    }

    /** @return list<array{option_value: string}> */
    private function allRawOptions(): array
    {
        global $wpdb;
        return $wpdb->get_results("SELECT option_value FROM {$wpdb->options}", ARRAY_A);
    }
}

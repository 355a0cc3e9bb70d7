<?php

declare(strict_types=1);

namespace Disparo\Connector\Tests\Integration;

use Disparo\Connector\Admin\CampaignsPage;
use Disparo\Connector\Admin\SettingsPage;
use Disparo\Connector\Options;
use Disparo\Connector\Plugin;
use Disparo\Connector\Tls;
use Disparo\Connector\Tests\Support\SiteTestCase;

/**
 * The dispatch call against a disparo behind TLS (tests/bin/tls-disparo.php) whose certificate
 * only its own CA file vouches for: refused by default, accepted with that CA file, accepted
 * with verification explicitly off (and the settings page says so in red).
 */
final class TlsTest extends SiteTestCase
{
    private const ID = 'C20250115093000';

    protected function setUp(): void
    {
        parent::setUp();
        $this->useFakeDisparo(); // the answer; the URL is the TLS one
        update_option(Options::SERVICE, ['url' => (string) getenv('TLS_DISPARO_URL'), 'api_key' => '']);
        $this->seed(self::ID, 2);
    }

    public function testAnUntrustedCertificateIsRefusedBeforeAnythingIsSent(): void
    {
        $result = Plugin::approve(self::ID);

        $this->assertFalse($result->ok);
        $this->assertSame('microservice_unreachable', $result->code);
        $this->assertMatchesRegularExpression('/SSL|certificate/i', $result->message);
        $this->assertSame([], $this->disparoRequests(), 'the key never left');
        $this->assertSame(['pendente_aprovacao', 'pendente_aprovacao'], $this->rowStatuses(self::ID));
    }

    public function testTheConfiguredCaBundleIsTrusted(): void
    {
        update_option(Tls::OPTION, ['ca_bundle' => (string) getenv('TLS_DISPARO_CA'), 'insecure' => false]);

        $result = Plugin::approve(self::ID);

        $this->assertTrue($result->ok, $result->message);
        [$request] = $this->disparoRequests();
        $this->assertTrue($request['tls']);
        $this->assertSame(self::MASTER_KEY, $request['headers']['x-api-key']);
        $this->assertSame(['pendente', 'pendente'], $this->rowStatuses(self::ID));
    }

    public function testAnotherPluginCannotTurnVerificationOff(): void
    {
        add_filter('https_ssl_verify', '__return_false');
        add_filter('http_request_args', [self::class, 'insecureArgs']);
        try {
            $result = Plugin::approve(self::ID);
        } finally {
            remove_filter('https_ssl_verify', '__return_false');
            remove_filter('http_request_args', [self::class, 'insecureArgs']);
        }
        $this->assertFalse($result->ok);
        // Refused for its certificate, as without the filters: not for any other reason.
        $this->assertSame('microservice_unreachable', $result->code);
        $this->assertMatchesRegularExpression('/SSL|certificate/i', $result->message);
        $this->assertSame([], $this->disparoRequests());
    }

    /**
     * @param array<string, mixed> $args
     * @return array<string, mixed>
     */
    public static function insecureArgs(array $args): array
    {
        return ['sslverify' => false] + $args;
    }

    public function testAMissingCaBundleStopsTheDispatchWithAClearMessage(): void
    {
        update_option(Tls::OPTION, ['ca_bundle' => '/nao/existe/ca.pem', 'insecure' => false]);

        $result = Plugin::approve(self::ID);

        $this->assertSame(['tls_not_configured', 503], [$result->code, $result->httpStatus]);
        $this->assertStringContainsString('/nao/existe/ca.pem', $result->message);
        $this->assertSame([], $this->disparoRequests());
        $this->assertSame($result->message, Options::dispatchErrors()[self::ID]);
    }

    public function testVerificationOffIsExplicitAndShownAsARedWarning(): void
    {
        $this->assertSame([], array_filter(SettingsPage::warnings(), fn ($w) => str_contains($w, 'TLS')));
        update_option(Tls::OPTION, ['ca_bundle' => '', 'insecure' => true]);

        $result = Plugin::approve(self::ID);

        $this->assertTrue($result->ok, $result->message);
        $this->assertCount(1, $this->disparoRequests());
        wp_set_current_user((int) get_user_by('login', 'admin')->ID);
        ob_start();
        SettingsPage::render();
        $page = (string) ob_get_clean();
        $this->assertMatchesRegularExpression(
            '/<div class="notice notice-error disparo-warning"><p>Verificação TLS desativada/',
            $page
        );
        $this->assertStringContainsString('name="tls_insecure" value="1" checked', $page);
        ob_start();
        CampaignsPage::render(); // where campaigns are approved, too
        $this->assertStringContainsString('disparo-warning"><p>Verificação TLS desativada', (string) ob_get_clean());
    }

    public function testAPlainHttpUrlIsShownAsARedWarning(): void
    {
        $plain = fn (): array => array_filter(SettingsPage::warnings(), fn ($w) => str_contains($w, 'https'));
        $this->assertSame([], $plain(), 'an https URL');
        update_option(Options::SERVICE, ['url' => (string) getenv('FAKE_DISPARO_URL'), 'api_key' => '']);
        $this->assertCount(1, $plain());
        wp_set_current_user((int) get_user_by('login', 'admin')->ID);
        ob_start();
        SettingsPage::render();
        $this->assertStringContainsString(
            '<div class="notice notice-error disparo-warning"><p>A URL do disparo não usa https',
            (string) ob_get_clean()
        );
        update_option(Options::SERVICE, ['url' => '', 'api_key' => '']);
        $this->assertSame([], $plain(), 'no URL yet: nothing is sent');
    }

    /** Every call this plugin makes takes its TLS arguments (no redirects) from Tls::requestArgs(). */
    public function testEveryOutgoingCallUsesTheTlsArguments(): void
    {
        $root = dirname(__DIR__, 2) . '/disparo-connector';
        $files = new \RecursiveIteratorIterator(new \RecursiveDirectoryIterator($root));
        $calls = 0;
        foreach ($files as $file) {
            if (!str_ends_with((string) $file, '.php')) {
                continue;
            }
            $code = (string) file_get_contents((string) $file);
            $found = preg_match_all('/\bwp_(?:safe_)?remote_(?:post|get|request|head)\s*\(/', $code);
            $calls += (int) $found;
            if ($found > 0) {
                $this->assertSame($found, substr_count($code, 'Tls::requestArgs()'), (string) $file);
            }
            $this->assertStringNotContainsString("'sslverify' => false", $code, (string) $file);
            $this->assertDoesNotMatchRegularExpression("/'redirection' => [1-9]/", $code, (string) $file);
        }
        $this->assertGreaterThan(0, $calls);
    }
}

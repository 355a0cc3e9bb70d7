<?php

declare(strict_types=1);

namespace Disparo\Connector\Tests\Integration;

use Disparo\Connector\Admin\CampaignsPage;
use Disparo\Connector\Admin\SettingsPage;
use Disparo\Connector\Options;
use Disparo\Connector\Tests\Support\Halted;
use Disparo\Connector\Tests\Support\SiteTestCase;

/** The admin screens: capability and nonce on every action, secrets never printed back. */
final class AdminTest extends SiteTestCase
{
    private int $admin;

    protected function setUp(): void
    {
        parent::setUp();
        $this->admin = (int) get_user_by('login', 'admin')->ID;
        add_filter('wp_die_handler', [$this, 'dieHandler']);
        add_filter('wp_redirect', [$this, 'stopRedirect']);
        $_POST = [];
        $_REQUEST = [];
    }

    protected function tearDown(): void
    {
        remove_filter('wp_die_handler', [$this, 'dieHandler']);
        remove_filter('wp_redirect', [$this, 'stopRedirect']);
        $_POST = [];
        $_REQUEST = [];
        parent::tearDown();
    }

    public function dieHandler(): callable
    {
        return static function (mixed $message): void {
            throw new Halted('die: ' . (is_string($message) ? $message : 'wp_die'));
        };
    }

    public function stopRedirect(string $location): string
    {
        throw new Halted('redirect: ' . $location);
    }

    public function testSettingsAreSavedAndSecretsAreNeverPrintedBack(): void
    {
        wp_set_current_user($this->admin);
        $this->post(SettingsPage::SAVE, [
            'service_url' => 'https://disparo.example.com/api',
            'service_api_key' => 'svc-secret-1',
            'master_key' => 'master-secret-2',
            'webhook_secret' => 'hook-secret-3',
            'static_cda_api_url' => 'https://cda.example.com/importar',
            'static_cda_api_key' => 'cda-secret-4',
            'static_sf_username' => '<b>user</b>',
        ]);
        $this->assertHalted('redirect', fn () => SettingsPage::handleSave());

        $this->assertSame('https://disparo.example.com', Options::serviceUrl());
        $this->assertSame('svc-secret-1', Options::serviceKey());
        $this->assertSame('master-secret-2', Options::masterKey());
        $this->assertSame('hook-secret-3', Options::webhookSecret());
        $this->assertSame('cda-secret-4', Options::staticCredentials()['cda_api_key']);
        $this->assertSame('user', Options::staticCredentials()['sf_username'], 'input is sanitized');

        $page = $this->render([SettingsPage::class, 'render']);
        foreach (['svc-secret-1', 'master-secret-2', 'hook-secret-3', 'cda-secret-4'] as $secret) {
            $this->assertStringNotContainsString($secret, $page);
        }
        $this->assertStringContainsString('https://cda.example.com/importar', $page);
        $this->assertStringContainsString('configurada', $page);
    }

    /**
     * Typed secrets are kept byte for byte: `%41`, `<…>`, quotes and backslashes are key
     * material, not markup (sanitize_text_field turned `a%41b` into `ab`, `<x>` into nothing).
     */
    public function testSecretsAreSavedByteForByte(): void
    {
        wp_set_current_user($this->admin);
        $odd = 'k%41%3Cz<script>x</script>&amp;"q"\'a\'\\b' . "\u{e9}\t~";
        // What PHP hands WordPress: $_POST slashed (wp_magic_quotes), as on a real request.
        $this->post(SettingsPage::SAVE, wp_slash([
            'service_api_key' => $odd . '-svc',
            'master_key' => $odd . '-master',
            'webhook_secret' => $odd . '-hook',
            'static_cda_api_key' => $odd . '-cda',
            'static_sf_password' => $odd . '-sf',
        ]));
        $this->assertHalted('redirect', fn () => SettingsPage::handleSave());
        $this->post(SettingsPage::SAVE_ENV, wp_slash([
            'provider' => 'gosac',
            'env_id' => '1001',
            'env_token' => $odd . '-gosac',
        ]));
        $this->assertHalted('redirect', fn () => SettingsPage::handleSaveEnv());

        $this->assertSame($odd . '-svc', Options::serviceKey());
        $this->assertSame($odd . '-master', Options::masterKey());
        $this->assertSame($odd . '-hook', Options::webhookSecret());
        $this->assertSame($odd . '-cda', Options::staticCredentials()['cda_api_key']);
        $this->assertSame($odd . '-sf', Options::staticCredentials()['sf_password']);
        $this->assertSame($odd . '-gosac', Options::envCredentials()['gosac']['1001']['token']);
        // And the key that opens the routes is that exact string.
        $data = $this->http('GET', '/wp-json/campaigns/v1/data/C1', ['X-API-KEY' => $odd . '-master']);
        $this->assertSame(404, $data['status']);
    }

    public function testAnEmptySecretFieldKeepsTheValueAndTheCheckboxClearsIt(): void
    {
        wp_set_current_user($this->admin);
        update_option(Options::WEBHOOK_SECRET, 'mantido');
        $this->post(SettingsPage::SAVE, ['webhook_secret' => '', 'master_key' => '', 'clear_master_key' => '1']);
        $this->assertHalted('redirect', fn () => SettingsPage::handleSave());
        $this->assertSame('mantido', Options::webhookSecret());
        $this->assertSame('', Options::masterKey());
    }

    public function testActionsNeedTheCapability(): void
    {
        $subscriber = wp_insert_user([
            'user_login' => 'assinante' . wp_rand(),
            'user_pass' => 'x',
            'role' => 'subscriber',
        ]);
        wp_set_current_user((int) $subscriber);
        $this->post(SettingsPage::SAVE, ['master_key' => 'invasor']);
        $this->assertHalted('die', fn () => SettingsPage::handleSave());
        $this->assertSame(self::MASTER_KEY, Options::masterKey());
        wp_delete_user((int) $subscriber);
    }

    public function testActionsNeedAValidNonce(): void
    {
        wp_set_current_user($this->admin);
        $_POST = $_REQUEST = ['_wpnonce' => 'forjado', 'master_key' => 'invasor'];
        $this->assertHalted('die', fn () => SettingsPage::handleSave());
        $this->assertSame(self::MASTER_KEY, Options::masterKey());
    }

    public function testEnvironmentCredentialsAreAddedKeptAndRemoved(): void
    {
        wp_set_current_user($this->admin);
        $this->post(SettingsPage::SAVE_ENV, [
            'provider' => 'gosac',
            'env_id' => '1001',
            'env_url' => 'https://gosac.example.com',
            'env_token' => 'tok-gosac',
        ]);
        $this->assertHalted('redirect', fn () => SettingsPage::handleSaveEnv());
        $fields = ['provider' => 'gosac', 'env_id' => '1001', 'env_url' => 'https://novo.test'];
        $this->post(SettingsPage::SAVE_ENV, $fields);
        $this->assertHalted('redirect', fn () => SettingsPage::handleSaveEnv());
        $this->assertSame(
            ['url' => 'https://novo.test', 'token' => 'tok-gosac'],
            Options::envCredentials()['gosac']['1001']
        );
        $this->assertStringNotContainsString('tok-gosac', $this->render([SettingsPage::class, 'render']));

        $this->post(SettingsPage::DELETE_ENV, ['provider' => 'gosac', 'env_id' => '1001']);
        $this->assertHalted('redirect', fn () => SettingsPage::handleDeleteEnv());
        $this->assertSame([], Options::envCredentials()['gosac']);
    }

    public function testTheCampaignsPageApprovesAndSchedules(): void
    {
        wp_set_current_user($this->admin);
        $this->useFakeDisparo();
        $this->seed('C20250115093000', 2);
        $this->seed('C20250115100000', 1);
        $page = $this->render([CampaignsPage::class, 'render']);
        $this->assertStringContainsString('C20250115093000', $page);
        $this->assertStringContainsString('C20250115100000', $page);

        $this->post(CampaignsPage::nonceAction('C20250115093000'), ['agendamento_id' => 'C20250115093000']);
        $this->assertHalted('redirect', fn () => CampaignsPage::handleApprove());
        $this->assertSame(['pendente', 'pendente'], $this->rowStatuses('C20250115093000'));

        $later = wp_date('Y-m-d\TH:i', time() + 7200);
        $this->post(CampaignsPage::nonceAction('C20250115100000'), [
            'agendamento_id' => 'C20250115100000',
            'schedule_at' => $later,
        ]);
        $this->assertHalted('redirect', fn () => CampaignsPage::handleApprove());
        $this->assertSame(['pendente_aprovacao'], $this->rowStatuses('C20250115100000'));
        $this->assertNotFalse(wp_next_scheduled('disparo_connector_dispatch_due', ['C20250115100000']));
        $this->assertCount(1, $this->disparoRequests());

        $page = $this->render([CampaignsPage::class, 'render']);
        $this->assertStringNotContainsString('data-agendamento="C20250115093000"', $page);
        $this->assertStringContainsString('Agendada para', $page);
    }

    public function testANonceForOneCampaignCannotApproveAnother(): void
    {
        wp_set_current_user($this->admin);
        $this->useFakeDisparo();
        $this->seed('C20250115093000', 1);
        $this->post(CampaignsPage::nonceAction('C1'), ['agendamento_id' => 'C20250115093000']);
        $this->assertHalted('die', fn () => CampaignsPage::handleApprove());
        $this->assertSame([], $this->disparoRequests());
    }

    /** @param array<string, string> $fields */
    private function post(string $nonceAction, array $fields): void
    {
        $_POST = $_REQUEST = $fields + ['_wpnonce' => wp_create_nonce($nonceAction)];
    }

    private function assertHalted(string $kind, callable $action): void
    {
        try {
            $action();
        } catch (Halted $halted) {
            $this->assertStringStartsWith($kind . ':', $halted->getMessage());
            return;
        }
        $this->fail("expected the action to end with {$kind}");
    }

    private function render(callable $page): string
    {
        ob_start();
        $page();
        return (string) ob_get_clean();
    }
}

<?php

declare(strict_types=1);

namespace Disparo\Connector\Tests\Integration;

use Disparo\Connector\Admin\CampaignsPage;
use Disparo\Connector\Tests\Support\Halted;
use Disparo\Connector\Tests\Support\SiteTestCase;

/** The approve screen shows disparo's preflight report before the admin confirms. */
final class PreflightTest extends SiteTestCase
{
    private const ID = 'C20250115093000';

    protected function setUp(): void
    {
        parent::setUp();
        wp_set_current_user((int) get_user_by('login', 'admin')->ID);
        add_filter('wp_die_handler', [$this, 'dieHandler']);
        $_GET = [];
    }

    protected function tearDown(): void
    {
        remove_filter('wp_die_handler', [$this, 'dieHandler']);
        $_GET = [];
        parent::tearDown();
    }

    public function dieHandler(): callable
    {
        return static function (mixed $message): void {
            throw new Halted('die: ' . (is_string($message) ? $message : 'wp_die'));
        };
    }

    public function testTheReviewScreenShowsTheReportAboveTheApproveForm(): void
    {
        $this->seed(self::ID, 3);
        $this->useFakeDisparo(200, $this->report());

        $list = $this->render();
        $page = $this->review(self::ID);

        $this->assertStringContainsString('Verificar e aprovar', $list);
        $this->assertStringContainsString('review=' . self::ID, $list);
        $this->assertStringNotContainsString('admin-post.php', $list, 'approving starts on the review screen');
        $this->assertStringContainsString('Um disparo agora enviaria para 2 destinatários.', $page);
        $this->assertMatchesRegularExpression('/data-field="rows">3</', $page);
        $this->assertMatchesRegularExpression('/data-field="requests">1</', $page);
        $this->assertStringContainsString('data-reason="telefone inválido"', $page);
        $this->assertStringContainsString('2: *****', $page);
        $this->assertStringContainsString('&lt;script&gt;', $page, 'what disparo says is escaped');
        $this->assertStringNotContainsString('<script>alert', $page);
        $form = strpos($page, 'data-review="' . self::ID . '"');
        $this->assertNotFalse($form);
        $this->assertGreaterThan(strpos($page, 'disparo-preflight-figures'), $form, 'the report comes first');
        $this->assertStringContainsString('Confirmar aprovação', $page);
        $this->assertStringContainsString('Segunda etapa (mkc, 1×)', $page);

        [$request] = $this->disparoRequests();
        $this->assertSame('/campaigns/preflight', $request['path']);
        $this->assertSame(['agendamento_id' => self::ID], json_decode((string) $request['body'], true));
        $this->assertSame(
            ['pendente_aprovacao', 'pendente_aprovacao', 'pendente_aprovacao'],
            $this->rowStatuses(self::ID),
            'looking approves nothing'
        );
    }

    public function testWhenDisparoCannotCheckTheFormIsStillThere(): void
    {
        $this->seed(self::ID, 1);
        $this->useFakeDisparo(400, ['success' => false, 'message' => 'prefixo desconhecido']);

        $page = $this->review(self::ID);

        $this->assertStringContainsString('Não foi possível verificar a campanha', $page);
        $this->assertStringContainsString('O disparo respondeu 400 à verificação: prefixo desconhecido', $page);
        $this->assertStringContainsString('data-review="' . self::ID . '"', $page);
    }

    public function testAReviewLinkForAnotherCampaignIsRefused(): void
    {
        $this->seed(self::ID, 1);
        $this->useFakeDisparo(200, $this->report());
        $_GET = ['review' => self::ID, '_wpnonce' => wp_create_nonce(CampaignsPage::reviewNonceAction('C1'))];

        try {
            $this->render();
            $this->fail('expected wp_die');
        } catch (Halted $halted) {
            $this->assertStringStartsWith('die:', $halted->getMessage());
        }
        $this->assertSame([], $this->disparoRequests());
    }

    private function review(string $agendamentoId): string
    {
        $nonce = wp_create_nonce(CampaignsPage::reviewNonceAction($agendamentoId));
        $_GET = ['review' => $agendamentoId, '_wpnonce' => $nonce];
        return $this->render();
    }

    private function render(): string
    {
        ob_start();
        try {
            CampaignsPage::render();
        } finally {
            $output = (string) ob_get_clean();
        }
        return $output;
    }

    /** @return array<string, mixed> */
    private function report(): array
    {
        return [
            'agendamento_id' => self::ID,
            'provider' => 'CDA',
            'rows' => 3,
            'valid' => 2,
            'skipped' => 1,
            'batches' => 1,
            'requests' => 1,
            'earliest_start' => '2026-03-02T11:00:00Z',
            'estimated_finish' => '2026-03-02T11:00:02Z',
            'second_step' => ['step' => 'mkc', 'at' => '2026-03-02T11:20:02Z', 'runs' => 1],
            'credentials_ok' => true,
            'would_dispatch' => true,
            'problems' => [['phase' => 'dados', 'message' => '<script>alert(1)</script>', 'blocking' => false]],
            'skipped_by_reason' => [
                ['reason' => 'telefone inválido', 'count' => 1, 'examples' => [['row' => 2, 'phone' => '*****']]],
            ],
            'warnings_by_reason' => [],
        ];
    }
}

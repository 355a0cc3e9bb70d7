<?php

declare(strict_types=1);

namespace Disparo\Connector\Tests\Integration;

use Disparo\Connector\Options;
use Disparo\Connector\Plugin;
use Disparo\Connector\Scheduler;
use Disparo\Connector\Tests\Support\SiteTestCase;

/** Approval and WP-Cron hand campaigns to disparo (a stand-in HTTP server) exactly once. */
final class DispatchTest extends SiteTestCase
{
    private const ID = 'C20250115093000';

    public function testApprovalPostsTheContractPayloadAndMovesRowsToPendente(): void
    {
        $this->useFakeDisparo();
        $credentials = ['cda_api_url' => 'https://cda.test/importar', 'cda_api_key' => 'k'];
        update_option(Options::STATIC_CREDENTIALS, $credentials);
        $this->seed(self::ID, 3);

        $result = Plugin::approve(self::ID);

        $this->assertTrue($result->ok, $result->message);
        $this->assertSame(3, $result->rows);
        $this->assertSame(['pendente', 'pendente', 'pendente'], $this->rowStatuses(self::ID));
        [$request] = $this->disparoRequests();
        $this->assertSame(['POST', '/campaigns/dispatch'], [$request['method'], $request['path']]);
        $this->assertSame(self::MASTER_KEY, $request['headers']['x-api-key']);
        $this->assertStringStartsWith('application/json', $request['headers']['content-type']);
        $this->assertSame(['agendamento_id' => self::ID], json_decode($request['body'], true));
    }

    /** @return array<string, array{0: string}> */
    public static function providersWithStaticCredentials(): array
    {
        $names = ['CDA', 'RCS', 'SALESFORCE', 'MKC', 'MARKETING CLOUD', 'OTIMA RCS', 'OTIMA WPP', 'GOSAC'];
        return array_combine($names, array_map(static fn (string $name): array => [$name], $names));
    }

    /**
     * Every static credential set, the body still carries the id and the template fields
     * only: disparo reads credentials from the credentials route, never from this call.
     *
     * @dataProvider providersWithStaticCredentials
     */
    public function testTheDispatchBodyNeverCarriesCredentials(string $fornecedor): void
    {
        $this->useFakeDisparo();
        $static = [];
        foreach (array_keys(Options::STATIC_FIELDS) as $field) {
            $static[$field] = str_ends_with($field, '_url') ? "https://{$field}.test/x" : "segredo-{$field}";
        }
        update_option(Options::STATIC_CREDENTIALS, $static);
        $gosac = ['url' => 'https://g.test', 'token' => 'tok-g'];
        update_option(Options::ENV_CREDENTIALS, ['gosac' => ['1001' => $gosac]]);
        $template = ['template_code' => 'modelo_v1', 'template_source' => 'otima_rcs', 'token' => 'tok-no-json'];
        $this->seed(self::ID, 2, ['fornecedor' => $fornecedor, 'mensagem' => (string) wp_json_encode($template)]);

        $this->assertTrue(Plugin::approve(self::ID)->ok);

        [$request] = $this->disparoRequests();
        $this->assertSame(
            ['agendamento_id' => self::ID, 'template_code' => 'modelo_v1', 'template_source' => 'otima_rcs'],
            json_decode($request['body'], true)
        );
        foreach ([...array_values($static), 'tok-g', 'tok-no-json'] as $value) {
            $this->assertStringNotContainsString($value, $request['body']);
        }
    }

    public function testTheServiceKeyWinsOverTheMasterKeyAndApiSuffixIsDropped(): void
    {
        $this->useFakeDisparo();
        update_option(Options::SERVICE, ['url' => getenv('FAKE_DISPARO_URL') . '/api/', 'api_key' => 'chave-svc']);
        $this->seed(self::ID, 1);
        $this->assertTrue(Plugin::approve(self::ID)->ok);
        [$request] = $this->disparoRequests();
        $this->assertSame(['/campaigns/dispatch', 'chave-svc'], [$request['path'], $request['headers']['x-api-key']]);
    }

    public function testAnErrorAnswerLeavesTheCampaignAwaitingApprovalWithTheMessage(): void
    {
        $this->useFakeDisparo(400, ['statusCode' => 400, 'message' => 'Fornecedor não atendido']);
        $this->seed(self::ID, 2);

        $result = Plugin::approve(self::ID);

        $this->assertFalse($result->ok);
        $this->assertSame(
            'Microserviço retornou erro (400): Fornecedor não atendido. '
            . 'A campanha permanecerá pendente para nova tentativa.',
            $result->message
        );
        $this->assertSame(['pendente_aprovacao', 'pendente_aprovacao'], $this->rowStatuses(self::ID));
        $this->assertSame($result->message, Options::dispatchErrors()[self::ID]);

        $this->useFakeDisparo();
        $this->assertTrue(Plugin::approve(self::ID)->ok);
        $this->assertSame(['pendente', 'pendente'], $this->rowStatuses(self::ID));
        $this->assertArrayNotHasKey(self::ID, Options::dispatchErrors());
    }

    /** A redirect would carry X-API-KEY to wherever it points: it is not followed. */
    public function testARedirectIsNotFollowedAndSaysSo(): void
    {
        $elsewhere = getenv('FAKE_DISPARO_URL') . '/elsewhere/campaigns/dispatch';
        $this->useFakeDisparo(301, ['message' => 'moved'], ['Location' => $elsewhere]);
        $this->seed(self::ID, 2);

        $result = Plugin::approve(self::ID);

        $this->assertSame(['microservice_redirect', 502], [$result->code, $result->httpStatus]);
        $this->assertStringContainsString("(301 para {$elsewhere})", $result->message);
        $this->assertSame(['/campaigns/dispatch'], array_column($this->disparoRequests(), 'path'));
        $this->assertSame(['pendente_aprovacao', 'pendente_aprovacao'], $this->rowStatuses(self::ID));
        $this->assertSame($result->message, Options::dispatchErrors()[self::ID]);
    }

    public function testAnotherPluginCannotMakeTheCallFollowRedirects(): void
    {
        $this->useFakeDisparo(307, null, ['Location' => getenv('FAKE_DISPARO_URL') . '/elsewhere']);
        $this->seed(self::ID, 1);
        add_filter('http_request_args', [self::class, 'followRedirects']);
        try {
            $result = Plugin::approve(self::ID);
        } finally {
            remove_filter('http_request_args', [self::class, 'followRedirects']);
        }
        $this->assertSame('microservice_redirect', $result->code);
        $this->assertCount(1, $this->disparoRequests());
    }

    /**
     * @param array<string, mixed> $args
     * @return array<string, mixed>
     */
    public static function followRedirects(array $args): array
    {
        return ['redirection' => 5] + $args;
    }

    public function testAnUnreachableServiceLeavesTheCampaignAwaitingApproval(): void
    {
        update_option(Options::SERVICE, ['url' => 'http://127.0.0.1:9', 'api_key' => '']);
        $this->seed(self::ID, 1);
        $result = Plugin::approve(self::ID);
        $this->assertFalse($result->ok);
        $this->assertStringStartsWith('Erro ao comunicar com o microserviço: ', $result->message);
        $this->assertSame(['pendente_aprovacao'], $this->rowStatuses(self::ID));
    }

    public function testASecondApprovalNeverPostsAgain(): void
    {
        $this->useFakeDisparo();
        $this->seed(self::ID, 2);
        $this->assertTrue(Plugin::approve(self::ID)->ok);
        $again = Plugin::approve(self::ID);
        $this->assertTrue($again->ok);
        $this->assertSame('already_dispatched', $again->code);
        $this->assertCount(1, $this->disparoRequests());
    }

    public function testAnApprovalInFlightHoldsOffAnother(): void
    {
        $this->useFakeDisparo();
        $this->seed(self::ID, 1);
        add_option('disparo_connector_lock_' . md5(self::ID), (string) time(), '', false);
        $result = Plugin::approve(self::ID);
        delete_option('disparo_connector_lock_' . md5(self::ID));
        $this->assertSame(['dispatch_in_progress', 409], [$result->code, $result->httpStatus]);
        $this->assertSame([], $this->disparoRequests());
    }

    public function testNothingToApproveIs404(): void
    {
        $this->useFakeDisparo();
        $result = Plugin::approve('C29990101000000');
        $this->assertSame(['no_data', 404], [$result->code, $result->httpStatus]);
        $this->assertSame([], $this->disparoRequests());
    }

    public function testTheOldUniqueRouteForwardsToDisparo(): void
    {
        $this->useFakeDisparo();
        $this->seed(self::ID, 2);
        $denied = $this->http('POST', '/wp-json/unique/v1/' . self::ID, ['X-API-KEY' => 'errada']);
        $response = $this->http('POST', '/wp-json/unique/v1/' . self::ID, ['X-API-KEY' => self::MASTER_KEY]);
        $this->assertSame(401, $denied['status']);
        $this->assertSame(200, $response['status'], $response['raw']);
        $this->assertSame([true, 2], [$response['body']['success'], $response['body']['records_updated']]);
        $this->assertCount(1, $this->disparoRequests());
        $this->assertSame(['pendente', 'pendente'], $this->rowStatuses(self::ID));
    }

    public function testTheUniqueRouteReportsAFailedDispatch(): void
    {
        $this->useFakeDisparo(503, 'indisponível');
        $this->seed(self::ID, 1);
        $response = $this->http('POST', '/wp-json/unique/v1/' . self::ID, ['X-API-KEY' => self::MASTER_KEY]);
        $this->assertSame([502, 'microservice_error'], [$response['status'], $response['body']['code']]);
        $this->assertStringContainsString('(503): indisponível', $response['body']['message']);
    }

    public function testAScheduledCampaignIsDispatchedByWpCronOnce(): void
    {
        $this->useFakeDisparo();
        $this->seed(self::ID, 2);
        Scheduler::schedule(self::ID, time() - 1);
        $this->assertSame([], $this->disparoRequests(), 'nothing leaves before cron runs');

        $this->runCron();
        $this->runCron();

        $this->assertCount(1, $this->disparoRequests());
        $this->assertSame(['pendente', 'pendente'], $this->rowStatuses(self::ID));
        $this->assertSame([], Options::schedules());
    }

    public function testAFailedScheduledDispatchStaysListedWithItsError(): void
    {
        $this->useFakeDisparo(500, ['message' => 'fora do ar']);
        $this->seed(self::ID, 1);
        Scheduler::schedule(self::ID, time() - 1);
        $this->runCron();
        $this->assertSame(['pendente_aprovacao'], $this->rowStatuses(self::ID));
        $this->assertArrayHasKey(self::ID, Options::schedules());
        $this->assertStringContainsString('fora do ar', Options::dispatchErrors()[self::ID]);
    }

    public function testApprovingByHandCancelsTheSchedule(): void
    {
        $this->useFakeDisparo();
        $this->seed(self::ID, 1);
        Scheduler::schedule(self::ID, time() + 3600);
        $this->assertTrue(Plugin::approve(self::ID)->ok);
        $this->assertFalse(wp_next_scheduled(Scheduler::HOOK, [self::ID]));
        $this->assertSame([], Options::schedules());
    }

    /** WP-Cron as a system cron drives it: a request to wp-cron.php. */
    private function runCron(): void
    {
        $response = $this->http('GET', '/wp-cron.php?doing_wp_cron');
        $this->assertSame(200, $response['status']);
        wp_cache_flush();
    }
}

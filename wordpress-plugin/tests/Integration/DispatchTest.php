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
        $this->assertSame([
            'agendamento_id' => self::ID,
            'cda_credentials' => ['api_url' => 'https://cda.test/importar', 'api_key' => 'k'],
        ], json_decode($request['body'], true));
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

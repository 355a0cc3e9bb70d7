<?php

declare(strict_types=1);

namespace Disparo\Connector;

/**
 * Hands an approved campaign to disparo (`POST /campaigns/dispatch`, CONTRACTS 1).
 *
 * Rows move from `pendente_aprovacao` to `pendente` only after disparo answered 2xx, so a
 * failed call leaves the campaign awaiting approval for another try. A lock keeps two
 * approvals (two admins, a click and WP-Cron) from posting it together, rows already
 * `pendente` are never posted again, and disparo itself refuses an agendamento_id it knows.
 */
final class Dispatcher
{
    public const TIMEOUT = 30;
    private const LOCK_TTL = 120;

    public function dispatch(string $agendamentoId): DispatchResult
    {
        $waiting = Rows::awaitingApproval($agendamentoId);
        if ($waiting['count'] === 0) {
            if (Rows::countWithStatus($agendamentoId, Rows::PENDING) > 0) {
                Scheduler::forget($agendamentoId);
                return new DispatchResult(true, 'Campanha já entregue ao disparo.', 'already_dispatched');
            }
            return DispatchResult::failed('no_data', 'Nenhuma linha aguardando aprovação para este agendamento.', 404);
        }
        if (Options::serviceUrl() === '') {
            return $this->fail($agendamentoId, 'not_configured', 'URL do disparo não configurada.', 503);
        }
        $tlsProblem = Tls::problem();
        if ($tlsProblem !== null) {
            return $this->fail($agendamentoId, 'tls_not_configured', $tlsProblem, 503);
        }
        if (!$this->lock($agendamentoId)) {
            $message = 'Esta campanha já está sendo enviada ao disparo.';
            return DispatchResult::failed('dispatch_in_progress', $message, 409);
        }
        try {
            return $this->post($agendamentoId);
        } finally {
            delete_option($this->lockName($agendamentoId));
        }
    }

    private function post(string $agendamentoId): DispatchResult
    {
        // The certificate is verified and no redirect followed (Tls): the call carries the API key.
        $response = wp_remote_post(Options::serviceUrl() . '/campaigns/dispatch', Tls::requestArgs() + [
            'timeout' => self::TIMEOUT,
            'headers' => [
                'Content-Type' => 'application/json',
                'X-API-KEY' => Options::serviceKey(),
            ],
            'body' => (string) wp_json_encode(Payload::build($agendamentoId)),
        ]);
        if (is_wp_error($response)) {
            $message = sprintf(
                'Erro ao comunicar com o microserviço: %s (Código: %s). '
                . 'A campanha permanecerá pendente para nova tentativa.',
                $response->get_error_message(),
                (string) $response->get_error_code()
            );
            return $this->fail($agendamentoId, 'microservice_unreachable', $message, 502);
        }
        $status = (int) wp_remote_retrieve_response_code($response);
        if ($status >= 300 && $status <= 399) {
            $message = sprintf(
                'O disparo respondeu com um redirecionamento (%d para %s), que não é seguido: levaria '
                . 'a chave de API junto. Configure a URL final do disparo (https). '
                . 'A campanha permanecerá pendente para nova tentativa.',
                $status,
                mb_substr((string) wp_remote_retrieve_header($response, 'location'), 0, 200)
            );
            return $this->fail($agendamentoId, 'microservice_redirect', $message, 502);
        }
        if ($status < 200 || $status > 299) {
            $message = sprintf(
                'Microserviço retornou erro (%d): %s. A campanha permanecerá pendente para nova tentativa.',
                $status,
                self::detail((string) wp_remote_retrieve_body($response))
            );
            return $this->fail($agendamentoId, 'microservice_error', $message, 502);
        }
        $rows = Rows::markDispatched($agendamentoId);
        Options::setDispatchError($agendamentoId, null);
        Scheduler::forget($agendamentoId);
        do_action('disparo_connector_dispatched', $agendamentoId, $rows);
        return new DispatchResult(true, 'Campanha enviada ao disparo.', 'dispatched', 200, $rows);
    }

    private function fail(string $agendamentoId, string $code, string $message, int $status): DispatchResult
    {
        Options::setDispatchError($agendamentoId, $message);
        return DispatchResult::failed($code, $message, $status);
    }

    /** The body's `message`, else its `error`, else the first 200 characters (CONTRACTS 1.5). */
    private static function detail(string $body): string
    {
        $json = json_decode($body, true);
        if (is_array($json)) {
            foreach (['message', 'error'] as $field) {
                if (isset($json[$field]) && is_scalar($json[$field])) {
                    return (string) $json[$field];
                }
            }
        }
        return mb_substr($body, 0, 200);
    }

    /** add_option is an INSERT on a unique name: only one request wins the lock. */
    private function lock(string $agendamentoId): bool
    {
        $name = $this->lockName($agendamentoId);
        if (add_option($name, (string) time(), '', false)) {
            return true;
        }
        $since = (int) get_option($name, '0');
        if ($since > 0 && time() - $since > self::LOCK_TTL) {
            // Its holder died mid-request; disparo's idempotency covers the rare double post.
            delete_option($name);
            return add_option($name, (string) time(), '', false);
        }
        return false;
    }

    private function lockName(string $agendamentoId): string
    {
        return 'disparo_connector_lock_' . md5($agendamentoId);
    }
}

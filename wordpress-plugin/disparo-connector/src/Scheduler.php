<?php

declare(strict_types=1);

namespace Disparo\Connector;

/** Campaigns approved for a later time: WP-Cron hands them to disparo when they are due. */
final class Scheduler
{
    public const HOOK = 'disparo_connector_dispatch_due';

    public static function schedule(string $agendamentoId, int $timestamp): void
    {
        self::unscheduleEvent($agendamentoId);
        $schedules = Options::schedules();
        $schedules[$agendamentoId] = $timestamp;
        update_option(Options::SCHEDULES, $schedules, false);
        wp_schedule_single_event($timestamp, self::HOOK, [$agendamentoId]);
    }

    /** The campaign reached disparo (or was approved by hand): no scheduled dispatch left. */
    public static function forget(string $agendamentoId): void
    {
        $schedules = Options::schedules();
        if (isset($schedules[$agendamentoId])) {
            unset($schedules[$agendamentoId]);
            update_option(Options::SCHEDULES, $schedules, false);
        }
        self::unscheduleEvent($agendamentoId);
    }

    /**
     * WP-Cron callback. A failed call keeps the campaign awaiting approval and listed as
     * scheduled with its error, so an admin sees it and can approve it again.
     */
    public static function dispatchDue(string $agendamentoId): void
    {
        if (!isset(Options::schedules()[$agendamentoId])) {
            return; // cancelled or already dispatched by hand
        }
        Plugin::dispatcher()->dispatch($agendamentoId);
    }

    private static function unscheduleEvent(string $agendamentoId): void
    {
        $next = wp_next_scheduled(self::HOOK, [$agendamentoId]);
        if ($next !== false) {
            wp_unschedule_event($next, self::HOOK, [$agendamentoId]);
        }
    }
}

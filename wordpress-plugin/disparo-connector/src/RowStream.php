<?php

declare(strict_types=1);

namespace Disparo\Connector;

use JsonSerializable;

/**
 * An agendamento's pending rows as the data route's JSON array, written in chunks of rows read
 * by id, so a campaign of a million rows never sits in PHP's memory as one array (the panel's
 * route built it whole). Internal REST calls, which need a value, get the whole array.
 */
final class RowStream implements JsonSerializable
{
    public const CHUNK = 2000;

    public function __construct(private readonly string $agendamentoId)
    {
    }

    public function write(): void
    {
        echo '[';
        $first = true;
        foreach ($this->chunks() as $rows) {
            foreach ($rows as $row) {
                echo $first ? '' : ',', wp_json_encode(RestRoutes::rowForService($row));
                $first = false;
            }
            flush();
        }
        echo ']';
    }

    /** @return list<array<string, mixed>> */
    public function jsonSerialize(): array
    {
        $all = [];
        foreach ($this->chunks() as $rows) {
            foreach ($rows as $row) {
                $all[] = RestRoutes::rowForService($row);
            }
        }
        return $all;
    }

    /** @return iterable<array<int, array<string, mixed>>> */
    private function chunks(): iterable
    {
        $after = 0;
        do {
            $rows = Rows::pendingRows($this->agendamentoId, $after, self::CHUNK);
            if ($rows !== []) {
                yield $rows;
                $after = (int) end($rows)['id'];
            }
        } while (count($rows) === self::CHUNK);
    }

    /** rest_pre_serve_request: streams the body itself when the response carries a RowStream. */
    public static function serve(bool $served, mixed $result): bool
    {
        if ($served || !$result instanceof \WP_REST_Response || !$result->get_data() instanceof self) {
            return $served;
        }
        $result->get_data()->write();
        return true;
    }
}

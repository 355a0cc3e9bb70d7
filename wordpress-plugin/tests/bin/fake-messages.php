<?php

/**
 * The fake disparo's GET /campaigns/{id}/messages (see fake-disparo.php): pages of the
 * messages FAKE_DISPARO_DIR/messages.json describes, shaped like disparo's MessagePage.
 */

declare(strict_types=1);

$dir = (string) getenv('FAKE_DISPARO_DIR');
$spec = json_decode((string) file_get_contents($dir . '/messages.json'), true);
$after = (int) ($_GET['after'] ?? 0);
$limit = min(1000, max(1, (int) ($_GET['limit'] ?? 100)));
$since = isset($_GET['delivery_since']) ? strtotime((string) $_GET['delivery_since']) : null;
file_put_contents($dir . '/requests.jsonl', json_encode([
    'method' => 'GET',
    'path' => $_SERVER['REQUEST_URI'] ?? '',
    'headers' => array_change_key_case(getallheaders(), CASE_LOWER),
    'body' => '',
]) . "\n", FILE_APPEND | LOCK_EX);
header('Content-Type: application/json');

if (isset($spec['fail_at_after']) && (int) $spec['fail_at_after'] === $after && !is_file($dir . '/failed-once')) {
    touch($dir . '/failed-once');
    http_response_code(503);
    echo json_encode(['statusCode' => 503, 'message' => 'indisponível por um instante']);
    exit;
}

/** Made-up message number `$n` (1-based): row ids from first_row_id, every tenth row odd. */
$fakeMessage = static function (int $n, array $generate): array {
    $kind = $n % 10;
    $status = [7 => 'SKIPPED', 8 => 'FAILED', 9 => 'UNKNOWN'][$kind] ?? 'SENT';
    return [
        'id' => $n,
        'row_index' => $n - 1,
        'row_id' => (int) $generate['first_row_id'] + $n - 1,
        'phone' => sprintf('55119%08d', $n),
        'name' => "CLIENTE {$n}",
        'status' => $status,
        'batch' => 0,
        'attempts' => 1,
        'error' => $status === 'FAILED' ? 'Número rejeitado pelo fornecedor' : null,
        'skip_reason' => $status === 'SKIPPED' ? "telefone inválido: '12'" : null,
        'sent_at' => '2025-01-15T12:31:05Z',
        'channel' => null,
        'delivery_status' => null,
        'delivery_at' => null,
        'delivery_reason' => null,
        'delivery_recorded_at' => null,
    ];
};

$page = [];
if (isset($spec['generate'])) {
    $count = (int) $spec['generate']['count'];
    for ($n = $after + 1; $n <= min($count, $after + $limit) && $since === null; $n++) {
        $page[] = $fakeMessage($n, $spec['generate']);
    }
} else {
    $items = $spec['items'] ?? [];
    if ($since !== null) {
        $items = array_values(array_filter($items, static function (array $item) use ($since, $after): bool {
            $at = isset($item['delivery_recorded_at']) ? strtotime($item['delivery_recorded_at']) : false;
            return $at !== false && ($at > $since || ($at === $since && $item['id'] > $after));
        }));
        usort($items, static fn (array $a, array $b): int => [strtotime($a['delivery_recorded_at']), $a['id']]
            <=> [strtotime($b['delivery_recorded_at']), $b['id']]);
    } else {
        $items = array_values(array_filter($items, static fn (array $item): bool => $item['id'] > $after));
    }
    $page = array_slice($items, 0, $limit);
}
$full = count($page) === $limit;
$last = $full ? $page[$limit - 1] : null;
echo json_encode([
    'items' => $page,
    'next_after' => $last['id'] ?? null,
    'next_delivery_since' => $since !== null && $last !== null ? $last['delivery_recorded_at'] : null,
    'as_of' => gmdate('Y-m-d\TH:i:s\Z'),
]);

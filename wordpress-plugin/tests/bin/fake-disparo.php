<?php

/**
 * A stand-in for disparo's POST /campaigns/dispatch, served by `php -S`, for the PHPUnit
 * tests: it answers what FAKE_DISPARO_DIR/response.json says (status, body, extra headers;
 * default 202) and appends each request (path, headers, body) to
 * FAKE_DISPARO_DIR/requests.jsonl.
 *
 * GET /campaigns/{id}/messages, when FAKE_DISPARO_DIR/messages.json exists, serves its
 * messages in disparo's pages (MessagePage: keyset `after`/`limit`, `delivery_since`):
 * {"items": [...]} as given, or {"generate": {"count": n, "first_row_id": r}} made up (every
 * tenth row skipped, failed, unknown in turn); {"fail_at_after": a} answers 503 once when
 * asked for the page after `a`.
 */

declare(strict_types=1);

$dir = (string) getenv('FAKE_DISPARO_DIR');
$path = (string) parse_url($_SERVER['REQUEST_URI'] ?? '', PHP_URL_PATH);
if (preg_match('#^/campaigns/[^/]+/messages$#', $path) === 1 && is_file($dir . '/messages.json')) {
    require __DIR__ . '/fake-messages.php';
    exit;
}
$headers = function_exists('getallheaders') ? getallheaders() : [];
file_put_contents($dir . '/requests.jsonl', json_encode([
    'method' => $_SERVER['REQUEST_METHOD'] ?? '',
    'path' => $_SERVER['REQUEST_URI'] ?? '',
    'headers' => array_change_key_case($headers, CASE_LOWER),
    'body' => file_get_contents('php://input'),
]) . "\n", FILE_APPEND | LOCK_EX);
$response = ['status' => 202, 'body' => ['success' => true, 'message' => 'Campanha adicionada à fila']];
if (is_file($dir . '/response.json')) {
    $response = json_decode((string) file_get_contents($dir . '/response.json'), true);
}
http_response_code((int) $response['status']);
header('Content-Type: application/json');
foreach ($response['headers'] ?? [] as $name => $value) {
    header($name . ': ' . $value);
}
echo is_string($response['body']) ? $response['body'] : json_encode($response['body']);

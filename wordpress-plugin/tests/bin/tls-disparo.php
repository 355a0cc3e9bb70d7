<?php

/**
 * The fake disparo again, behind TLS with a certificate no public CA signed, for the plugin's
 * TLS tests: php tls-disparo.php PORT CERT KEY. A client that refuses the certificate never
 * gets to send anything; one that accepts it is answered as by fake-disparo.php, and its
 * request appended to FAKE_DISPARO_DIR/requests.jsonl. One connection at a time.
 */

declare(strict_types=1);

// phpcs:disable PSR1.Files.SideEffects -- a script with one helper function

[$script, $port, $cert, $key] = $argv + [null, null, null, null];
$dir = (string) getenv('FAKE_DISPARO_DIR');
$context = stream_context_create(['ssl' => ['local_cert' => $cert, 'local_pk' => $key]]);
$server = stream_socket_server(
    "tls://127.0.0.1:{$port}",
    $errno,
    $error,
    STREAM_SERVER_BIND | STREAM_SERVER_LISTEN,
    $context
);
if ($server === false) {
    fwrite(STDERR, "tls-disparo: {$error}\n");
    exit(1);
}

/** @return array{0: string, 1: array<string, string>, 2: string}|null request line, headers, body */
function readRequest($connection): ?array
{
    $line = fgets($connection);
    if ($line === false) {
        return null;
    }
    $headers = [];
    while (($header = fgets($connection)) !== false && trim($header) !== '') {
        [$name, $value] = array_map('trim', explode(':', $header, 2) + [1 => '']);
        $headers[strtolower($name)] = $value;
    }
    $body = '';
    $length = (int) ($headers['content-length'] ?? 0);
    while (strlen($body) < $length && !feof($connection)) {
        $body .= (string) fread($connection, $length - strlen($body));
    }
    return [trim($line), $headers, $body];
}

while (true) {
    $connection = @stream_socket_accept($server, 60); // false: no client, or it refused us
    if ($connection === false) {
        continue;
    }
    stream_set_timeout($connection, 5);
    $request = readRequest($connection);
    if ($request !== null) {
        [$line, $headers, $body] = $request;
        [$method, $path] = explode(' ', $line) + ['', ''];
        file_put_contents($dir . '/requests.jsonl', json_encode([
            'method' => $method,
            'path' => $path,
            'headers' => $headers,
            'body' => $body,
            'tls' => true,
        ]) . "\n", FILE_APPEND | LOCK_EX);
        $response = ['status' => 202, 'body' => ['success' => true, 'message' => 'Campanha adicionada à fila']];
        if (is_file($dir . '/response.json')) {
            $response = json_decode((string) file_get_contents($dir . '/response.json'), true);
        }
        $text = is_string($response['body']) ? $response['body'] : json_encode($response['body']);
        fwrite($connection, sprintf(
            "HTTP/1.1 %d Answer\r\nContent-Type: application/json\r\nContent-Length: %d\r\n"
            . "Connection: close\r\n\r\n%s",
            (int) $response['status'],
            strlen($text),
            $text
        ));
    }
    fclose($connection);
}

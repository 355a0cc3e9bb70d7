<?php

declare(strict_types=1);

namespace Disparo\Connector;

/**
 * The options that hold keys and credentials, encrypted at rest and never autoloaded.
 *
 * Encryption sits in WordPress's option filters, so every get_option() and update_option() of
 * these names (ours, and the campaign panel's when it runs beside us) reads and writes clear
 * values while the database only ever holds `disparo-secret:v1:` + base64(nonce, ciphertext).
 * XChaCha20-Poly1305 (sodium) with the option name as associated data, so a ciphertext moved
 * to another option does not decrypt. The key is derived from the wp-config.php salts: a copy
 * of the database alone opens nothing.
 */
final class Secrets
{
    public const PREFIX = 'disparo-secret:v1:';
    public const VERSION_OPTION = 'disparo_connector_secrets_version';
    private const VERSION = '1';
    private const SALTS = [
        'AUTH_KEY', 'SECURE_AUTH_KEY', 'LOGGED_IN_KEY', 'NONCE_KEY',
        'AUTH_SALT', 'SECURE_AUTH_SALT', 'LOGGED_IN_SALT', 'NONCE_SALT',
    ];
    /** wp-config-sample.php's placeholder: not a secret. */
    private const PLACEHOLDER = 'put your unique phrase here';

    /** @var array<string, true> options whose stored value could not be decrypted */
    private static array $unreadable = [];

    /** @return list<string> */
    public static function names(): array
    {
        return [
            Options::MASTER_KEY, Options::SERVICE, Options::STATIC_CREDENTIALS,
            Options::ENV_CREDENTIALS, Options::WEBHOOK_SECRET, Options::PREVIOUS,
        ];
    }

    public static function register(): void
    {
        foreach (self::names() as $name) {
            add_filter("option_{$name}", [self::class, 'reveal'], 1, 2);
            add_filter("pre_update_option_{$name}", [self::class, 'seal'], PHP_INT_MAX, 3);
        }
        add_action('added_option', [self::class, 'afterWrite'], 10, 1);
        // Another plugin's update_option($name, $value, 'yes') would autoload it again.
        add_action('updated_option', [self::class, 'afterWrite'], 10, 1);
        if (get_option(self::VERSION_OPTION) !== self::VERSION) {
            self::migrate();
        }
    }

    /** option_{name}: the stored ciphertext as the clear value (a clear legacy value as is). */
    public static function reveal(mixed $stored, string $name): mixed
    {
        if (!is_string($stored) || !str_starts_with($stored, self::PREFIX)) {
            return $stored;
        }
        $plain = self::decrypt($stored, $name);
        if ($plain === null) {
            self::$unreadable[$name] = true;
            return $name === Options::MASTER_KEY || $name === Options::WEBHOOK_SECRET ? '' : [];
        }
        unset(self::$unreadable[$name]);
        return $plain;
    }

    /** pre_update_option_{name}: what is written is the ciphertext of the clear value. */
    public static function seal(mixed $value, mixed $old, string $name): mixed
    {
        if (!self::available() || (is_string($value) && str_starts_with($value, self::PREFIX))) {
            return $value;
        }
        return self::encrypt($value, $name);
    }

    /**
     * added_option / updated_option: add_option() skips the update filter, and either may set
     * autoload; the stored row is made sealed and not autoloaded (a no-op when it is both).
     */
    public static function afterWrite(string $name): void
    {
        if (in_array($name, self::names(), true)) {
            self::store($name);
        }
    }

    /** Seal every clear value already stored (a site that ran the panel), once per version. */
    public static function migrate(): void
    {
        if (!self::available()) {
            return; // the settings page says why; nothing is marked done
        }
        foreach (self::names() as $name) {
            self::store($name);
        }
        update_option(self::VERSION_OPTION, self::VERSION, true);
    }

    /**
     * Deactivation: write the clear values back, so the campaign panel (which reads the same
     * options without this plugin's filters) keeps working; activation seals them again.
     */
    public static function unsealAll(): void
    {
        // A site without the panel may keep them sealed while the plugin is off (a mu-plugin:
        // add_filter('disparo_connector_unseal_on_deactivation', '__return_false')).
        if (!apply_filters('disparo_connector_unseal_on_deactivation', true)) {
            return;
        }
        foreach (self::names() as $name) {
            $clear = get_option($name, null);
            if ($clear !== null && !isset(self::$unreadable[$name])) {
                self::write($name, maybe_serialize($clear));
            }
        }
        delete_option(self::VERSION_OPTION);
    }

    /**
     * Options whose stored value this site cannot decrypt (the salts changed): type them again.
     *
     * @return list<string>
     */
    public static function unreadable(): array
    {
        foreach (self::names() as $name) {
            get_option($name); // reveal() records the ones that fail
        }
        return array_keys(self::$unreadable);
    }

    public static function available(): bool
    {
        return self::key() !== null;
    }

    /** Rewrites one stored option sealed and not autoloaded, unless it already is both. */
    private static function store(string $name): void
    {
        global $wpdb;
        $row = $wpdb->get_row($wpdb->prepare(
            "SELECT option_value, autoload FROM {$wpdb->options} WHERE option_name = %s",
            $name
        ), ARRAY_A);
        if (!is_array($row)) {
            return;
        }
        $raw = (string) $row['option_value'];
        $sealed = str_starts_with($raw, self::PREFIX);
        if ($sealed && $row['autoload'] === 'no') {
            return;
        }
        if (!$sealed && self::available()) {
            $raw = self::encrypt(maybe_unserialize($raw), $name);
        }
        self::write($name, $raw);
    }

    /** A raw write of the stored text (no filters, so nothing is sealed or revealed twice). */
    private static function write(string $name, string $stored): void
    {
        global $wpdb;
        $wpdb->update($wpdb->options, ['option_value' => $stored, 'autoload' => 'no'], ['option_name' => $name]);
        wp_cache_delete($name, 'options');
        wp_cache_delete('alloptions', 'options');
        wp_cache_delete('notoptions', 'options');
    }

    public static function encrypt(mixed $value, string $name): string
    {
        $key = self::key();
        if ($key === null) {
            throw new \RuntimeException('wp-config.php não define salts: sem chave para cifrar segredos.');
        }
        $nonce = random_bytes(SODIUM_CRYPTO_AEAD_XCHACHA20POLY1305_IETF_NPUBBYTES);
        $cipher = sodium_crypto_aead_xchacha20poly1305_ietf_encrypt(serialize($value), $name, $nonce, $key);
        return self::PREFIX . base64_encode($nonce . $cipher);
    }

    /** The clear value, or null when it does not decrypt with this site's key. */
    public static function decrypt(string $stored, string $name): mixed
    {
        $key = self::key();
        $raw = base64_decode(substr($stored, strlen(self::PREFIX)), true);
        $nonceLength = SODIUM_CRYPTO_AEAD_XCHACHA20POLY1305_IETF_NPUBBYTES;
        if ($key === null || $raw === false || strlen($raw) <= $nonceLength) {
            return null;
        }
        $plain = sodium_crypto_aead_xchacha20poly1305_ietf_decrypt(
            substr($raw, $nonceLength),
            $name,
            substr($raw, 0, $nonceLength),
            $key
        );
        if ($plain === false) {
            return null;
        }
        return unserialize($plain, ['allowed_classes' => false]);
    }

    /** 32 bytes from the wp-config.php salts (HKDF-SHA256); null when none is set. */
    private static function key(): ?string
    {
        $material = '';
        foreach (self::SALTS as $constant) {
            $value = defined($constant) ? (string) constant($constant) : '';
            if ($value !== '' && $value !== self::PLACEHOLDER) {
                $material .= $constant . '=' . $value . "\n";
            }
        }
        if ($material === '') {
            return null;
        }
        $length = SODIUM_CRYPTO_AEAD_XCHACHA20POLY1305_IETF_KEYBYTES;
        return hash_hkdf('sha256', $material, $length, 'disparo-connector secrets v1');
    }
}

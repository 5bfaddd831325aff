package dev.kiln.lakehouse;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** Kiln's one content hash: SHA-256 of a text's UTF-8 bytes, as lower-case hex (ids, definition and config hashes). */
public final class Hashing {
    private Hashing() {}

    /** The whole hash, 64 hex digits. */
    public static String sha256Hex(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }

    /** The first {@code digits} hex digits of the hash (a short id). */
    public static String sha256Hex(String text, int digits) {
        return sha256Hex(text).substring(0, digits);
    }
}

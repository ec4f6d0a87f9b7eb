package io.piston.pubsub.redis;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.lettuce.core.RedisURI;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** RedisEngine's helpers, without a Redis server. */
class RedisEngineTest {
    @Test
    void tellsValidUtf8FromBinary() {
        assertTrue(RedisEngine.isUtf8(bytes("plain ascii")));
        assertTrue(RedisEngine.isUtf8("h\u00e9llo \u20ac \ud83d\ude00".getBytes(StandardCharsets.UTF_8)));
        assertTrue(RedisEngine.isUtf8(new byte[0]));
        assertFalse(RedisEngine.isUtf8(new byte[] {(byte) 0xff, 0}));
        assertFalse(RedisEngine.isUtf8(new byte[] {(byte) 0xc0, (byte) 0x80})); // overlong
        assertFalse(RedisEngine.isUtf8(new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80})); // surrogate
        assertFalse(RedisEngine.isUtf8(new byte[] {(byte) 0xe2, (byte) 0x82})); // cut short
        assertFalse(RedisEngine.isUtf8(new byte[] {(byte) 0xf4, (byte) 0x90, (byte) 0x80, (byte) 0x80})); // > U+10FFFF
    }

    @Test
    void describesRedisWithoutThePassword() {
        assertEquals("redis://cache.local:6380/2", RedisEngine.display(RedisURI.create("redis://:s3cret@cache.local:6380/2")));
        assertEquals("redis://127.0.0.1:6379/0", RedisEngine.display(RedisURI.create("redis://127.0.0.1")));
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}

package io.piston.rack;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.AsciiString;
import org.jruby.Ruby;
import org.jruby.RubyString;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Env key strings: built once, frozen, and the same object for the same header name. */
class EnvKeysTest {
    private static EnvKeys keys;

    @BeforeAll
    static void runtime() {
        keys = new EnvKeys(Ruby.newInstance(), "Piston test");
    }

    @Test
    void headerKeysOfKnownNamesAreTheConstants() {
        assertSame(keys.httpHost, keys.headerKey(new AsciiString("Host")));
        assertSame(keys.httpHost, keys.headerKey("host"));
        assertSame(keys.httpCookie, keys.headerKey(new AsciiString("Cookie")));
        assertSame(keys.httpTransferEncoding, keys.headerKey(new AsciiString("transfer-encoding")));
    }

    @Test
    void headerKeysAreFrozenAndUpperCased() {
        RubyString k = keys.headerKey(new AsciiString("X-Forwarded-For"));
        assertEquals("HTTP_X_FORWARDED_FOR", k.toString());
        assertTrue(k.isFrozen());
        assertSame(k, keys.headerKey(new AsciiString("X-Forwarded-For")));
    }

    @Test
    void nameCacheKeepsOneEntryPerSlotAndComparesBytes() {
        NameCache<String> cache = new NameCache<>(2);
        cache.put(new AsciiString("a"), "A");
        assertEquals("A", cache.get(new AsciiString("a")));
        assertNull(cache.get(new AsciiString("b")));
        for (int i = 0; i < 100; i++) cache.put(new AsciiString("name" + i), "v" + i);
        assertEquals("v99", cache.get(new AsciiString("name99")));
    }
}

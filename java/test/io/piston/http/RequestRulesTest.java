package io.piston.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

/** The RFC 9112 request rules, one by one, on requests built in memory. */
class RequestRulesTest {
    private static HttpRequest request(String version, String target, String... headers) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.valueOf(version), HttpMethod.GET, target);
        for (int i = 0; i < headers.length; i += 2) r.headers().add(headers[i], headers[i + 1]);
        return r;
    }

    private static int status(HttpRequest r) {
        RequestRules.Violation v = RequestRules.check(r);
        return v == null ? 0 : v.status();
    }

    @Test
    void acceptsOrdinaryRequests() {
        assertEquals(0, status(request("HTTP/1.1", "/a?b=c", "Host", "example.com:8080")));
        assertEquals(0, status(request("HTTP/1.1", "/", "Host", "[::1]:3000")));
        assertEquals(0, status(request("HTTP/1.1", "/", "Host", "")));
        assertEquals(0, status(request("HTTP/1.0", "/")));
        assertEquals(0, status(request("HTTP/1.1", "/", "Host", "h", "Transfer-Encoding", "Chunked")));
    }

    @Test
    void hostMustBeThereOnceAndValid() {
        assertEquals(400, status(request("HTTP/1.1", "/")));
        assertEquals(400, status(request("HTTP/1.1", "/", "Host", "a", "Host", "a")));
        assertEquals(400, status(request("HTTP/1.0", "/", "Host", "a", "Host", "b")));
        for (String bad : new String[] {"a b", "a, b", "a/b", "h:8o", "[::1", "[::1]x", "a@b", "h:80:80"}) {
            assertEquals(400, status(request("HTTP/1.1", "/", "Host", bad)), bad);
        }
    }

    @Test
    void versionsOtherThanOneDotZeroAndOneDotOneAre505() {
        assertEquals(505, status(request("HTTP/2.0", "*", "Host", "h")));
        assertEquals(505, status(request("HTTP/1.2", "/", "Host", "h")));
        assertEquals(505, status(request("HTTP/0.9", "/", "Host", "h")));
    }

    @Test
    void transferCodings() {
        assertEquals(501, status(request("HTTP/1.1", "/", "Host", "h", "Transfer-Encoding", "gzip, chunked")));
        assertEquals(501, status(request("HTTP/1.1", "/", "Host", "h", "Transfer-Encoding", "gzip",
                "Transfer-Encoding", "chunked")));
        assertEquals(400, status(request("HTTP/1.1", "/", "Host", "h", "Transfer-Encoding", "chunked, gzip")));
        assertEquals(400, status(request("HTTP/1.1", "/", "Host", "h", "Transfer-Encoding", "chunked, chunked")));
        assertEquals(400, status(request("HTTP/1.1", "/", "Host", "h", "Transfer-Encoding", ",")));
    }

    @Test
    void absoluteFormAuthority() {
        assertEquals("example.com:81", RequestRules.authorityOf("http://example.com:81/p?q"));
        assertEquals("example.com", RequestRules.authorityOf("https://user:pw@example.com?q"));
        assertEquals("[::1]", RequestRules.authorityOf("http://[::1]"));
        assertNull(RequestRules.authorityOf("/path"));
        assertNull(RequestRules.authorityOf("*"));
        assertEquals(400, status(request("HTTP/1.1", "http://a<b>/", "Host", "h")));
    }

    @Test
    void hostSyntax() {
        assertTrue(RequestRules.isValidHost("xn--bcher-kva.example"));
        assertTrue(RequestRules.isValidHost("192.0.2.1:"));
        assertTrue(RequestRules.isValidHost("[fe80::1%25eth0]:8080"));
        assertFalse(RequestRules.isValidHost("exa\u0000mple"));
        assertFalse(RequestRules.isValidHost("host\r\nX: y"));
    }
}

package io.piston.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import org.junit.jupiter.api.Test;

/** Which opening handshakes are valid, and the status that refuses the others (RFC 6455 4.2.1, 4.4). */
class UpgradeDetectorTest {
    private static final String KEY = "dGhlIHNhbXBsZSBub25jZQ==";

    /** A GET asking for a WebSocket, with {@code headers} as name, value pairs. */
    private static HttpRequest asking(String... headers) {
        HttpRequest r = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        r.headers().add("upgrade", "websocket").add("connection", "keep-alive, Upgrade");
        for (int i = 0; i < headers.length; i += 2) r.headers().add(headers[i], headers[i + 1]);
        return r;
    }

    @Test
    void aValidHandshake() {
        HttpRequest r = asking("sec-websocket-version", "13", "sec-websocket-key", KEY);
        assertTrue(UpgradeDetector.asksForWebSocket(r));
        assertEquals(0, UpgradeDetector.handshakeError(r));
        assertTrue(UpgradeDetector.isWebSocket(r));
        assertEquals(Protocol.WEBSOCKET, UpgradeDetector.detect(r));
    }

    @Test
    void anotherVersionOrNoneIs426() {
        assertEquals(426, UpgradeDetector.handshakeError(asking("sec-websocket-version", "8", "sec-websocket-key", KEY)));
        assertEquals(426, UpgradeDetector.handshakeError(asking("sec-websocket-key", KEY)));
        assertFalse(UpgradeDetector.isWebSocket(asking("sec-websocket-version", "8", "sec-websocket-key", KEY)));
    }

    @Test
    void aRepeatedMissingOrMalformedKeyOrARepeatedVersionIs400() {
        assertEquals(400, UpgradeDetector.handshakeError(asking("sec-websocket-version", "13",
                "sec-websocket-key", KEY, "sec-websocket-key", "AQIDBAUGBwgJCgsMDQ4PEA==")));
        assertEquals(400, UpgradeDetector.handshakeError(asking("sec-websocket-version", "13")));
        assertEquals(400, UpgradeDetector.handshakeError(asking("sec-websocket-version", "13", "sec-websocket-key", "short")));
        assertEquals(400, UpgradeDetector.handshakeError(asking("sec-websocket-version", "13",
                "sec-websocket-version", "13", "sec-websocket-key", KEY)));
        assertNull(UpgradeDetector.detect(asking("sec-websocket-version", "13")));
    }

    @Test
    void onlyAGetOverHttp11WithBothTokensAsksForAWebSocket() {
        HttpRequest post = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/");
        post.headers().add("upgrade", "websocket").add("connection", "upgrade");
        assertFalse(UpgradeDetector.asksForWebSocket(post));
        HttpRequest old = new DefaultHttpRequest(HttpVersion.HTTP_1_0, HttpMethod.GET, "/");
        old.headers().add("upgrade", "websocket").add("connection", "upgrade");
        assertFalse(UpgradeDetector.asksForWebSocket(old));
        HttpRequest noConnection = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        noConnection.headers().add("upgrade", "websocket");
        assertFalse(UpgradeDetector.asksForWebSocket(noConnection));
    }
}

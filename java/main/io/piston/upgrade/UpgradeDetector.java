package io.piston.upgrade;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Base64;
import java.util.List;

/**
 * Tells what a request may be upgraded to, from its headers alone: a WebSocket handshake
 * (RFC 6455 4.2.1) or an EventSource request (Accept lists text/event-stream). Pure functions,
 * called on the worker thread that builds the env and on the one that answers the handshake.
 */
public final class UpgradeDetector {
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

    private UpgradeDetector() {}

    /** The protocol the request may be upgraded to, or null for none. */
    public static Protocol detect(HttpRequest request) {
        HttpHeaders headers = request.headers();
        if (headers.contains(HttpHeaderNames.UPGRADE) && isWebSocket(request)) return Protocol.WEBSOCKET;
        if (headers.contains(HttpHeaderNames.ACCEPT) && acceptsEventStream(headers)) return Protocol.SSE;
        return null;
    }

    /** A valid WebSocket opening handshake: GET, HTTP/1.1, Upgrade and Connection tokens, version 13, one key. */
    public static boolean isWebSocket(HttpRequest request) {
        return asksForWebSocket(request) && handshakeError(request) == 0;
    }

    /** GET, HTTP/1.1, Upgrade: websocket and Connection: upgrade: the request means to open a WebSocket. */
    public static boolean asksForWebSocket(HttpRequest request) {
        HttpHeaders h = request.headers();
        if (request.method() != HttpMethod.GET || !request.protocolVersion().equals(HttpVersion.HTTP_1_1)) return false;
        return hasToken(h.getAll(HttpHeaderNames.UPGRADE), "websocket") && hasToken(h.getAll(HttpHeaderNames.CONNECTION), "upgrade");
    }

    /**
     * For a request that {@link #asksForWebSocket}: 0 when its handshake is valid, or the status
     * that refuses it: 426 when it does not ask for version 13 (RFC 6455 4.4), 400 when the
     * version or the key appears more than once, or the key is not 16 bytes in base64 (4.2.1).
     */
    public static int handshakeError(HttpRequest request) {
        HttpHeaders h = request.headers();
        List<String> versions = h.getAll(HttpHeaderNames.SEC_WEBSOCKET_VERSION);
        if (versions.size() > 1) return 400;
        if (versions.isEmpty() || !"13".equals(versions.get(0).trim())) return 426;
        List<String> keys = h.getAll(HttpHeaderNames.SEC_WEBSOCKET_KEY);
        if (keys.size() != 1) return 400;
        String key = keys.get(0).trim();
        if (key.length() != 24) return 400;
        try {
            return Base64.getDecoder().decode(key).length == 16 ? 0 : 400;
        } catch (IllegalArgumentException e) {
            return 400;
        }
    }

    /** True when one of the Accept header's media ranges is text/event-stream (parameters ignored). */
    public static boolean acceptsEventStream(HttpHeaders headers) {
        for (String accept : headers.getAll(HttpHeaderNames.ACCEPT)) {
            if (indexOfIgnoreCase(accept, "event-stream") < 0) continue;
            for (String range : accept.split(",")) {
                int semi = range.indexOf(';');
                String type = (semi < 0 ? range : range.substring(0, semi)).trim();
                if (type.equalsIgnoreCase("text/event-stream")) return !rejected(range);
            }
        }
        return false;
    }

    /** The Sec-WebSocket-Accept value for a client's key. */
    public static String acceptKey(String key) {
        try {
            MessageDigest sha1 = MessageDigest.getInstance("SHA-1");
            byte[] digest = sha1.digest((key.trim() + GUID).getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(digest);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-1 is missing from this JVM", e);
        }
    }

    /** A media range with q=0 means "not acceptable". */
    private static boolean rejected(String range) {
        for (String param : range.split(";")) {
            String p = param.trim().replace(" ", "");
            if (p.equalsIgnoreCase("q=0") || p.matches("(?i)q=0(\\.0{0,3})?")) return true;
        }
        return false;
    }

    private static boolean hasToken(List<String> values, String token) {
        for (String value : values) {
            for (String part : value.split(",")) {
                if (part.trim().equalsIgnoreCase(token)) return true;
            }
        }
        return false;
    }

    private static int indexOfIgnoreCase(String haystack, String needle) {
        for (int i = 0, n = haystack.length() - needle.length(); i <= n; i++) {
            if (haystack.regionMatches(true, i, needle, 0, needle.length())) return i;
        }
        return -1;
    }
}

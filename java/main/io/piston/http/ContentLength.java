package io.piston.http;

import io.netty.buffer.ByteBuf;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.piston.log.Log;
import java.util.List;

/**
 * Holds an app to the Content-Length it declared. A body shorter than declared would leave the
 * client waiting for bytes that become the next response's; a longer one would send its extra
 * bytes as the start of the next response. Either way Piston sends at most the declared
 * length, closes the connection after the response and logs it. Stateless; worker threads.
 */
final class ContentLength {
    private ContentLength() {}

    /** The value of {@code count} bytes from {@code start}: plain decimal digits, else -1. */
    static long parse(byte[] value, int start, int count) {
        if (count < 1 || count > 18) return -1;
        long n = 0;
        for (int i = start; i < start + count; i++) {
            byte b = value[i];
            if (b < '0' || b > '9') return -1;
            n = n * 10 + (b - '0');
        }
        return n;
    }

    /** As {@link #parse(byte[], int, int)}, for a header value; null is -1. */
    static long parse(String value) {
        if (value == null) return -1;
        String v = value.trim();
        int n = v.length();
        if (n < 1 || n > 18) return -1;
        for (int i = 0; i < n; i++) if (v.charAt(i) < '0' || v.charAt(i) > '9') return -1;
        return Long.parseLong(v);
    }

    /**
     * The single plain number an app's headers give as Content-Length; -1 (logged) when they
     * give several or something else, and the caller drops or replaces the header.
     */
    static long declared(HttpExchange exchange, HttpHeaders headers) {
        List<String> values = headers.getAll(HttpHeaderNames.CONTENT_LENGTH);
        long declared = values.size() == 1 ? parse(values.get(0)) : -1;
        if (declared < 0) {
            Log.warn("app sent an invalid Content-Length " + values + " for " + exchange.request().method() + " "
                    + exchange.request().uri() + ": ignored it");
        }
        return declared;
    }

    /** {@code body} cut to {@code declared} bytes when longer (the rest is dropped). */
    static ByteBuf cut(ByteBuf body, long declared) {
        if (body.readableBytes() > declared) body.writerIndex(body.readerIndex() + (int) declared);
        return body;
    }

    /** Logs an app's length mismatch for {@code exchange}: one line, and the connection closes after it. */
    static void logMismatch(HttpExchange exchange, long declared, long actual) {
        Log.warn("app declared Content-Length " + declared + " but its body " + (actual > declared ? "is longer"
                : "has " + actual + " bytes") + " for " + exchange.request().method() + " " + exchange.request().uri()
                + ": sent at most the declared length and closed the connection");
    }
}

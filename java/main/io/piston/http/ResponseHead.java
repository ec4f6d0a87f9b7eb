package io.piston.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.util.AsciiString;
import java.nio.charset.StandardCharsets;

/**
 * A response head (status line and header lines) written as bytes on the worker thread that
 * serves the request, for {@link HttpExchange#respond(ResponseHead, ByteBuf)}: the IO thread then
 * sends it as it is, with no encoding of its own. The caller checks names and values for CR, LF
 * and NUL before adding them. Notes the headers the exchange has to know of: a Content-Length,
 * and Connection, Transfer-Encoding or a Content-Length that is not one plain number, which
 * only the general path handles.
 */
public final class ResponseHead {
    /** Bodies up to this size are copied behind the head, so head and body leave in one buffer. */
    public static final int MERGE_BODY = 4 * 1024;
    /** "HTTP/1.1 200 OK\r\n" and the like for 100..599, made once when the class loads. */
    private static final byte[][] STATUS_LINES = new byte[600][];
    static {
        for (int status = 100; status < STATUS_LINES.length; status++) STATUS_LINES[status] = makeStatusLine(status);
    }
    private static final byte[] CLOSE = "close".getBytes(StandardCharsets.US_ASCII);

    private final int status;
    private byte[] bytes;
    private int length;
    private boolean hasContentLength;
    /** The Content-Length the app declared, or -1. */
    private long declaredLength = -1;
    private boolean needsGeneralPath;

    /** {@code status} is 100..999. */
    public ResponseHead(int status) {
        if (status < 100 || status > 999) throw new IllegalArgumentException("status " + status + " is not 100..999");
        this.status = status;
        byte[] line = statusLine(status);
        bytes = new byte[line.length + 192];
        System.arraycopy(line, 0, bytes, 0, line.length);
        length = line.length;
    }

    public int status() { return status; }

    /** Whether the headers include one the exchange must rewrite (Connection, Transfer-Encoding, an odd Content-Length). */
    public boolean needsGeneralPath() { return needsGeneralPath; }

    boolean hasContentLength() { return hasContentLength; }

    /** The Content-Length value added, or -1 when there is none. */
    long declaredLength() { return declaredLength; }

    /** Appends {@code name: value}; the value is {@code count} bytes of {@code value} from {@code start}. */
    public void add(AsciiString name, byte[] value, int start, int count) {
        int n = name.length();
        ensure(n + count + 4);
        System.arraycopy(name.array(), name.arrayOffset(), bytes, length, n);
        length += n;
        bytes[length++] = ':';
        bytes[length++] = ' ';
        System.arraycopy(value, start, bytes, length, count);
        length += count;
        bytes[length++] = '\r';
        bytes[length++] = '\n';
        if (name.contentEqualsIgnoreCase(HttpHeaderNames.CONTENT_LENGTH)) {
            // A second one, or one that is not a plain number: the general path checks it.
            if (hasContentLength) needsGeneralPath = true;
            hasContentLength = true;
            declaredLength = ContentLength.parse(value, start, count);
            if (declaredLength < 0) needsGeneralPath = true;
        } else if (name.contentEqualsIgnoreCase(HttpHeaderNames.CONNECTION)
                || name.contentEqualsIgnoreCase(HttpHeaderNames.TRANSFER_ENCODING)) {
            needsGeneralPath = true;
        }
    }

    void addContentLength(long value) {
        byte[] digits = Long.toString(value).getBytes(StandardCharsets.US_ASCII);
        add(HttpHeaderNames.CONTENT_LENGTH, digits, 0, digits.length);
    }

    /** Appends "Connection: close": the connection ends with this response. */
    public void addConnectionClose() {
        add(HttpHeaderNames.CONNECTION, CLOSE, 0, CLOSE.length);
    }

    /**
     * The head, its closing empty line and {@code body} (released here) as one message. A small
     * body is copied behind the head into this head's own array: a plain array costs the worker
     * next to nothing, where a pooled direct buffer taken on a worker thread costs more than the
     * IO thread's copy of the array into one of its own when it writes.
     */
    public ByteBuf finish(ByteBufAllocator alloc, ByteBuf body) {
        ensure(2);
        bytes[length++] = '\r';
        bytes[length++] = '\n';
        int bodyLength = body.readableBytes();
        if (bodyLength > MERGE_BODY) {
            ByteBuf head = alloc.directBuffer(length).writeBytes(bytes, 0, length);
            return Unpooled.wrappedBuffer(head, body);
        }
        ensure(bodyLength);
        body.getBytes(body.readerIndex(), bytes, length, bodyLength);
        length += bodyLength;
        body.release();
        return Unpooled.wrappedBuffer(bytes, 0, length);
    }

    private void ensure(int more) {
        if (length + more > bytes.length) {
            byte[] grown = new byte[Math.max(bytes.length * 2, length + more)];
            System.arraycopy(bytes, 0, grown, 0, length);
            bytes = grown;
        }
    }

    private static byte[] statusLine(int status) {
        return status < STATUS_LINES.length ? STATUS_LINES[status] : makeStatusLine(status);
    }

    private static byte[] makeStatusLine(int status) {
        return ("HTTP/1.1 " + HttpResponseStatus.valueOf(status) + "\r\n").getBytes(StandardCharsets.ISO_8859_1);
    }
}

package io.piston.upgrade;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;

/**
 * Encodes Server-Sent Events (HTML "event stream" format): each line of the data becomes a
 * {@code data: } line, optional {@code event:}, {@code id:} and {@code retry:} fields come first,
 * and a blank line ends the event. Pure functions; any thread.
 */
final class SseEvents {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    static final byte[] PING = ": ping\n\n".getBytes(StandardCharsets.US_ASCII);

    private SseEvents() {}

    static ByteBuf data(ByteBufAllocator alloc, byte[] data, int offset, int length) {
        return event(alloc, null, null, null, data, offset, length);
    }

    /** A full event; {@code event}, {@code id} and {@code retry} may be null. Line breaks in them are dropped. */
    static ByteBuf event(ByteBufAllocator alloc, String event, String id, String retry, byte[] data, int offset,
                         int length) {
        ByteBuf buf = alloc.directBuffer(length + 16 + (event == null ? 0 : event.length() + 8)
                + (id == null ? 0 : id.length() + 5) + (retry == null ? 0 : retry.length() + 8));
        return eventInto(buf, event, id, retry, data, offset, length);
    }

    /** Appends a data-only event to {@code buf} and returns it. */
    static ByteBuf dataInto(ByteBuf buf, byte[] data, int offset, int length) {
        return eventInto(buf, null, null, null, data, offset, length);
    }

    /** Appends a full event to {@code buf} and returns it. */
    static ByteBuf eventInto(ByteBuf buf, String event, String id, String retry, byte[] data, int offset, int length) {
        field(buf, "event: ", event);
        field(buf, "id: ", id);
        field(buf, "retry: ", retry);
        if (data != null) {
            int end = offset + length;
            int lineStart = offset;
            for (int i = offset; i < end; i++) {
                byte b = data[i];
                if (b == '\n' || b == '\r') {
                    buf.writeBytes(DATA).writeBytes(data, lineStart, i - lineStart).writeByte('\n');
                    if (b == '\r' && i + 1 < end && data[i + 1] == '\n') i++;
                    lineStart = i + 1;
                }
            }
            buf.writeBytes(DATA).writeBytes(data, lineStart, end - lineStart).writeByte('\n');
        }
        buf.writeByte('\n');
        return buf;
    }

    private static void field(ByteBuf buf, String name, String value) {
        if (value == null) return;
        buf.writeCharSequence(name, StandardCharsets.US_ASCII);
        buf.writeCharSequence(value.replace("\r", "").replace("\n", ""), StandardCharsets.UTF_8);
        buf.writeByte('\n');
    }
}

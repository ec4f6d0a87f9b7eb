package io.piston.upgrade;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.piston.pubsub.WireFormat;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Encodes Server-Sent Events (HTML "event stream" format): each line of the data becomes a
 * {@code data: } line, optional {@code event:}, {@code id:} and {@code retry:} fields come first,
 * and a blank line ends the event. Pure functions; any thread.
 */
final class SseEvents {
    private static final byte[] DATA = "data: ".getBytes(StandardCharsets.US_ASCII);
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long LFS = 0x0A0A0A0A0A0A0A0AL;
    private static final long CRS = 0x0D0D0D0D0D0D0D0DL;
    /** Published messages as data events. */
    static final WireFormat PUBLISHED = (alloc, data, binary) -> data(alloc, data, 0, data.length);
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

    /** The size of a data-only event carrying {@code data[offset, offset + length)}: see {@link #dataInto}. */
    static int dataSize(byte[] data, int offset, int length) {
        int end = offset + length;
        int i = firstLineBreak(data, offset, end);
        if (i < 0) return oneLineSize(length); // the usual case
        int lines = 1;
        int breaks = 0; // line-break bytes, which the framing drops: CR LF counts 2 for one line
        for (int next; i >= 0; i = firstLineBreak(data, next, end)) {
            next = afterLineBreak(data, i, end);
            breaks += next - i;
            lines++;
        }
        return length - breaks + lines * (DATA.length + 1) + 1;
    }

    /**
     * Writes a data-only event into {@code out} at {@code at}; {@code size} is its {@link #dataSize}
     * (which tells a one-line event, copied without looking for line breaks again).
     */
    static void dataInto(byte[] out, int at, byte[] data, int offset, int length, int size) {
        int last = at + size - 1;
        int end = offset + length;
        int lineStart = offset;
        if (size != oneLineSize(length)) {
            for (int i = firstLineBreak(data, offset, end); i >= 0; i = firstLineBreak(data, lineStart, end)) {
                at = line(out, at, data, lineStart, i);
                lineStart = afterLineBreak(data, i, end);
            }
        }
        at = line(out, at, data, lineStart, end);
        if (at != last) throw new IllegalStateException("event data changed after it was queued");
        out[at] = '\n';
    }

    /** The size of an event of one line; no event of more lines has this size for the same data length. */
    private static int oneLineSize(int length) {
        return DATA.length + length + 2;
    }

    private static int line(byte[] out, int at, byte[] data, int from, int to) {
        System.arraycopy(DATA, 0, out, at, DATA.length);
        at += DATA.length;
        System.arraycopy(data, from, out, at, to - from);
        at += to - from;
        out[at] = '\n';
        return at + 1;
    }

    /** The index of the first CR or LF in {@code data[from, end)}, or -1; reads eight bytes at a time. */
    static int firstLineBreak(byte[] data, int from, int end) {
        int i = from;
        for (; i + 8 <= end; i += 8) {
            long word = (long) LONGS.get(data, i);
            if (hasZeroByte(word ^ LFS) || hasZeroByte(word ^ CRS)) break;
        }
        for (; i < end; i++) {
            if (data[i] == '\n' || data[i] == '\r') return i;
        }
        return -1;
    }

    /** Where the line after the break at {@code i} (CR, LF or CR LF) begins. */
    private static int afterLineBreak(byte[] data, int i, int end) {
        return data[i] == '\r' && i + 1 < end && data[i + 1] == '\n' ? i + 2 : i + 1;
    }

    /** Whether any byte of {@code v} is zero (a bit trick that is exact as a yes or no). */
    private static boolean hasZeroByte(long v) {
        return ((v - 0x0101010101010101L) & ~v & 0x8080808080808080L) != 0;
    }

    /** Appends a full event to {@code buf} and returns it. */
    static ByteBuf eventInto(ByteBuf buf, String event, String id, String retry, byte[] data, int offset, int length) {
        field(buf, "event: ", event);
        field(buf, "id: ", id);
        field(buf, "retry: ", retry);
        if (data != null) {
            int end = offset + length;
            int lineStart = offset;
            for (int i = firstLineBreak(data, offset, end); i >= 0; i = firstLineBreak(data, lineStart, end)) {
                buf.writeBytes(DATA).writeBytes(data, lineStart, i - lineStart).writeByte('\n');
                lineStart = afterLineBreak(data, i, end);
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

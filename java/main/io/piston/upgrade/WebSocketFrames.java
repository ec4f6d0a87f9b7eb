package io.piston.upgrade;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.piston.pubsub.WireFormat;

/**
 * Encodes whole server-to-client WebSocket frames (RFC 6455 5.2: FIN set, unmasked) into one
 * buffer each, header and payload together, so one publish can be encoded once and shared by
 * every subscriber. Pure functions; any thread.
 */
final class WebSocketFrames {
    static final int TEXT = 0x1;
    static final int BINARY = 0x2;
    /** Published messages as unmasked text or binary frames. */
    static final WireFormat PUBLISHED = (alloc, data, binary) -> encode(alloc, binary ? BINARY : TEXT, data, 0, data.length);

    private WebSocketFrames() {}

    static ByteBuf encode(ByteBufAllocator alloc, int opcode, byte[] data, int offset, int length) {
        return encodeInto(alloc.directBuffer(sizeOf(length)), opcode, data, offset, length);
    }

    /** The size of the frame that carries {@code length} bytes. */
    static int sizeOf(int length) {
        return (length < 126 ? 2 : length <= 0xFFFF ? 4 : 10) + length;
    }

    /** Appends one frame to {@code buf} and returns it. */
    static ByteBuf encodeInto(ByteBuf buf, int opcode, byte[] data, int offset, int length) {
        buf.writeByte(0x80 | opcode);
        if (length < 126) {
            buf.writeByte(length);
        } else if (length <= 0xFFFF) {
            buf.writeByte(126);
            buf.writeShort(length);
        } else {
            buf.writeByte(127);
            buf.writeLong(length);
        }
        buf.writeBytes(data, offset, length);
        return buf;
    }

    /** Writes one frame into {@code out} at {@code at}: {@link #sizeOf} bytes, for a payload under 64 KiB. */
    static void frameInto(byte[] out, int at, int opcode, byte[] data, int offset, int length) {
        if (length > 0xFFFF) throw new IllegalArgumentException("frame of " + length + " bytes: use encode");
        out[at] = (byte) (0x80 | opcode);
        if (length < 126) {
            out[at + 1] = (byte) length;
            at += 2;
        } else {
            out[at + 1] = 126;
            out[at + 2] = (byte) (length >>> 8);
            out[at + 3] = (byte) length;
            at += 4;
        }
        System.arraycopy(data, offset, out, at, length);
    }
}

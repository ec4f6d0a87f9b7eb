package io.piston.bench;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import java.nio.charset.StandardCharsets;

/**
 * The client side of the WebSocket wire, shared by the load generators: the server's response
 * head, server-to-client frames read in place from a cumulation buffer, and client frames masked
 * with one fixed key. Stateless; called on the connection's event-loop thread.
 */
final class WsWire {
    private static final byte[] MASK = {0x37, (byte) 0xfa, 0x21, 0x3d};
    /** A response head longer than this is an error. */
    static final int MAX_HEAD = 16384;

    /** Receives the frames {@link #readFrames} finds; returns false to stop reading. */
    interface FrameSink {
        boolean frame(int opcode, ByteBuf buf, int payloadIndex, int length);
    }

    private WsWire() {
    }

    /**
     * The response head (up to and including its blank line) taken from {@code buf}, or null while
     * it is incomplete.
     */
    static String takeHead(ByteBuf buf) {
        for (int i = buf.readerIndex(); i + 3 < buf.writerIndex(); i++) {
            if (buf.getByte(i) == '\r' && buf.getByte(i + 1) == '\n' && buf.getByte(i + 2) == '\r'
                    && buf.getByte(i + 3) == '\n') {
                String head = buf.toString(buf.readerIndex(), i + 4 - buf.readerIndex(), StandardCharsets.US_ASCII);
                buf.readerIndex(i + 4);
                return head;
            }
        }
        return null;
    }

    /**
     * Hands every complete server frame in {@code buf} to {@code sink}, consuming it; leaves a
     * partial frame in place. Server frames are unmasked and, from the servers measured, not
     * fragmented. Stops early when the sink returns false; returns false only when a frame was
     * masked (a protocol error).
     */
    static boolean readFrames(ByteBuf buf, FrameSink sink) {
        while (buf.readableBytes() >= 2) {
            int at = buf.readerIndex();
            int b0 = buf.getUnsignedByte(at);
            int b1 = buf.getUnsignedByte(at + 1);
            if ((b1 & 0x80) != 0) return false;
            long len = b1 & 0x7f;
            int header = 2;
            if (len == 126) {
                if (buf.readableBytes() < 4) return true;
                len = buf.getUnsignedShort(at + 2);
                header = 4;
            } else if (len == 127) {
                if (buf.readableBytes() < 10) return true;
                len = buf.getLong(at + 2);
                header = 10;
            }
            if (buf.readableBytes() < header + len) return true;
            int payload = at + header;
            buf.readerIndex(payload + (int) len);
            if (!sink.frame(b0 & 0x0f, buf, payload, (int) len)) return true;
        }
        return true;
    }

    /** Answers a server's ping whose payload is {@code length} bytes at {@code payloadIndex} of {@code buf}. */
    static void pong(Channel channel, ByteBuf buf, int payloadIndex, int length) {
        byte[] data = new byte[length];
        buf.getBytes(payloadIndex, data);
        channel.writeAndFlush(maskedFrame(channel.alloc().buffer(length + 14), 0xA, data));
    }

    /** A client frame (FIN, masked with the fixed key) written to {@code out}. */
    static ByteBuf maskedFrame(ByteBuf out, int opcode, byte[] payload) {
        out.writeByte(0x80 | opcode);
        int len = payload.length;
        if (len < 126) {
            out.writeByte(0x80 | len);
        } else if (len <= 0xFFFF) {
            out.writeByte(0x80 | 126).writeShort(len);
        } else {
            out.writeByte(0x80 | 127).writeLong(len);
        }
        out.writeBytes(MASK);
        for (int i = 0; i < len; i++) out.writeByte(payload[i] ^ MASK[i & 3]);
        return out;
    }
}

package io.piston.upgrade;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * One published message on its way to this process's subscribers. Its WebSocket frame and its
 * SSE event are each encoded at most once, on the publishing thread, and shared (as retained
 * duplicates) by every direct subscriber; the layer above may cache its own form of the message
 * here too (the Ruby strings handed to every block). Any thread.
 */
public final class PubSubMessage {
    public final String channel;
    public final byte[] data;
    public final boolean binary;
    private ByteBuf frame;
    private ByteBuf event;
    private volatile Object[] converted;

    PubSubMessage(String channel, byte[] data, boolean binary) {
        this.channel = channel;
        this.data = data;
        this.binary = binary;
    }

    /** The encoded form for a protocol; the message keeps the reference (released by {@link #release}). */
    ByteBuf encoded(int protocol) {
        if (protocol == UpgradeRequest.WEBSOCKET) {
            if (frame == null) {
                frame = WebSocketFrames.encode(ByteBufAllocator.DEFAULT, binary ? WebSocketFrames.BINARY : WebSocketFrames.TEXT,
                        data, 0, data.length);
            }
            return frame;
        }
        if (event == null) event = SseEvents.data(ByteBufAllocator.DEFAULT, data, 0, data.length);
        return event;
    }

    /** A form of this message made once by the layer above (e.g. the Ruby channel and message strings). */
    public Object[] converted() {
        return converted;
    }

    public void converted(Object[] value) {
        converted = value;
    }

    void release() {
        if (frame != null) frame.release();
        if (event != null) event.release();
    }
}

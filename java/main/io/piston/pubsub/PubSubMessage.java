package io.piston.pubsub;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.util.Arrays;

/**
 * One published message on its way to this process's subscribers. Each {@link WireFormat} that
 * its direct subscribers use frames it at most once, on the publishing thread, and the frame is
 * shared (as retained duplicates) by all of them; the layer above may cache its own form of the
 * message here too (the Ruby strings handed to every block). Any thread.
 */
public final class PubSubMessage {
    public final String channel;
    public final byte[] data;
    public final boolean binary;
    /** Publishing thread: the formats framed so far and their frames (protocols are few: a scan is cheapest). */
    private WireFormat[] formats;
    private ByteBuf[] framed;
    private volatile Object[] converted;

    PubSubMessage(String channel, byte[] data, boolean binary) {
        this.channel = channel;
        this.data = data;
        this.binary = binary;
    }

    /** Publishing thread: the message framed by {@code format}; the message keeps the reference (released by {@link #release}). */
    ByteBuf encoded(WireFormat format) {
        int n = formats == null ? 0 : formats.length;
        for (int i = 0; i < n; i++) if (formats[i] == format) return framed[i];
        formats = n == 0 ? new WireFormat[1] : Arrays.copyOf(formats, n + 1);
        framed = n == 0 ? new ByteBuf[1] : Arrays.copyOf(framed, n + 1);
        formats[n] = format;
        return framed[n] = format.encode(ByteBufAllocator.DEFAULT, data, binary);
    }

    /** A form of this message made once by the layer above (e.g. the Ruby channel and message strings). */
    public Object[] converted() {
        return converted;
    }

    public void converted(Object[] value) {
        converted = value;
    }

    void release() {
        if (framed != null) for (ByteBuf b : framed) b.release();
    }
}

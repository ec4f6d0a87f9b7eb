package io.piston.pubsub;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;

/**
 * Frames a published message for one protocol (a WebSocket frame, an SSE event). Called at most
 * once per message and format, on the publishing thread; the broker shares the result between all
 * direct subscribers that use the format, and releases it.
 */
public interface WireFormat {
    ByteBuf encode(ByteBufAllocator alloc, byte[] data, boolean binary);
}

package io.piston.pubsub;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;

/**
 * What the broker delivers published messages to directly, with no callback: an upgraded
 * connection (the upgrade package implements this). The broker groups subscribers by IO thread
 * and by wire format, frames each message once per format and runs one fan-out task per IO thread.
 */
public interface Subscriber {
    /** The IO thread {@link #deliver} runs on; the same for the subscriber's whole life. */
    EventLoop eventLoop();

    /** How published messages are framed for this subscriber: one shared instance per protocol. */
    WireFormat wireFormat();

    /**
     * IO thread: writes one published message, framed by {@link #wireFormat} and shared by every
     * subscriber of the fan-out task (write a retained duplicate); {@code now} is the task's
     * System.nanoTime(), read once for all of them.
     */
    void deliver(ByteBuf shared, long now);
}

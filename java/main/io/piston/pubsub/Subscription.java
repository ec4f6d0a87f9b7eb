package io.piston.pubsub;

import io.netty.channel.EventLoop;
import java.util.concurrent.Executor;

/**
 * One subscription to a channel or a glob pattern. A direct one belongs to a {@link Subscriber}
 * and gets the shared framed message written on the subscriber's IO thread, no callback involved;
 * one with a listener (a Ruby block) gets each message through an executor that keeps its owner's
 * callback order (a connection's callbacks, or a queue of its own for a global subscription).
 * Immutable but for {@link #active}; any thread.
 */
public final class Subscription {
    final String channel;
    final boolean pattern;
    final GlobPattern glob;
    final Subscriber subscriber;
    final MessageListener listener;
    private final Executor inOrder;
    final EventLoop loop;
    volatile boolean active = true;

    private Subscription(String channel, boolean pattern, Subscriber subscriber, MessageListener listener,
                         Executor inOrder) {
        this.channel = channel;
        this.pattern = pattern;
        this.glob = pattern ? new GlobPattern(channel) : null;
        this.subscriber = subscriber;
        this.listener = listener;
        this.inOrder = inOrder;
        this.loop = subscriber == null ? null : subscriber.eventLoop();
    }

    /** Messages go straight to {@code subscriber}, framed for it. */
    public static Subscription direct(Subscriber subscriber, String channel, boolean pattern) {
        return new Subscription(channel, pattern, subscriber, null, null);
    }

    /** Messages go to {@code listener}, one at a time through {@code inOrder}, which must run its tasks in order. */
    public static Subscription listening(String channel, boolean pattern, MessageListener listener, Executor inOrder) {
        return new Subscription(channel, pattern, null, listener, inOrder);
    }

    boolean direct() {
        return listener == null;
    }

    /** Names one subscription of an owner: one per channel, and one per pattern. */
    String key() {
        return key(channel, pattern);
    }

    static String key(String channel, boolean pattern) {
        return pattern ? "\0p:" + channel : channel;
    }

    /** Publishing thread: a message for the listener, queued in its owner's callback order. */
    void enqueue(PubSubMessage message) {
        inOrder.execute(() -> {
            if (active) listener.onMessage(message);
        });
    }
}

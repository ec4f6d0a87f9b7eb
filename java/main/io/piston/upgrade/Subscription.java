package io.piston.upgrade;

import io.netty.channel.EventLoop;

/**
 * One subscription to a channel or a glob pattern. Direct ones belong to a connection and get
 * the shared encoded message written on the connection's IO thread, no Ruby involved; with a
 * listener (a Ruby block) the message runs through the owner's callback queue instead. Global
 * subscriptions (Piston.subscribe) have no connection and a queue of their own. Immutable but
 * for {@link #active}; any thread.
 */
public final class Subscription {
    final String channel;
    final boolean pattern;
    final GlobPattern glob;
    final Connection connection;
    final MessageListener listener;
    final CallbackQueue queue;
    final EventLoop loop;
    volatile boolean active = true;

    private Subscription(String channel, boolean pattern, Connection connection, MessageListener listener,
                         CallbackQueue queue) {
        this.channel = channel;
        this.pattern = pattern;
        this.glob = pattern ? new GlobPattern(channel) : null;
        this.connection = connection;
        this.listener = listener;
        this.queue = queue;
        this.loop = listener == null ? connection.channel.eventLoop() : null;
    }

    /** A connection's subscription: direct when {@code listener} is null. */
    public static Subscription of(Connection connection, String channel, boolean pattern, MessageListener listener) {
        return new Subscription(channel, pattern, connection, listener, connection.callbacks);
    }

    /** A subscription of no connection: {@code listener} runs on the fallback pool, one message at a time. */
    public static Subscription global(String channel, boolean pattern, MessageListener listener) {
        Subscription[] self = new Subscription[1];
        CallbackQueue queue = new CallbackQueue(self, FallbackExecutor.pool());
        self[0] = new Subscription(channel, pattern, null, listener, queue);
        return self[0];
    }

    boolean direct() {
        return listener == null;
    }

    String key() {
        return key(channel, pattern);
    }

    static String key(String channel, boolean pattern) {
        return pattern ? "\0p:" + channel : channel;
    }

    /** Publishing thread: a message for a listener, queued in its owner's callback order. */
    void enqueue(PubSubMessage message) {
        queue.add(() -> {
            if (active) listener.onMessage(message);
        });
    }
}

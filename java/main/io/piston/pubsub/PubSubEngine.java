package io.piston.pubsub;

/**
 * Carries publishes between the processes that share channels. The in-process engine
 * ({@link LocalEngine}) hands every publish straight to this process's {@link PubSubBroker}; an
 * engine backed by a message server ({@link RedisEngine}) sends publishes there and calls
 * {@link PubSubBroker#deliverChannel} / {@link PubSubBroker#deliverPattern} for each message it
 * receives. The broker calls {@link #subscribed} and {@link #unsubscribed} in the order in which
 * a channel's first subscriber came and last one left. Called from any thread, Ruby threads
 * included: an engine must not block long and must never call into Ruby.
 */
public interface PubSubEngine {
    /** This process has its first subscriber to {@code channel} (a glob pattern when {@code pattern}). */
    void subscribed(String channel, boolean pattern);

    /** This process's last subscriber to {@code channel} left. */
    void unsubscribed(String channel, boolean pattern);

    /** Publishes one message to every subscriber of {@code channel}, in every process the engine reaches. */
    void publish(String channel, byte[] message, boolean binary);

    /** The broker stopped using this engine: release connections and threads. */
    default void close() {}

    /** A short description for logs and the banner (no secrets). */
    default String describe() {
        return getClass().getSimpleName();
    }
}

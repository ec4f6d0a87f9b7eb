package io.piston.upgrade;

/**
 * Carries publishes between the processes that share channels. The in-process engine
 * ({@link LocalEngine}) hands every publish straight to this process's {@link PubSubBroker}; an
 * engine backed by a message server would send publishes there and call
 * {@link PubSubBroker#deliver} for each message it receives. Called from any thread; must not block long.
 */
public interface PubSubEngine {
    /** This process has its first subscriber to {@code channel} (a glob pattern when {@code pattern}). */
    void subscribed(String channel, boolean pattern);

    /** This process's last subscriber to {@code channel} left. */
    void unsubscribed(String channel, boolean pattern);

    /** Publishes one message to every subscriber of {@code channel}, in every process the engine reaches. */
    void publish(String channel, byte[] message, boolean binary);
}

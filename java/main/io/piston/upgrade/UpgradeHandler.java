package io.piston.upgrade;

/**
 * What a connection calls back: the app's handler behind it (Ruby's rack.upgrade object, or a
 * plain Java one in tests). Every method runs on a worker thread, from the connection's
 * {@link CallbackQueue}: one at a time, in order, {@link #open} first and {@link #close} last.
 */
public interface UpgradeHandler {
    /** The connection is open. False when the handler failed: the connection is then closed. */
    boolean open(UpgradedConnection connection);

    /** One complete WebSocket message (never for SSE). */
    void message(UpgradedConnection connection, byte[] data, boolean binary);

    /** True when {@link #drained} should be called at all. */
    boolean wantsDrained();

    /** The outbound queue emptied after the app was told it was not empty. */
    void drained(UpgradedConnection connection);

    /** The server is stopping; the connection closes right after. */
    void shutdown(UpgradedConnection connection);

    /** The connection closed, for whatever reason. Nothing runs after it. */
    void close(UpgradedConnection connection);
}

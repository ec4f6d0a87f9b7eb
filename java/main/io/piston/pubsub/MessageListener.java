package io.piston.pubsub;

/**
 * Receives the messages of a subscription that has a block (Ruby) instead of direct delivery.
 * Runs on a worker thread, in the callback order of the connection (or global subscription) it
 * belongs to.
 */
public interface MessageListener {
    void onMessage(PubSubMessage message);
}

package io.piston.pubsub;

/** The default engine: channels live in this process only; a publish is delivered at once. Any thread. */
public final class LocalEngine implements PubSubEngine {
    private final PubSubBroker broker;

    public LocalEngine(PubSubBroker broker) {
        this.broker = broker;
    }

    @Override
    public void subscribed(String channel, boolean pattern) {}

    @Override
    public void unsubscribed(String channel, boolean pattern) {}

    @Override
    public void publish(String channel, byte[] message, boolean binary) {
        broker.deliver(channel, message, binary);
    }

    @Override
    public String describe() {
        return "in-process";
    }
}

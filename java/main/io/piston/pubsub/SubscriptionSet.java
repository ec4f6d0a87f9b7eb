package io.piston.pubsub;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * The subscriptions of one owner (an upgraded connection, or the process's global ones): at most
 * one per channel and one per pattern, so subscribing again replaces the old subscription. Adding
 * and removing register with the {@link PubSubBroker}. Any thread; the map is made on first use.
 */
public final class SubscriptionSet {
    private HashMap<String, Subscription> byKey;

    /** Adds {@code s}, replacing the owner's subscription to the same channel (or pattern). */
    public synchronized void add(Subscription s) {
        if (byKey == null) byKey = new HashMap<>(4);
        Subscription old = byKey.put(s.key(), s);
        if (old != null) PubSubBroker.get().remove(old);
        PubSubBroker.get().add(s);
    }

    /** Ends the owner's subscription to {@code channel} (a pattern when {@code pattern}); false when there was none. */
    public synchronized boolean remove(String channel, boolean pattern) {
        Subscription old = byKey == null ? null : byKey.remove(Subscription.key(channel, pattern));
        if (old == null) return false;
        PubSubBroker.get().remove(old);
        return true;
    }

    /** Ends them all (the owner closed). */
    public synchronized void clear() {
        if (byKey == null) return;
        List<Subscription> all = new ArrayList<>(byKey.values());
        byKey = null;
        for (Subscription s : all) PubSubBroker.get().remove(s);
    }
}

package io.piston.pubsub;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;

/**
 * The subscriptions of one owner (an upgraded connection, or the process's global ones): at most
 * one per channel and one per pattern, so subscribing again replaces the old subscription. Adding
 * and removing register with the {@link PubSubBroker}. Any thread. Most owners have a single
 * subscription, kept in a field: a map is made only for the second (an idle connection is small).
 */
public final class SubscriptionSet {
    private Subscription only;
    private HashMap<String, Subscription> byKey;

    /** Adds {@code s}, replacing the owner's subscription to the same channel (or pattern). */
    public synchronized void add(Subscription s) {
        Subscription old;
        if (byKey != null) {
            old = byKey.put(s.key(), s);
        } else if (only == null || only.key().equals(s.key())) {
            old = only;
            only = s;
        } else {
            byKey = new HashMap<>(4);
            byKey.put(only.key(), only);
            only = null;
            old = byKey.put(s.key(), s);
        }
        if (old != null) PubSubBroker.get().remove(old);
        PubSubBroker.get().add(s);
    }

    /** Ends the owner's subscription to {@code channel} (a pattern when {@code pattern}); false when there was none. */
    public synchronized boolean remove(String channel, boolean pattern) {
        String key = Subscription.key(channel, pattern);
        Subscription old = null;
        if (only != null && only.key().equals(key)) {
            old = only;
            only = null;
        } else if (byKey != null) {
            old = byKey.remove(key);
        }
        if (old == null) return false;
        PubSubBroker.get().remove(old);
        return true;
    }

    /** Ends them all (the owner closed). */
    public synchronized void clear() {
        List<Subscription> all = new ArrayList<>();
        if (only != null) all.add(only);
        if (byKey != null) all.addAll(byKey.values());
        only = null;
        byKey = null;
        for (Subscription s : all) PubSubBroker.get().remove(s);
    }
}

package io.piston.pubsub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * One owner's subscriptions as the broker sees them: one per channel and per pattern, replaced by
 * a second subscribe, through the change from one subscription (kept in a field) to several (a map)
 * and back.
 */
class SubscriptionSetTest {
    private static final PubSubBroker BROKER = PubSubBroker.get();

    private static Subscription listening(String channel, boolean pattern) {
        return Subscription.listening(channel, pattern, m -> { }, PubSubTest.IN_ORDER);
    }

    @Test
    void oneSubscriptionPerChannelAndPatternWhateverTheirNumber() {
        SubscriptionSet set = new SubscriptionSet();
        set.add(listening("set.a", false));
        set.add(listening("set.a", false)); // replaces the first
        assertEquals(1, BROKER.subscribers("set.a"));

        set.add(listening("set.b", false));
        set.add(listening("set.a", true)); // a pattern of the same name is another subscription
        set.add(listening("set.b", false));
        assertEquals(1, BROKER.subscribers("set.a"));
        assertEquals(1, BROKER.subscribers("set.b"));
        assertEquals(1, BROKER.patternSubscribers("set.a"));

        assertTrue(set.remove("set.a", false));
        assertFalse(set.remove("set.a", false));
        assertEquals(0, BROKER.subscribers("set.a"));
        assertEquals(1, BROKER.patternSubscribers("set.a"));

        set.clear();
        assertEquals(0, BROKER.subscribers("set.b"));
        assertEquals(0, BROKER.patternSubscribers("set.a"));
        assertFalse(set.remove("set.b", false));
    }

    @Test
    void aSingleSubscriptionIsRemovedAndCleared() {
        SubscriptionSet set = new SubscriptionSet();
        set.add(listening("set.single", false));
        assertFalse(set.remove("set.single", true));
        assertEquals(1, BROKER.subscribers("set.single"));
        assertTrue(set.remove("set.single", false));
        assertEquals(0, BROKER.subscribers("set.single"));

        set.add(listening("set.single", true));
        set.clear();
        assertEquals(0, BROKER.patternSubscribers("set.single"));
        set.add(listening("set.again", false)); // usable after a clear
        assertEquals(1, BROKER.subscribers("set.again"));
        set.clear();
        assertEquals(0, BROKER.subscribers("set.again"));
    }
}

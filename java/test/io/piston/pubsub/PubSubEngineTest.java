package io.piston.pubsub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The broker's side of engines, without a Redis server: which subscribers a message from an
 * engine reaches (once each) and what an engine is told and when.
 */
class PubSubEngineTest {
    private final PubSubBroker broker = PubSubBroker.get();

    /** Records what the broker tells it; publishes go straight back to the broker. */
    static final class RecordingEngine implements PubSubEngine {
        final List<String> calls = Collections.synchronizedList(new ArrayList<>());
        private final PubSubBroker broker;

        RecordingEngine(PubSubBroker broker) {
            this.broker = broker;
        }

        @Override
        public void subscribed(String channel, boolean pattern) {
            calls.add("+" + (pattern ? "p:" : "") + channel);
        }

        @Override
        public void unsubscribed(String channel, boolean pattern) {
            calls.add("-" + (pattern ? "p:" : "") + channel);
        }

        @Override
        public void publish(String channel, byte[] message, boolean binary) {
            broker.deliver(channel, message, binary);
        }

        @Override
        public void close() {
            calls.add("close");
        }
    }

    /** A global subscription that adds "name:message" to {@code got}. */
    private static Subscription recorder(String channel, boolean pattern, String name, List<String> got) {
        return Subscription.listening(channel, pattern, m -> {
            synchronized (got) {
                got.add(name + ":" + new String(m.data, StandardCharsets.UTF_8));
                got.notifyAll();
            }
        }, PubSubTest.IN_ORDER);
    }

    private static List<String> await(List<String> got, int n) throws InterruptedException {
        synchronized (got) {
            long deadline = System.currentTimeMillis() + 5000;
            while (got.size() < n && System.currentTimeMillis() < deadline) got.wait(50);
            got.wait(100); // anything extra would arrive now
            return new ArrayList<>(got);
        }
    }

    @Test
    void messagesFromAnEngineReachEachSubscriberOnce() throws InterruptedException {
        List<String> got = new ArrayList<>();
        Subscription exact = recorder("junit.dc", false, "exact", got);
        Subscription star = recorder("junit.d*", true, "star", got);
        Subscription one = recorder("junit.?c", true, "one", got);
        broker.add(exact);
        broker.add(star);
        broker.add(one);
        try {
            // A message server sends the channel message once, and one message per matching pattern.
            broker.deliverChannel("junit.dc", bytes("m1"), false);
            assertEquals(List.of("exact:m1"), await(got, 1));
            got.clear();
            broker.deliverPattern("junit.d*", "junit.dc", bytes("m2"), false);
            assertEquals(List.of("star:m2"), await(got, 1));
            got.clear();
            broker.deliverPattern("junit.nobody*", "junit.dc", bytes("m3"), false);
            broker.deliverChannel("junit.nobody", bytes("m3"), false);
            assertEquals(List.of(), await(got, 0));
            // In process: one deliver reaches the channel and every matching pattern.
            broker.deliver("junit.dc", bytes("m4"), false);
            List<String> all = await(got, 3);
            Collections.sort(all);
            assertEquals(List.of("exact:m4", "one:m4", "star:m4"), all);
        } finally {
            broker.remove(exact);
            broker.remove(star);
            broker.remove(one);
        }
        assertEquals(0, broker.subscribers("junit.dc"));
        assertEquals(0, broker.patternSubscribers("junit.d*"));
    }

    @Test
    void anEngineHearsOfFirstAndLastSubscribersAndInheritsThoseThere() {
        Subscription before = recorder("junit.engine", false, "a", new ArrayList<>());
        broker.add(before);
        RecordingEngine engine = new RecordingEngine(broker);
        PubSubEngine old = broker.engine(engine);
        try {
            assertTrue(engine.calls.contains("+junit.engine"), engine.calls.toString());
            engine.calls.clear();
            Subscription second = recorder("junit.engine", false, "b", new ArrayList<>());
            broker.add(second);
            Subscription pattern = recorder("junit.e*", true, "c", new ArrayList<>());
            Subscription pattern2 = recorder("junit.e*", true, "d", new ArrayList<>());
            broker.add(pattern);
            broker.add(pattern2);
            broker.remove(before);
            broker.remove(pattern);
            assertEquals(List.of("+p:junit.e*"), engine.calls);
            broker.remove(second);
            broker.remove(pattern2);
            broker.remove(pattern2); // twice: nothing more
            assertEquals(List.of("+p:junit.e*", "-junit.engine", "-p:junit.e*"), engine.calls);
        } finally {
            broker.engine(old);
        }
        assertEquals("close", engine.calls.get(engine.calls.size() - 1));
        assertSame(old, broker.engine());
        broker.resetEngine(engine); // no longer the engine: nothing happens
        assertSame(old, broker.engine());
    }




    @Test
    void globPatternEdgeCases() {
        assertTrue(new GlobPattern("a*b*c").matches("aXXbYYc"));
        assertFalse(new GlobPattern("a*b*c").matches("aXXbYY"));
        assertTrue(new GlobPattern("a[").matches("a["));
        assertTrue(new GlobPattern("[\\]]").matches("]"));
        assertTrue(new GlobPattern("**").matches("anything"));
        assertFalse(new GlobPattern("?").matches(""));
        assertTrue(new GlobPattern("chat.[0-9]").matches("chat.7"));
        assertFalse(new GlobPattern("chat.[0-9]").matches("chat.x"));
    }


    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}

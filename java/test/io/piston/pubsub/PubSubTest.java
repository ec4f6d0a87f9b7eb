package io.piston.pubsub;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

/** Glob patterns and listening subscriptions of the in-process broker. */
class PubSubTest {
    /** Runs listeners one message at a time, in order, as a connection's callbacks do. */
    static final Executor IN_ORDER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "junit-listener");
        t.setDaemon(true);
        return t;
    });

    @Test
    void globPatternsMatchAsRedisDoes() {
        assertTrue(new GlobPattern("news.*").matches("news.sport"));
        assertTrue(new GlobPattern("h?llo").matches("hello"));
        assertFalse(new GlobPattern("h?llo").matches("hllo"));
        assertTrue(new GlobPattern("h[ae]llo").matches("hallo"));
        assertFalse(new GlobPattern("h[^e]llo").matches("hello"));
        assertTrue(new GlobPattern("h[a-c]llo").matches("hbllo"));
        assertTrue(new GlobPattern("a\\*b").matches("a*b"));
        assertFalse(new GlobPattern("a\\*b").matches("axb"));
        assertTrue(new GlobPattern("*").matches(""));
        assertTrue(new GlobPattern("user.*.updates").matches("user.42.updates"));
        assertFalse(new GlobPattern("user.*.updates").matches("user.updates"));
    }


    @Test
    void globalSubscriptionsGetPublishesInOrderAndStopWhenRemoved() throws InterruptedException {
        List<String> got = new ArrayList<>();
        Subscription s = Subscription.listening("junit.channel", false, m -> {
            synchronized (got) {
                got.add(m.channel + ":" + new String(m.data, StandardCharsets.UTF_8));
                got.notifyAll();
            }
        }, IN_ORDER);
        PubSubBroker broker = PubSubBroker.get();
        broker.add(s);
        assertEquals(1, broker.subscribers("junit.channel"));
        for (int i = 0; i < 5; i++) broker.publish("junit.channel", ("m" + i).getBytes(StandardCharsets.UTF_8), false);
        synchronized (got) {
            long deadline = System.currentTimeMillis() + 5000;
            while (got.size() < 5 && System.currentTimeMillis() < deadline) got.wait(100);
        }
        assertEquals(List.of("junit.channel:m0", "junit.channel:m1", "junit.channel:m2", "junit.channel:m3",
                "junit.channel:m4"), got);
        broker.remove(s);
        assertEquals(0, broker.subscribers("junit.channel"));
    }
}

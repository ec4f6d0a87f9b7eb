package io.piston.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Glob patterns, SSE framing and global subscriptions of the in-process broker. */
class PubSubTest {
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
    void sseEventsPutEachLineInADataField() {
        byte[] data = "a\nb\r\nc".getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = SseEvents.event(ByteBufAllocator.DEFAULT, "tick", "7", null, data, 0, data.length);
        assertEquals("event: tick\nid: 7\ndata: a\ndata: b\ndata: c\n\n", buf.toString(StandardCharsets.UTF_8));
        buf.release();
    }

    @Test
    void globalSubscriptionsGetPublishesInOrderAndStopWhenRemoved() throws InterruptedException {
        List<String> got = new ArrayList<>();
        Subscription s = Subscription.global("junit.channel", false, m -> {
            synchronized (got) {
                got.add(m.channel + ":" + new String(m.data, StandardCharsets.UTF_8));
                got.notifyAll();
            }
        });
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

package io.piston.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import io.piston.pubsub.PubSubBroker;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

/** Published messages reach direct subscribers as views of one buffer per wire format. */
class PublishedFanOutTest {
    private final PubSubBroker broker = PubSubBroker.get();

    @Test
    void directSubscribersShareOneEncodedBufferPerProtocol() {
        Set<UpgradedConnection> live = ConcurrentHashMap.newKeySet();
        UpgradeConfig config = UpgradeConfig.defaults();
        List<EmbeddedChannel> channels = new ArrayList<>();
        List<UpgradedConnection> connections = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            EmbeddedChannel ch = new EmbeddedChannel();
            boolean sse = i >= 2;
            UpgradedConnection c = sse
                    ? new SseConnection(ch, Runnable::run, config, new WebSocketConnectionTest.Recorder(), live)
                    : new WebSocketConnection(ch, Runnable::run, config, new WebSocketConnectionTest.Recorder(), live);
            FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
            request.headers().set("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
            HttpResponse head = c.handshake(request, DefaultHttpHeadersFactory.headersFactory().newHeaders());
            ReferenceCountUtil.release(head);
            request.release();
            c.install(ch.pipeline());
            assertTrue(c.subscribe("junit.shared", false, null));
            channels.add(ch);
            connections.add(c);
        }
        broker.publish("junit.shared", bytes("hi"), false);
        List<ByteBuf> out = new ArrayList<>();
        for (EmbeddedChannel ch : channels) {
            ch.runPendingTasks();
            ch.runPendingTasks();
            ByteBuf b = ch.readOutbound();
            out.add(b);
        }
        try {
            assertEquals("81026869", ByteBufUtil.hexDump(out.get(0)));
            assertEquals("data: hi\n\n", out.get(2).toString(StandardCharsets.UTF_8));
            // WebSocket subscribers got views of one frame, SSE subscribers of one event.
            assertSame(shared(out.get(0)), shared(out.get(1)));
            assertSame(shared(out.get(2)), shared(out.get(3)));
            assertFalse(shared(out.get(0)) == shared(out.get(2)));
        } finally {
            ByteBuf frame = shared(out.get(0));
            ByteBuf event = shared(out.get(2));
            out.forEach(ByteBuf::release);
            // the broker let go of its references: the last subscriber's release frees the buffer
            assertEquals(0, frame.refCnt());
            assertEquals(0, event.refCnt());
            for (EmbeddedChannel ch : channels) {
                ch.close();
                ch.runPendingTasks();
                ch.finishAndReleaseAll();
            }
        }
        assertEquals(0, broker.subscribers("junit.shared"));
    }

    /** The buffer a duplicate is a view of, under the wrappers of leak detection. */
    private static ByteBuf shared(ByteBuf b) {
        while (b.unwrap() != null) b = b.unwrap();
        return b;
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }
}

package io.piston.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * The relay between a hijacked connection and the app's socket, on two EmbeddedChannels
 * ("client" and "app"). EmbeddedChannel is not a DuplexChannel, so an end of input there
 * closes the other side instead of half-closing it; the half-close itself is covered over
 * real sockets in spec/http_hijack_socket_spec.rb.
 */
class SocketBridgeTest {
    private static ByteBuf bytes(String s) {
        return Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII);
    }

    private static String take(EmbeddedChannel ch) {
        StringBuilder out = new StringBuilder();
        for (ByteBuf b; (b = ch.readOutbound()) != null; ) {
            out.append(b.toString(StandardCharsets.US_ASCII));
            b.release();
        }
        return out.toString();
    }

    private static EmbeddedChannel[] pair() {
        EmbeddedChannel client = new EmbeddedChannel();
        EmbeddedChannel app = new EmbeddedChannel();
        SocketBridge.link(client, app);
        return new EmbeddedChannel[] {client, app};
    }

    @Test
    void relaysBothWaysInOrderAndFlushesAtReadComplete() {
        EmbeddedChannel[] p = pair();
        EmbeddedChannel client = p[0], app = p[1];
        client.pipeline().fireChannelRead(bytes("GET "));
        client.pipeline().fireChannelRead(bytes("raw"));
        assertNull(app.readOutbound(), "nothing is flushed before the read completes");
        client.pipeline().fireChannelReadComplete();
        assertEquals("GET raw", take(app));

        app.writeInbound(bytes("answer"));
        assertEquals("answer", take(client));
        client.finishAndReleaseAll();
        app.finishAndReleaseAll();
    }

    @Test
    void stopsReadingWhileThePeerCannotTakeMore() {
        EmbeddedChannel[] p = pair();
        EmbeddedChannel client = p[0], app = p[1];
        app.config().setWriteBufferWaterMark(new WriteBufferWaterMark(8, 16));
        client.pipeline().fireChannelRead(bytes("0123456789abcdefXYZ"));
        assertFalse(app.isWritable());
        assertFalse(client.config().isAutoRead(), "client reads pause while the app side is full");

        client.pipeline().fireChannelReadComplete(); // flushes: the app side drains
        assertTrue(app.isWritable());
        assertTrue(client.config().isAutoRead(), "client reads resume");
        assertEquals("0123456789abcdefXYZ", take(app));
        client.finishAndReleaseAll();
        app.finishAndReleaseAll();
    }

    @Test
    void closingOneSideClosesTheOtherAfterWhatWasInFlight() {
        EmbeddedChannel[] p = pair();
        EmbeddedChannel client = p[0], app = p[1];
        client.pipeline().fireChannelRead(bytes("last words"));
        client.close();
        assertFalse(app.isOpen());
        assertEquals("last words", take(app));
        app.finishAndReleaseAll();
    }

    @Test
    void endOfInputReachesThePeer() {
        EmbeddedChannel[] p = pair();
        EmbeddedChannel client = p[0], app = p[1];
        app.pipeline().fireChannelRead(bytes("bye"));
        app.pipeline().fireUserEventTriggered(ChannelInputShutdownEvent.INSTANCE);
        assertEquals("bye", take(client));
        assertFalse(client.isOpen(), "a peer that cannot half-close is closed");
        assertFalse(app.isOpen());
    }

    @Test
    void releasesWhatArrivesWhenThePeerIsGone() {
        EmbeddedChannel gone = new EmbeddedChannel();
        gone.close();
        EmbeddedChannel ch = new EmbeddedChannel(new SocketBridge.Relay(gone));
        ByteBuf late = bytes("late");
        ch.pipeline().fireChannelRead(late);
        assertEquals(0, late.refCnt());
        assertNull(ch.readInbound());
        ch.finishAndReleaseAll();
    }
}

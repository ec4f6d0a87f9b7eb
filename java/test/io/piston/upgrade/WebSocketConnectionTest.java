package io.piston.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.WriteBufferWaterMark;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.ReferenceCountUtil;
import io.piston.log.Log;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.zip.Deflater;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Feeds client frames (masked, or deliberately broken) into a WebSocket connection on an
 * EmbeddedChannel, with a recording handler whose callbacks run on the test thread, and reads
 * the server's frames back.
 */
class WebSocketConnectionTest {
    /** Records every callback as a line. */
    static final class Recorder implements UpgradeHandler {
        final List<String> calls = new ArrayList<>();
        boolean echo = true;

        @Override
        public boolean open(UpgradedConnection c) {
            calls.add("open");
            return true;
        }

        @Override
        public void message(UpgradedConnection c, byte[] data, boolean binary) {
            String text = new String(data, StandardCharsets.UTF_8);
            calls.add((binary ? "binary " : "text ") + text);
            if (echo) c.sendMessage(data, 0, data.length, binary, false);
        }

        @Override
        public boolean wantsDrained() {
            return false;
        }

        @Override
        public void drained(UpgradedConnection c) {
            calls.add("drained");
        }

        @Override
        public void shutdown(UpgradedConnection c) {
            calls.add("shutdown");
        }

        @Override
        public void close(UpgradedConnection c) {
            calls.add("close");
        }
    }

    private final Recorder recorder = new Recorder();
    private final Set<UpgradedConnection> live = ConcurrentHashMap.newKeySet();
    private EmbeddedChannel channel;
    private WebSocketConnection connection;

    private void open(UpgradeConfig config) {
        open(config, null);
    }

    /** Opens a connection; {@code extensions} is the client's Sec-WebSocket-Extensions offer, or null. */
    private void open(UpgradeConfig config, String extensions) {
        channel = new EmbeddedChannel();
        connection = new WebSocketConnection(channel, Runnable::run, config, recorder, live);
        FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        request.headers().set("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
        if (extensions != null) request.headers().set("sec-websocket-extensions", extensions);
        HttpResponse head = connection.handshake(request, DefaultHttpHeadersFactory.headersFactory().newHeaders());
        assertEquals(101, head.status().code());
        assertEquals("s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", head.headers().get("sec-websocket-accept"));
        if (extensions != null) assertEquals("permessage-deflate", head.headers().get("sec-websocket-extensions"));
        ReferenceCountUtil.release(head);
        request.release();
        connection.install(channel.pipeline());
    }

    private void open() {
        open(UpgradeConfig.builder().maxMessage(1024).build());
    }

    @AfterEach
    void finish() {
        if (channel != null) {
            channel.close();
            channel.runPendingTasks();
            drain();
            assertFalse(channel.finish());
        }
    }

    /** A client frame: FIN (unless {@code fin} is false), masked unless {@code mask} is false. */
    static byte[] frame(int opcode, byte[] payload, boolean fin, boolean mask, int rsv) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write((fin ? 0x80 : 0) | (rsv << 4) | opcode);
        int n = payload.length;
        int m = mask ? 0x80 : 0;
        if (n < 126) {
            out.write(m | n);
        } else {
            out.write(m | 126);
            out.write(n >> 8);
            out.write(n & 0xff);
        }
        byte[] key = {1, 2, 3, 4};
        if (mask) out.write(key, 0, 4);
        for (int i = 0; i < n; i++) out.write(mask ? payload[i] ^ key[i % 4] : payload[i]);
        return out.toByteArray();
    }

    static byte[] text(String s) {
        return frame(0x1, s.getBytes(StandardCharsets.UTF_8), true, true, 0);
    }

    private void feed(byte[] bytes) {
        channel.writeInbound(Unpooled.wrappedBuffer(bytes));
        channel.runPendingTasks();
    }

    /** Every byte the server wrote so far. */
    private byte[] drain() {
        channel.runPendingTasks();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Object msg;
        while ((msg = channel.readOutbound()) != null) {
            if (msg instanceof ByteBuf buf) {
                byte[] b = new byte[buf.readableBytes()];
                buf.readBytes(b);
                out.write(b, 0, b.length);
            }
            ReferenceCountUtil.release(msg);
        }
        return out.toByteArray();
    }

    private static int closeCode(byte[] frameBytes) {
        assertEquals(0x88, frameBytes[0] & 0xff, "a Close frame");
        return ((frameBytes[2] & 0xff) << 8) | (frameBytes[3] & 0xff);
    }

    @Test
    void deliversATextMessageAndWritesTheReply() {
        open();
        feed(text("hello"));
        assertEquals(List.of("open", "text hello"), recorder.calls);
        byte[] out = drain();
        assertEquals(0x81, out[0] & 0xff);
        assertEquals(5, out[1]);
        assertEquals("hello", new String(out, 2, 5, StandardCharsets.UTF_8));
    }

    @Test
    void assemblesAFragmentedMessageFedOneByteAtATime() {
        open();
        recorder.echo = false;
        byte[] first = frame(0x1, "hel".getBytes(StandardCharsets.UTF_8), false, true, 0);
        byte[] last = frame(0x0, "lo".getBytes(StandardCharsets.UTF_8), true, true, 0);
        for (byte b : first) feed(new byte[] {b});
        for (byte b : last) feed(new byte[] {b});
        assertEquals(List.of("open", "text hello"), recorder.calls);
    }

    @Test
    void answersPingWithPong() {
        open();
        feed(frame(0x9, "abc".getBytes(StandardCharsets.UTF_8), true, true, 0));
        byte[] out = drain();
        assertEquals(0x8A, out[0] & 0xff);
        assertEquals("abc", new String(out, 2, 3, StandardCharsets.UTF_8));
    }

    @Test
    void echoesThePeersCloseAndCloses() {
        open();
        feed(frame(0x8, new byte[] {0x0f, (byte) 0xa1}, true, true, 0)); // 4001
        assertEquals(4001, closeCode(drain()));
        assertFalse(channel.isActive());
        assertEquals(List.of("open", "close"), recorder.calls);
        assertTrue(live.isEmpty());
    }

    @Test
    void serverCloseWaitsForThePeersClose() {
        open();
        connection.close();
        assertFalse(connection.isOpen());
        assertEquals(1000, closeCode(drain()));
        assertTrue(channel.isActive());
        assertFalse(connection.sendMessage(new byte[] {1}, 0, 1, false, false));
        feed(frame(0x8, new byte[] {0x03, (byte) 0xe8}, true, true, 0));
        assertFalse(channel.isActive());
        assertEquals(List.of("open", "close"), recorder.calls);
        assertEquals(-1, connection.pending());
    }

    @Test
    void unmaskedClientFrameIsAProtocolError() {
        open();
        feed(frame(0x1, "hi".getBytes(StandardCharsets.UTF_8), true, false, 0));
        assertEquals(1002, closeCode(drain()));
        assertFalse(channel.isActive());
        assertEquals(List.of("open", "close"), recorder.calls);
    }

    @Test
    void reservedBitsAreAProtocolError() {
        open();
        feed(frame(0x1, "hi".getBytes(StandardCharsets.UTF_8), true, true, 2));
        assertEquals(1002, closeCode(drain()));
    }

    @Test
    void invalidUtf8Closes1007() {
        open();
        feed(frame(0x1, new byte[] {(byte) 0xc3, 0x28}, true, true, 0));
        assertEquals(1007, closeCode(drain()));
        assertEquals(List.of("open", "close"), recorder.calls);
    }

    @Test
    void oversizedMessageAcrossFragmentsCloses1009() {
        open();
        feed(frame(0x2, new byte[800], false, true, 0));
        feed(frame(0x0, new byte[800], true, true, 0));
        assertEquals(1009, closeCode(drain()));
        assertEquals(List.of("open", "close"), recorder.calls);
    }

    @Test
    void aSharedPublishBufferIsWrittenAsIs() {
        open();
        ByteBuf shared = WebSocketFrames.encode(channel.alloc(), WebSocketFrames.TEXT,
                "news".getBytes(StandardCharsets.UTF_8), 0, 4);
        assertTrue(connection.send(shared.retainedDuplicate()));
        shared.release();
        byte[] out = drain();
        assertEquals(0x81, out[0] & 0xff);
        assertEquals("news", new String(out, 2, 4, StandardCharsets.UTF_8));
        assertEquals(0, connection.pending());
    }

    @Test
    void noMessageAfterCloseAndOnCloseOnce() {
        open();
        channel.close();
        channel.runPendingTasks();
        assertEquals(List.of("open", "close"), recorder.calls);
        assertFalse(connection.sendMessage(new byte[] {1}, 0, 1, false, false));
    }

    // ---- a peer that makes the server write without reading ------------------------------------

    /** Logs written while {@code body} runs, one entry per line. */
    private static List<String> logLines(Runnable body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        Log.setStream(new PrintStream(bytes, true, StandardCharsets.UTF_8));
        try {
            body.run();
        } finally {
            Log.setStream(System.err);
        }
        String text = bytes.toString(StandardCharsets.UTF_8);
        return text.isEmpty() ? List.of() : List.of(text.split("\n"));
    }

    /** {@code count} masked pings of {@code size} bytes, back to back, as one read. */
    private static byte[] pings(int count, int size) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        byte[] one = frame(0x9, new byte[size], true, true, 0);
        for (int i = 0; i < count; i++) out.write(one, 0, one.length);
        return out.toByteArray();
    }

    /** Counts the frames in {@code bytes} (server frames: unmasked, payloads under 126 bytes). */
    private static int frames(byte[] bytes, int opcode) {
        int n = 0;
        for (int at = 0; at + 1 < bytes.length; at += 2 + (bytes[at + 1] & 0x7f)) {
            if ((bytes[at] & 0x0f) == opcode) n++;
        }
        return n;
    }

    @Test
    void pongsCountAgainstTheOutboundLimitAndAFloodIsClosedAsSlow() {
        open(UpgradeConfig.builder().maxMessage(1024).maxOutboundBytes(4096).build());
        // One read of 100 pings: their pongs are queued until the read completes, 12.7 KB and more
        List<String> log = logLines(() -> feed(pings(100, 125)));
        assertFalse(channel.isActive(), "closed as a slow client");
        int pongs = frames(drain(), 0xA);
        assertTrue(pongs < 4096 / 127, "pongs past the limit were not queued: " + pongs);
        assertEquals(1, log.size(), String.join("\n", log));
        assertTrue(log.get(0).contains("WARN") && log.get(0).contains("slow client")
                && log.get(0).contains(String.valueOf(channel.remoteAddress())), log.get(0));
        assertEquals(List.of("open", "close"), recorder.calls);
    }

    @Test
    void readingPausesWhileThePeerDoesNotReadAndResumesWhenItDoes() {
        channel = null;
        EmbeddedChannel ch = new EmbeddedChannel();
        ch.config().setWriteBufferWaterMark(new WriteBufferWaterMark(1024, 2048));
        // holds the server's writes in the outbound buffer, as a socket whose peer does not read
        boolean[] valve = {false};
        ch.pipeline().addFirst(new ChannelOutboundHandlerAdapter() {
            @Override
            public void flush(ChannelHandlerContext ctx) {
                if (valve[0]) ctx.flush();
            }
        });
        channel = ch;
        connection = new WebSocketConnection(channel, Runnable::run, UpgradeConfig.defaults(), recorder, live);
        FullHttpRequest request = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/");
        request.headers().set("sec-websocket-key", "dGhlIHNhbXBsZSBub25jZQ==");
        ReferenceCountUtil.release(connection.handshake(request, DefaultHttpHeadersFactory.headersFactory().newHeaders()));
        request.release();
        connection.install(channel.pipeline());

        feed(pings(30, 125));
        assertFalse(channel.isWritable());
        assertFalse(channel.config().isAutoRead(), "no reading while the peer does not read");
        assertTrue(channel.isActive(), "still under the outbound limit");
        valve[0] = true;
        channel.flush();
        assertTrue(channel.isWritable());
        assertTrue(channel.config().isAutoRead(), "reading again once the peer reads");
        assertEquals(30, frames(drain(), 0xA));
    }

    // ---- close frames (RFC 6455 5.5.1, 7.4) ----------------------------------------------------

    private byte[] closeWith(int code, byte[] reason) {
        byte[] body = new byte[2 + reason.length];
        body[0] = (byte) (code >> 8);
        body[1] = (byte) code;
        System.arraycopy(reason, 0, body, 2, reason.length);
        return frame(0x8, body, true, true, 0);
    }

    /** Opens a fresh connection, feeds it {@code bytes}, and returns what the server answered. */
    private byte[] answerTo(byte[] bytes) {
        if (channel != null) finish();
        recorder.calls.clear();
        open();
        feed(bytes);
        return drain();
    }

    @Test
    void closeCodesThatMayNotBeSentFailTheConnectionWith1002() {
        for (int code : new int[] {0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 32768, 65535}) {
            byte[] out = answerTo(closeWith(code, new byte[0]));
            assertTrue(out.length >= 4, "a Close frame for " + code);
            assertEquals(1002, closeCode(out), "close code " + code);
            assertFalse(channel.isActive(), "closed after " + code);
            assertEquals(List.of("open", "close"), recorder.calls);
        }
    }

    @Test
    void closeCodesThatMayBeSentAreEchoed() {
        for (int code : new int[] {1000, 1001, 1002, 1003, 1007, 1011, 1014, 3000, 4000, 4999}) {
            assertEquals(code, closeCode(answerTo(closeWith(code, "bye".getBytes(StandardCharsets.UTF_8)))),
                    "close code " + code);
            assertFalse(channel.isActive());
        }
    }

    @Test
    void aOneByteCloseBodyFailsWith1002() {
        byte[] out = answerTo(frame(0x8, new byte[] {0x03}, true, true, 0));
        assertEquals(1002, closeCode(out));
        assertFalse(channel.isActive());
    }

    @Test
    void aCloseReasonThatIsNotUtf8FailsWith1007() {
        byte[] out = answerTo(closeWith(1000, new byte[] {'o', 'k', (byte) 0xc3, 0x28}));
        assertEquals(1007, closeCode(out));
        assertFalse(channel.isActive());
        out = answerTo(closeWith(1000, new byte[] {(byte) 0xed, (byte) 0xa0, (byte) 0x80})); // a UTF-16 surrogate
        assertEquals(1007, closeCode(out));
    }

    // ---- permessage-deflate (RFC 7692) ---------------------------------------------------------

    @Test
    void rsv1OnAControlFrameFailsWith1002EvenWithDeflate() {
        for (int opcode : new int[] {0x9, 0xA, 0x8}) {
            if (channel != null) finish();
            recorder.calls.clear();
            open(UpgradeConfig.builder().maxMessage(1024).build(), "permessage-deflate");
            byte[] payload = opcode == 0x8 ? new byte[] {0x03, (byte) 0xe8} : "abc".getBytes(StandardCharsets.UTF_8);
            feed(frame(opcode, payload, true, true, 4));
            byte[] out = drain();
            assertEquals(1002, closeCode(out), "opcode " + opcode);
            assertFalse(channel.isActive());
        }
    }

    /** A message compressed as a permessage-deflate client does: raw deflate, sync flush, tail removed. */
    private static byte[] deflated(byte[] data) {
        Deflater deflater = new Deflater(Deflater.DEFAULT_COMPRESSION, true);
        deflater.setInput(data);
        byte[] buf = new byte[data.length + 1024];
        int n = deflater.deflate(buf, 0, buf.length, Deflater.SYNC_FLUSH);
        deflater.end();
        assertEquals(0, buf[n - 4]);
        assertEquals(-1, buf[n - 1]);
        return Arrays.copyOf(buf, n - 4);
    }

    private void sendDeflated(byte[] data) {
        feed(frame(0x2, deflated(data), true, true, 4));
    }

    @Test
    void theSizeLimitAppliesToTheInflatedMessage() {
        Random random = new Random(7);
        for (int size : new int[] {1023, 1024}) {
            for (boolean compressible : new boolean[] {true, false}) {
                if (channel != null) finish();
                recorder.calls.clear();
                recorder.echo = false;
                open(UpgradeConfig.builder().maxMessage(1024).build(), "permessage-deflate");
                byte[] data = new byte[size];
                if (compressible) Arrays.fill(data, (byte) 'a');
                else random.nextBytes(data);
                sendDeflated(data);
                assertTrue(channel.isActive(), size + " bytes, compressible " + compressible);
                assertEquals(2, recorder.calls.size(), size + " bytes, compressible " + compressible + ": " + recorder.calls);
                assertEquals("binary " + new String(data, StandardCharsets.UTF_8), recorder.calls.get(1));
            }
        }
        for (int size : new int[] {1025, 4096}) {
            for (boolean compressible : new boolean[] {true, false}) {
                finish();
                recorder.calls.clear();
                open(UpgradeConfig.builder().maxMessage(1024).build(), "permessage-deflate");
                byte[] data = new byte[size];
                if (compressible) Arrays.fill(data, (byte) 'a');
                else random.nextBytes(data);
                sendDeflated(data);
                assertEquals(1009, closeCode(drain()), size + " bytes, compressible " + compressible);
                assertEquals(List.of("open", "close"), recorder.calls);
            }
        }
    }
}

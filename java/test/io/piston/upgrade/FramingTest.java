package io.piston.upgrade;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.UnpooledByteBufAllocator;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The array framings of small messages ({@link SseEvents#dataInto}, {@link WebSocketFrames#frameInto})
 * give the same bytes as the buffer framings, in exactly the size they announce.
 */
class FramingTest {
    private static final UnpooledByteBufAllocator ALLOC = new UnpooledByteBufAllocator(false);

    private static byte[] bytesOf(ByteBuf buf) {
        try {
            return ByteBufUtil.getBytes(buf);
        } finally {
            buf.release();
        }
    }

    private static byte[] sse(String data) {
        byte[] padded = ("<<" + data + ">>").getBytes(StandardCharsets.UTF_8);
        int size = SseEvents.dataSize(padded, 2, padded.length - 4);
        byte[] out = new byte[size + 6];
        Arrays.fill(out, (byte) '#');
        SseEvents.dataInto(out, 3, padded, 2, padded.length - 4, size);
        assertEquals("###", new String(out, 0, 3, StandardCharsets.US_ASCII), "nothing written before");
        assertEquals("###", new String(out, size + 3, 3, StandardCharsets.US_ASCII), "nothing written after");
        return Arrays.copyOfRange(out, 3, size + 3);
    }

    @Test
    void sseDataFrameSplitsLinesLikeTheBufferFraming() {
        String[] cases = {"", "hello", "exactly sixteen!", "a line of more than eight bytes\nand another", "a\nb", "a\r\nb", "a\rb", "a\n", "\n", "\r\n\r\n", "x\r", "one\ntwo\r\nthree\rfour",
            "\n\n", "héllo wörld"};
        for (String c : cases) {
            byte[] data = c.getBytes(StandardCharsets.UTF_8);
            byte[] expected = bytesOf(SseEvents.data(ALLOC, data, 0, data.length));
            assertArrayEquals(expected, sse(c), () -> "data " + c.replace("\r", "\\r").replace("\n", "\\n"));
        }
    }

    @Test
    void sseDataFrameSpelledOut() {
        assertEquals("data: a\ndata: b\n\n", new String(sse("a\r\nb"), StandardCharsets.US_ASCII));
        assertEquals("data: hello\n\n", new String(sse("hello"), StandardCharsets.US_ASCII));
        assertEquals("data: \ndata: \n\n", new String(sse("\n"), StandardCharsets.US_ASCII));
    }

    @Test
    void firstLineBreakFindsEveryPositionAndOnlyCrOrLf() {
        for (int length = 0; length <= 40; length++) {
            byte[] plain = new byte[length + 5];
            for (int i = 0; i < plain.length; i++) plain[i] = (byte) (0x20 + (i * 37) % 224); // never CR or LF
            plain[0] = '\n';
            plain[plain.length - 1] = '\r';
            assertEquals(-1, SseEvents.firstLineBreak(plain, 2, 2 + length), "length " + length);
            for (int at = 0; at < length; at++) {
                for (byte br : new byte[] {'\n', '\r'}) {
                    byte[] data = plain.clone();
                    data[2 + at] = br;
                    if (at + 3 < length) data[2 + at + 3] = '\n'; // a later break does not hide the first
                    assertEquals(2 + at, SseEvents.firstLineBreak(data, 2, 2 + length), "length " + length + " at " + at);
                }
            }
        }
    }

    @Test
    void webSocketFrameMatchesTheBufferFramingAtEveryLengthBoundary() {
        for (int length : new int[] {0, 1, 125, 126, 127, 8192, 65535}) {
            byte[] payload = new byte[length + 3];
            for (int i = 0; i < payload.length; i++) payload[i] = (byte) (i * 31);
            for (int opcode : new int[] {WebSocketFrames.TEXT, WebSocketFrames.BINARY}) {
                byte[] expected = bytesOf(WebSocketFrames.encode(ALLOC, opcode, payload, 3, length));
                byte[] out = new byte[WebSocketFrames.sizeOf(length) + 2];
                WebSocketFrames.frameInto(out, 1, opcode, payload, 3, length);
                assertArrayEquals(expected, Arrays.copyOfRange(out, 1, out.length - 1), "length " + length);
                assertEquals(0, out[0]);
                assertEquals(0, out[out.length - 1]);
            }
        }
    }

    @Test
    void sseEventsPutEachLineInADataField() {
        byte[] data = "a\nb\r\nc".getBytes(StandardCharsets.UTF_8);
        ByteBuf buf = SseEvents.event(ByteBufAllocator.DEFAULT, "tick", "7", null, data, 0, data.length);
        assertEquals("event: tick\nid: 7\ndata: a\ndata: b\ndata: c\n\n", buf.toString(StandardCharsets.UTF_8));
        buf.release();
    }
}

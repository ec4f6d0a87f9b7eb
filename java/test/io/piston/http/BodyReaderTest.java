package io.piston.http;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpRequest;
import io.netty.handler.codec.http.DefaultLastHttpContent;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

/** Collecting request bodies: in memory, spooled to a file, over the limit, cut short, one after another. */
class BodyReaderTest {
    private final BodyReader reader = new BodyReader(HttpConfig.builder().maxBody(1000).bodyMemory(16).build());
    private final HttpRequest post = new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.POST, "/");

    private static HttpContent piece(String s) {
        return new DefaultHttpContent(Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII));
    }

    private static LastHttpContent last(String s) {
        return new DefaultLastHttpContent(Unpooled.copiedBuffer(s, StandardCharsets.US_ASCII));
    }

    /** Adds a piece and releases it, as the handler does after each read. */
    private BodyReader.Step add(HttpContent content) {
        try {
            return reader.add(content);
        } finally {
            content.release();
        }
    }

    @Test
    void aSmallBodyStaysInMemory() {
        reader.start(post, 10);
        assertTrue(reader.reading());
        assertEquals(post, reader.request());
        assertEquals(BodyReader.Step.MORE, add(piece("hello")));
        assertEquals(BodyReader.Step.DONE, add(last("world")));
        RequestBody body = reader.take();
        assertFalse(reader.reading());
        assertTrue(body.inMemory());
        assertArrayEquals("helloworld".getBytes(StandardCharsets.US_ASCII), Arrays.copyOf(body.bytes(), (int) body.size()));
        body.discard();
    }

    @Test
    void aLargerBodyGoesToATempFileThatDiscardRemoves() throws Exception {
        reader.start(post, -1);
        assertEquals(BodyReader.Step.MORE, add(piece("0123456789")));
        assertEquals(BodyReader.Step.DONE, add(last("abcdefghij")));
        RequestBody body = reader.take();
        Path file = body.file();
        assertNotNull(file);
        assertEquals("0123456789abcdefghij", Files.readString(file, StandardCharsets.US_ASCII));
        body.discard();
        assertFalse(Files.exists(file));
    }

    @Test
    void aChunkedBodyPastTheLimitIsDroppedWithItsFile() {
        reader.start(post, -1);
        assertEquals(BodyReader.Step.MORE, add(piece("x".repeat(600))));
        assertEquals(BodyReader.Step.TOO_LARGE, add(piece("y".repeat(401))));
        assertFalse(reader.reading());
        assertNull(reader.request());
    }

    @Test
    void aBodyTheDecoderCutShortIsMalformed() {
        reader.start(post, -1);
        assertEquals(BodyReader.Step.MORE, add(piece("abc")));
        LastHttpContent broken = last("");
        broken.setDecoderResult(DecoderResult.failure(new IllegalArgumentException("invalid chunk size")));
        assertEquals(BodyReader.Step.MALFORMED, add(broken));
        assertFalse(reader.reading());
    }

    @Test
    void aRequestWithoutABodyEndsWithTheEmptyLastContent() {
        reader.start(new DefaultHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, "/"), -1);
        assertEquals(BodyReader.Step.DONE, reader.add(LastHttpContent.EMPTY_LAST_CONTENT));
        RequestBody body = reader.take();
        assertEquals(0, body.size());
        body.discard();
        reader.start(post, 3);
        assertEquals(BodyReader.Step.DONE, add(last("abc")));
        assertEquals(3, reader.take().size());
    }

    @Test
    void discardWhileReadingFreesTheBody() {
        reader.start(post, -1);
        assertEquals(BodyReader.Step.MORE, add(piece("0123456789abcdefghij")));
        reader.discard();
        assertFalse(reader.reading());
        reader.discard(); // twice: nothing more
    }
}

package io.piston.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Feeds raw request bytes through the codec and the request handler on an EmbeddedChannel, with
 * an app that answers on the calling thread, and reads the raw response bytes back.
 */
class HttpRequestHandlerTest {
    private final List<String> served = new ArrayList<>();
    private EmbeddedChannel channel;

    /** Echoes method, path and body size; runs synchronously on the test thread. */
    private final Application echo = exchange -> {
        served.add(exchange.request().method() + " " + exchange.request().uri());
        String text = exchange.request().method() + " " + exchange.request().uri() + " " + exchange.body().size();
        HttpHeaders headers = DefaultHttpHeadersFactory.headersFactory().newHeaders();
        exchange.respond(200, headers, Unpooled.copiedBuffer(text, StandardCharsets.UTF_8));
    };

    private EmbeddedChannel open(HttpConfig config, Application app, Executor workers) {
        HttpServerContext context = new HttpServerContext(config, app, workers, null,
                new DefaultChannelGroup(GlobalEventExecutor.INSTANCE));
        HttpRequestHandler requests = new HttpRequestHandler(context);
        channel = new EmbeddedChannel(new HttpRequestDecoder(HttpServerInitializer.decoderConfig(config)),
                new ResponseEncoder(requests::answeringHead), requests);
        return channel;
    }

    /** Default limits, the app run at once on the test thread. */
    private EmbeddedChannel open(Application app) {
        return open(HttpConfig.builder().build(), app, Runnable::run);
    }

    private EmbeddedChannel open() {
        return open(HttpConfig.builder().maxBody(1000).bodyMemory(16).build(), echo, Runnable::run);
    }

    @AfterEach
    void finish() {
        if (channel != null) {
            channel.close();
            channel.runPendingTasks();
            drainOutbound();
            assertFalse(channel.finish());
        }
    }

    private void send(String raw) {
        channel.writeInbound(Unpooled.copiedBuffer(raw, StandardCharsets.ISO_8859_1));
        channel.runPendingTasks();
    }

    private String output() {
        channel.runPendingTasks();
        return drainOutbound();
    }

    private String drainOutbound() {
        StringBuilder sb = new StringBuilder();
        Object o;
        while ((o = channel.readOutbound()) != null) {
            if (o instanceof ByteBuf b) {
                sb.append(b.toString(StandardCharsets.ISO_8859_1));
                b.release();
            } else {
                ReferenceCountUtil.release(o);
            }
        }
        return sb.toString();
    }

    @Test
    void answersAGetWithKeepAlive() {
        open();
        send("GET /a?b=1 HTTP/1.1\r\nHost: x\r\n\r\n");
        String out = output();
        assertTrue(out.startsWith("HTTP/1.1 200 OK\r\n"), out);
        assertTrue(out.endsWith("GET /a?b=1 0"), out);
        assertTrue(channel.isOpen());
    }

    @Test
    void anUpgradeAfterTheClientLeftStillHandsOverAndThrowsNothing() {
        HttpExchange[] held = new HttpExchange[1];
        open(exchange -> held[0] = exchange); // the app has not answered when the client goes
        send("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n");
        channel.close();
        channel.runPendingTasks();
        HttpResponse head = new DefaultHttpResponse(
                HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
        List<Boolean> takeovers = new ArrayList<>();
        held[0].upgrade(head, pipeline -> takeovers.add(channel.isActive()));
        channel.runPendingTasks();
        channel.checkException(); // a task that threw on the event loop is rethrown here
        assertEquals(List.of(false), takeovers);
    }

    @Test
    void readsTheRequestOneByteAtATime() {
        open();
        for (byte b : "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello".getBytes(StandardCharsets.US_ASCII)) {
            channel.writeInbound(Unpooled.wrappedBuffer(new byte[] {b}));
        }
        String out = output();
        assertTrue(out.endsWith("POST /up 5"), out);
    }

    @Test
    void answersPipelinedRequestsInOrder() {
        open();
        send("GET /1 HTTP/1.1\r\nHost: x\r\n\r\nGET /2 HTTP/1.1\r\nHost: x\r\n\r\nGET /3 HTTP/1.1\r\nHost: x\r\n\r\n");
        String out = output();
        assertTrue(out.indexOf("GET /1") < out.indexOf("GET /2") && out.indexOf("GET /2") < out.indexOf("GET /3"), out);
        assertEquals(List.of("GET /1", "GET /2", "GET /3"), served);
    }

    @Test
    void chunkedBodyIsDecodedAndSpilledToAFileWhenLarge() {
        open();
        send("POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n14\r\n01234567890123456789\r\n3\r\nabc\r\n0\r\n\r\n");
        assertTrue(output().endsWith("POST /c 23"));
    }

    @Test
    void malformedRequestLineIs400AndCloses() {
        open();
        send("GARBAGE\r\n\r\n");
        String out = output();
        assertTrue(out.startsWith("HTTP/1.1 400 "), out);
        assertTrue(out.toLowerCase().contains("connection: close"), out);
        assertFalse(channel.isOpen());
    }

    @Test
    void overlongRequestLineIs414() {
        open();
        send("GET /" + "a".repeat(9000) + " HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(output().startsWith("HTTP/1.1 414 "));
    }

    @Test
    void oversizedHeadersAre431() {
        open();
        send("GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + "b".repeat(20000) + "\r\n\r\n");
        assertTrue(output().startsWith("HTTP/1.1 431 "));
    }

    @Test
    void contentLengthWithTransferEncodingIs400() {
        open();
        send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n");
        assertTrue(output().startsWith("HTTP/1.1 400 "));
        assertTrue(served.isEmpty());
    }

    @Test
    void invalidContentLengthIs400() {
        open();
        send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n");
        assertTrue(output().startsWith("HTTP/1.1 400 "));
    }

    @Test
    void bodyOverTheLimitIs413WithoutReadingIt() {
        open();
        send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
        assertTrue(output().startsWith("HTTP/1.1 413 "));
        assertTrue(served.isEmpty());
    }

    @Test
    void chunkedBodyOverTheLimitIs413() {
        open();
        String chunk = "3e8\r\n" + "x".repeat(1000) + "\r\n";
        send("POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk);
        assertTrue(output().startsWith("HTTP/1.1 413 "));
        assertTrue(served.isEmpty());
    }

    @Test
    void expectContinueGets100BeforeTheBody() {
        open();
        send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n");
        assertEquals("HTTP/1.1 100 Continue\r\n\r\n", output());
        send("ok");
        assertTrue(output().endsWith("POST / 2"));
    }

    @Test
    void unknownExpectationIs417() {
        open();
        send("POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: magic\r\n\r\nok");
        assertTrue(output().startsWith("HTTP/1.1 417 "));
    }

    @Test
    void fullWorkerQueueGets503AndTheConnectionStaysUsable() {
        Executor full = task -> { throw new RejectedExecutionException("full"); };
        open(HttpConfig.builder().build(), echo, full);
        send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        String out = output();
        assertTrue(out.startsWith("HTTP/1.1 503 "), out);
        assertTrue(channel.isOpen());
    }

    @Test
    void http10ClosesAfterTheResponse() {
        open();
        send("GET / HTTP/1.0\r\n\r\n");
        String out = output();
        assertTrue(out.startsWith("HTTP/1.1 200 "), out);
        assertFalse(channel.isOpen());
    }

    @Test
    void connectionCloseIsHonoured() {
        open();
        send("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertTrue(output().toLowerCase().contains("connection: close"));
        assertFalse(channel.isOpen());
    }

    @Test
    void headResponseHasLengthButNoBody() {
        open();
        send("HEAD /h HTTP/1.1\r\nHost: x\r\n\r\n");
        String out = output();
        assertTrue(out.toLowerCase().contains("content-length: 9"), out);
        assertTrue(out.endsWith("\r\n\r\n"), out);
    }

    /** Answers with a head the worker writes itself, as the Rack side does for Array bodies. */
    private final Application readyMade = exchange -> {
        ResponseHead head = new ResponseHead(200);
        byte[] type = "text/plain".getBytes(StandardCharsets.US_ASCII);
        head.add(AsciiString.of("Content-Type"), type, 0, type.length);
        exchange.respond(head, Unpooled.copiedBuffer("ready " + exchange.request().uri(), StandardCharsets.UTF_8));
    };

    @Test
    void readyMadeResponsesGoOutAsWrittenWithTheirLength() {
        open(readyMade);
        send("GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n");
        assertEquals("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 10\r\n\r\nready /one"
                + "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 10\r\n\r\nready /two", output());
        assertTrue(channel.isOpen());
    }

    @Test
    void readyMadeResponseClosesWhenTheClientAskedTo() {
        open(readyMade);
        send("GET /last HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        assertEquals("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\ncontent-length: 11\r\nconnection: close\r\n\r\n"
                + "ready /last", output());
        assertFalse(channel.isOpen());
    }

    @Test
    void readyMadeResponseWithALargeBodySendsItWhole() {
        String big = "x".repeat(ResponseHead.MERGE_BODY * 3 + 7);
        open(exchange -> {
            ResponseHead head = new ResponseHead(201);
            exchange.respond(head, Unpooled.directBuffer().writeBytes(big.getBytes(StandardCharsets.US_ASCII)));
        });
        send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assertEquals("HTTP/1.1 201 Created\r\ncontent-length: " + big.length() + "\r\n\r\n" + big, output());
    }

    @Test
    void streamedAnswerToHeadHasNoBodyEvenWhenChunked() {
        open(exchange -> {
            HttpHeaders headers = DefaultHttpHeadersFactory.headersFactory().newHeaders();
            headers.set("Transfer-Encoding", "chunked");
            exchange.begin(200, headers);
            exchange.write(Unpooled.copiedBuffer("ignored", StandardCharsets.UTF_8));
            exchange.end();
        });
        send("HEAD /s HTTP/1.1\r\nHost: x\r\n\r\nGET / HTTP/1.1\r\nHost: x\r\n\r\n");
        String out = output();
        int second = out.indexOf("HTTP/1.1 200", 1);
        assertTrue(second > 0, out);
        String head = out.substring(0, second);
        assertEquals(head.length() - 4, head.indexOf("\r\n\r\n"), out); // the head alone: no chunk, no terminator
        assertTrue(out.substring(second).endsWith("\r\n\r\n7\r\nignored\r\n0\r\n\r\n"), out);
    }

    @Test
    void busyAnswerToHeadHasNoBody() {
        Executor full = task -> { throw new RejectedExecutionException("full"); };
        open(HttpConfig.builder().build(), echo, full);
        send("HEAD / HTTP/1.1\r\nHost: x\r\n\r\n");
        String out = output();
        assertTrue(out.startsWith("HTTP/1.1 503 "), out);
        assertTrue(out.toLowerCase().contains("content-length: "), out);
        assertTrue(out.endsWith("\r\n\r\n"), out);
    }

    @Test
    void readyMadeResponseKeepsTheAppsContentLength() {
        open(exchange -> {
            ResponseHead head = new ResponseHead(200);
            byte[] length = "5".getBytes(StandardCharsets.US_ASCII);
            head.add(AsciiString.of("Content-Length"), length, 0, length.length);
            exchange.respond(head, Unpooled.copiedBuffer("hello", StandardCharsets.UTF_8));
        });
        send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assertEquals("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", output());
    }

    /** Workers that run nothing until the test says so: requests stay in flight. */
    private final List<Runnable> held = new ArrayList<>();

    private void runHeld() {
        held.remove(0).run();
        channel.runPendingTasks();
    }

    @Test
    void tooManyPipelinedRequestsGet503AfterTheOthersAndClose() {
        open(HttpConfig.builder().build(), echo, held::add);
        int sent = HttpRequestHandler.MAX_QUEUED + 5;
        send("GET /r HTTP/1.1\r\nHost: x\r\n\r\n".repeat(sent));
        StringBuilder out = new StringBuilder(output());
        while (!held.isEmpty()) {
            runHeld();
            out.append(drainOutbound());
        }
        String all = out.toString();
        // the one in flight and the MAX_QUEUED queued behind it are answered, then the 503 ends it
        assertEquals(HttpRequestHandler.MAX_QUEUED + 1, all.split("HTTP/1.1 200 OK", -1).length - 1, all);
        assertTrue(all.endsWith("503 Service Unavailable\n"), all.substring(Math.max(0, all.length() - 300)));
        assertFalse(channel.isOpen());
    }

    @Test
    void continueForAPipelinedRequestWaitsForTheResponseBeforeIt() {
        open(HttpConfig.builder().build(), echo, held::add);
        send("GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
                + "POST /b HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nExpect: 100-continue\r\n\r\n");
        assertEquals("", output()); // /a is with the app: no 100 yet, it would read as /a's
        runHeld();
        String out = output();
        assertTrue(out.endsWith("GET /a 0HTTP/1.1 100 Continue\r\n\r\n"), out);
        send("abc");
        runHeld();
        assertTrue(output().endsWith("POST /b 3"));
    }

    @Test
    void rejectedHeadRequestGetsNoBody() {
        open();
        send("HEAD / HTTP/1.1\r\nHost: x\r\nContent-Length: 5000\r\n\r\n");
        String out = output();
        assertTrue(out.startsWith("HTTP/1.1 413 "), out);
        assertTrue(out.endsWith("\r\n\r\n"), out);
        assertFalse(channel.isOpen());
    }

    @Test
    void appFailureBeforeRespondingIs500() {
        open(exchange -> { throw new IllegalStateException("boom"); });
        send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
        assertTrue(output().startsWith("HTTP/1.1 500 "));
        assertNull(channel.readOutbound());
    }
}

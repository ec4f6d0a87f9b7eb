package io.piston.http;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import jnr.unixsocket.UnixSocketChannel;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * rack.hijack on a real server (epoll, loopback) against a client that sends more bytes and its
 * end of stream the moment the hijack returns: all of them must reach the app, the end of
 * stream last. The client acts from the worker thread, right after the hijack call returns, so
 * it races the IO thread's takeover as tightly as a client can; each test runs many rounds.
 */
class HijackRaceTest {
    private static final int ROUNDS = 300;
    private static final String REQUEST = "GET /tunnel HTTP/1.1\r\nHost: x\r\n\r\nearly ";

    /** The app's end of a hijacked connection. */
    private interface AppEnd {
        /** Blocks until the client's end of stream; what came before it. */
        String readToEnd() throws IOException, InterruptedException;

        /** Writes {@code text} and closes the connection. */
        void answerAndClose(String text) throws IOException;
    }

    /** A real socket: the app's end of the pair that {@link HttpExchange#hijackToSocket} relays to. */
    private record SocketEnd(UnixSocketChannel ch) implements AppEnd {
        static SocketEnd hijack(HttpExchange exchange) {
            try {
                UnixSocketChannel[] pair = UnixSocketChannel.pair();
                pair[1].configureBlocking(false);
                exchange.hijackToSocket(pair[1].getFD());
                return new SocketEnd(pair[0]);
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        }

        @Override
        public String readToEnd() throws IOException {
            ByteArrayOutputStream got = new ByteArrayOutputStream();
            ByteBuffer buf = ByteBuffer.allocate(1024);
            while (ch.read(buf) >= 0) {
                got.write(buf.array(), 0, buf.position());
                buf.clear();
            }
            return got.toString(StandardCharsets.US_ASCII);
        }

        @Override
        public void answerAndClose(String text) throws IOException {
            ch.write(ByteBuffer.wrap(text.getBytes(StandardCharsets.US_ASCII)));
            ch.close();
        }
    }

    /** The stream {@link HttpExchange#hijack} returns (the NIO transport's, and the fallback). */
    private record StreamEnd(HijackedStream stream) implements AppEnd {
        @Override
        public String readToEnd() throws InterruptedException {
            StringBuilder got = new StringBuilder();
            for (byte[] b; (b = stream.read(1024, 10_000)) != null; ) got.append(new String(b, StandardCharsets.US_ASCII));
            return got.toString();
        }

        @Override
        public void answerAndClose(String text) {
            byte[] bytes = text.getBytes(StandardCharsets.US_ASCII);
            stream.write(bytes, 0, bytes.length);
            stream.close();
        }
    }

    private EventLoopGroup group;
    private ExecutorService workers;
    private Channel listener;
    /** How the app takes each connection; set by the test before its first round. */
    private volatile Function<HttpExchange, AppEnd> takeover;
    /** The current round's client; the worker sends its late bytes and its end of stream. */
    private volatile Socket client;
    private final SynchronousQueue<AppEnd> appEnds = new SynchronousQueue<>();

    private final Application hijacker = exchange -> {
        try {
            AppEnd end = takeover.apply(exchange);
            client.getOutputStream().write("late".getBytes(StandardCharsets.US_ASCII));
            client.shutdownOutput();
            appEnds.put(end);
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    };

    @BeforeEach
    void start() throws InterruptedException {
        assumeTrue(Epoll.isAvailable(), "needs the epoll transport");
        group = new MultiThreadIoEventLoopGroup(1, EpollIoHandler.newFactory());
        workers = Executors.newFixedThreadPool(2);
        HttpServerContext context = new HttpServerContext(HttpConfig.builder().build(), hijacker, workers, null,
                new DefaultChannelGroup(GlobalEventExecutor.INSTANCE));
        listener = new ServerBootstrap().group(group).channel(EpollServerSocketChannel.class)
                .childHandler(new HttpServerInitializer(context))
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
    }

    @AfterEach
    void stop() {
        if (listener != null) listener.close().syncUninterruptibly();
        if (group != null) group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        if (workers != null) workers.shutdownNow();
    }

    @Test
    void aRealSocketGetsEveryByteThenTheHalfCloseAndCanStillAnswer() {
        takeover = SocketEnd::hijack;
        rounds("bye", "bye");
    }

    @Test
    void aHijackedStreamGetsEveryByteThenTheEndOfStream() {
        takeover = exchange -> new StreamEnd(exchange.hijack());
        // Without half-closure the client's end of stream closes the connection: no answer arrives.
        rounds("bye", "");
    }

    /** Each round: a new client, the app reads to the end and answers {@code answer}; the client gets {@code received}. */
    private void rounds(String answer, String received) {
        int port = ((InetSocketAddress) listener.localAddress()).getPort();
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            for (int round = 0; round < ROUNDS; round++) {
                try (Socket c = new Socket("127.0.0.1", port)) {
                    client = c;
                    c.getOutputStream().write(REQUEST.getBytes(StandardCharsets.US_ASCII));
                    AppEnd app = appEnds.take();
                    assertEquals("early late", app.readToEnd(), "round " + round);
                    app.answerAndClose(answer);
                    assertEquals(received, new String(c.getInputStream().readAllBytes(), StandardCharsets.US_ASCII),
                            "round " + round);
                }
            }
        });
    }
}

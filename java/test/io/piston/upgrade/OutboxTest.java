package io.piston.upgrade;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.UnpooledByteBufAllocator;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The outbox across threads, on real event loops and a loopback TCP connection: several producer
 * threads write at once while the IO thread empties the outbox, as workers and app threads do.
 * (EmbeddedChannel cannot show this: there every thread counts as the event loop.) The server
 * side allocates from an unpooled allocator whose counters show that nothing is left unreleased.
 */
class OutboxTest {
    private static final int PRODUCERS = 4;

    /** Frames each message as its bytes and a newline. */
    static final class LineOutbox extends Outbox {
        final CountDownLatch opened = new CountDownLatch(1);
        final AtomicInteger drains = new AtomicInteger();
        private volatile boolean open = true;

        LineOutbox(Channel channel, UpgradeConfig config) {
            super(channel, config);
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            openOutbox();
            opened.countDown();
            ctx.fireChannelActive();
        }

        @Override
        public boolean isOpen() {
            return open;
        }

        @Override
        boolean closing() {
            boolean was = open;
            open = false;
            return was;
        }

        @Override
        void drained() {
            drains.incrementAndGet();
        }

        @Override
        Object encode(byte[] data, int offset, int length, boolean binary) {
            return channel.alloc().directBuffer(length + 1).writeBytes(data, offset, length).writeByte('\n');
        }

        @Override
        int frameSize(byte[] data, int offset, int length, boolean binary) {
            return length + 1;
        }

        @Override
        void frameInto(byte[] out, int at, byte[] data, int offset, int length, boolean binary, int size) {
            System.arraycopy(data, offset, out, at, length);
            out[at + length] = '\n';
        }
    }

    /** What the client received. */
    static final class Received extends ChannelInboundHandlerAdapter {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf buf = (ByteBuf) msg;
            try {
                synchronized (bytes) {
                    buf.readBytes(bytes, buf.readableBytes());
                }
            } catch (IOException e) {
                throw new IllegalStateException(e);
            } finally {
                buf.release();
            }
        }

        List<String> lines() {
            String all;
            synchronized (bytes) {
                all = bytes.toString(StandardCharsets.US_ASCII);
            }
            String[] parts = all.split("\n", -1); // the last part is what follows the last newline
            return Arrays.asList(parts).subList(0, parts.length - 1);
        }
    }

    private final EventLoopGroup serverLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final EventLoopGroup clientLoop = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    private final UnpooledByteBufAllocator serverAlloc = new UnpooledByteBufAllocator(true);
    private final Received received = new Received();
    private Channel server;
    private Channel client;
    private LineOutbox outbox;

    @AfterEach
    void stop() {
        if (client != null) client.close().syncUninterruptibly();
        if (server != null) server.close().syncUninterruptibly();
        clientLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        serverLoop.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    /** A loopback connection whose server end is a LineOutbox; a client that does not read leaves the data in the socket. */
    private void connect(UpgradeConfig config, boolean clientReads) throws Exception {
        CompletableFuture<LineOutbox> made = new CompletableFuture<>();
        server = new ServerBootstrap().group(serverLoop).channel(NioServerSocketChannel.class)
                .childOption(ChannelOption.ALLOCATOR, serverAlloc)
                .childOption(ChannelOption.SO_SNDBUF, 16 * 1024)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        LineOutbox o = new LineOutbox(ch, config);
                        ch.pipeline().addLast(o);
                        made.complete(o);
                    }
                })
                .bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();
        client = new Bootstrap().group(clientLoop).channel(NioSocketChannel.class)
                .option(ChannelOption.AUTO_READ, clientReads)
                .option(ChannelOption.SO_RCVBUF, 16 * 1024)
                .handler(received)
                .connect(server.localAddress()).sync().channel();
        outbox = made.get(5, TimeUnit.SECONDS);
        assertTrue(outbox.opened.await(5, TimeUnit.SECONDS));
    }

    /** Starts {@link #PRODUCERS} threads running {@code body(p)} together; returns when all are done. */
    private static void together(ProducerBody body) throws Exception {
        CountDownLatch start = new CountDownLatch(1);
        List<Thread> threads = new ArrayList<>();
        List<Throwable> failures = new ArrayList<>();
        for (int p = 0; p < PRODUCERS; p++) {
            int producer = p;
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    body.run(producer);
                } catch (Throwable e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                }
            }, "producer-" + p);
            t.start();
            threads.add(t);
        }
        start.countDown();
        for (Thread t : threads) t.join(30_000);
        assertEquals(List.of(), failures);
    }

    interface ProducerBody {
        void run(int producer) throws Exception;
    }

    private void awaitLines(int n) throws InterruptedException {
        long deadline = System.currentTimeMillis() + 20_000;
        while (received.lines().size() < n && System.currentTimeMillis() < deadline) Thread.sleep(10);
    }

    /** Waits until the server's IO thread ran everything queued so far. */
    private void settle() throws Exception {
        outbox.channel.eventLoop().submit(() -> {}).get(5, TimeUnit.SECONDS);
    }

    @Test
    void writesFromSeveralThreadsArriveWholeAndInEachThreadsOrder() throws Exception {
        connect(UpgradeConfig.defaults(), true);
        int each = 3000;
        List<ByteBuf> framed = new ArrayList<>();
        together(p -> {
            for (int i = 0; i < each; i++) {
                String text = "p" + p + ":" + i;
                if (i % 500 == 0) { // a large one: framed by the writing thread, queued as a buffer
                    byte[] large = (text + ":" + "x".repeat(9000)).getBytes(StandardCharsets.US_ASCII);
                    ByteBuf buf = serverAlloc.directBuffer(large.length + 1).writeBytes(large).writeByte('\n');
                    synchronized (framed) {
                        framed.add(buf);
                    }
                    assertTrue(outbox.send(buf));
                } else {
                    byte[] data = text.getBytes(StandardCharsets.US_ASCII);
                    assertTrue(outbox.sendMessage(data, 0, data.length, false, false));
                }
            }
        });
        awaitLines(PRODUCERS * each);
        List<String> lines = received.lines();
        assertEquals(PRODUCERS * each, lines.size());
        int[] next = new int[PRODUCERS];
        for (String line : lines) {
            String[] parts = line.split(":");
            int p = Integer.parseInt(parts[0].substring(1));
            assertEquals(next[p], Integer.parseInt(parts[1]), "producer " + p + " out of order");
            next[p]++;
        }
        settle();
        assertEquals(0, outbox.queuedWrites());
        assertEquals(0, outbox.queuedBytes());
        for (ByteBuf buf : framed) assertEquals(0, buf.refCnt());
        assertEquals(0, serverAlloc.metric().usedDirectMemory());
        assertEquals(0, serverAlloc.metric().usedHeapMemory());
    }

    @Test
    void aClientThatDoesNotReadIsClosedAtTheBoundAndNothingLeaks() throws Exception {
        UpgradeConfig config = UpgradeConfig.builder().maxOutboundBytes(256 * 1024).build();
        connect(config, false);
        byte[] kilobyte = "k".repeat(1023).getBytes(StandardCharsets.US_ASCII);
        AtomicInteger accepted = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        List<ByteBuf> framed = new ArrayList<>();
        together(p -> {
            for (int i = 0; i < 2000; i++) {
                boolean ok;
                if (i % 10 == 0) {
                    ByteBuf buf = serverAlloc.directBuffer(9 * 1024).writeZero(9 * 1024 - 1).writeByte('\n');
                    synchronized (framed) {
                        framed.add(buf);
                    }
                    ok = outbox.send(buf);
                } else {
                    ok = outbox.sendMessage(kilobyte, 0, kilobyte.length, false, true);
                }
                (ok ? accepted : refused).incrementAndGet();
            }
        });
        assertTrue(refused.get() > 0, "nothing was refused");
        // what the socket buffers took, plus the bound: the rest was refused
        assertTrue(accepted.get() < 2 * 1024, accepted.get() + " writes of ~1 KiB accepted");
        assertTrue(outbox.channel.closeFuture().await(5, TimeUnit.SECONDS), "the slow client was not closed");
        assertFalse(outbox.isOpen());
        byte[] one = "late".getBytes(StandardCharsets.US_ASCII);
        assertFalse(outbox.sendMessage(one, 0, one.length, false, false));
        settle();
        for (ByteBuf buf : framed) assertEquals(0, buf.refCnt());
        assertEquals(0, serverAlloc.metric().usedDirectMemory());
        assertEquals(0, serverAlloc.metric().usedHeapMemory());
    }

    @Test
    void ioThreadOnlyStepsRefuseOtherThreads() throws Exception {
        connect(UpgradeConfig.defaults(), true);
        assertThrows(IllegalStateException.class, () -> outbox.openOutbox());
    }
}

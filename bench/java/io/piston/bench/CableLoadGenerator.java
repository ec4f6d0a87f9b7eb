package io.piston.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.concurrent.DefaultThreadFactory;
import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The load of bench/cable.sh: N ActionCable clients speaking actioncable-v1-json as the
 * {@code @rails/actioncable} client does (cookie, origin, sub-protocol; subscribe on "welcome")
 * subscribe to EchoChannel of spec/fixtures/cable_app. Then it reads the server's CPU, RSS,
 * threads and fds from /proc, and one client performs "speak" with its clock in the text, whose
 * broadcast every client times from that moment to its receipt: single broadcasts a second
 * apart, then a burst back to back (deliveries per second). Prints one JSON line on stdout,
 * progress on stderr. Every wait is bounded.
 *
 * <p>Threads: main drives the phases; one Netty event-loop thread owns every connection and the
 * counters (the volatile ones are read by main).
 *
 * <pre>
 * java -cp CP io.piston.bench.CableLoadGenerator --port P --connections N --server-pid PID
 *      --cookie 'user=...' --origin http://127.0.0.1:P [--settle SECONDS]
 * </pre>
 */
public final class CableLoadGenerator {
    private static final int SINGLES = 5;             // broadcasts one at a time, a second apart
    private static final int BURST = 20;              // broadcasts back to back
    private static final int IDLE_SECONDS = 10;       // each idle CPU reading
    private static final int IN_FLIGHT = 100;         // connections opening at once
    private static final long ROUND_TIMEOUT_S = 120;  // for a round of broadcasts
    private static final String IDENTIFIER = "{\"channel\":\"EchoChannel\"}";
    private static final Pattern TEXT = Pattern.compile("\"text\":\"(\\d+)\"");

    private static String host = "127.0.0.1";
    private static int port = 9495;
    private static String path = "/cable";
    private static int connections = 100;
    private static long serverPid;
    private static String cookie = "";
    private static String origin = null;
    private static double settleSeconds = 20;
    private static double connectTimeout = 300;

    private static final List<Client> CLIENTS = new ArrayList<>();
    private static CountDownLatch settled; // a client counts down once: subscribed, or failed
    private static final AtomicInteger SUBSCRIBED = new AtomicInteger();
    private static Semaphore permits;
    private static volatile boolean stopping;
    // Touched by the event-loop thread only, but for `delivered` (read by main).
    private static final LatencyHistogram LATENCIES = new LatencyHistogram();
    private static volatile long delivered;
    private static volatile long errors;

    public static void main(String[] args) throws Exception {
        parse(args);
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("cable-gen"), EpollIoHandler.newFactory());
        int rc;
        try {
            Bootstrap b = new Bootstrap().group(group).channel(EpollSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast(new Client());
                        }
                    });
            rc = run(b, group);
        } finally {
            stopping = true;
            synchronized (CLIENTS) {
                for (Client c : CLIENTS) c.channel.close();
            }
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
        System.exit(rc);
    }

    private static int run(Bootstrap b, EventLoopGroup group) throws Exception {
        long started = System.nanoTime();
        int ready = connectAll(b);
        double connectSeconds = (System.nanoTime() - started) / 1e9;
        log("%d of %d subscribed in %.1f s", ready, connections, connectSeconds);
        ServerProcess connected = ServerProcess.read(serverPid);
        double idleConnected = idleCpu();
        sleep(settleSeconds);
        double idleSettled = idleCpu();
        Round single = Round.NONE;
        Round burst = Round.NONE;
        if (ready == connections) {
            Client speaker;
            synchronized (CLIENTS) {
                speaker = CLIENTS.get(0);
            }
            single = broadcast(group, speaker, SINGLES, 1000);
            log("single: %s", single);
            burst = broadcast(group, speaker, BURST, 0);
            log("burst: %s", burst);
        }
        stopping = true;
        synchronized (CLIENTS) {
            for (Client c : CLIENTS) c.channel.close(); // as a browser tab going away: no closing handshake
        }
        sleep(5);
        double idleAfter = idleCpu();
        System.out.printf(Locale.ROOT, "{\"n\":%d,\"subscribed\":%d,\"connectSeconds\":%.1f,\"cpu\":%.2f,\"rssMiB\":%.1f,"
                        + "\"threads\":%d,\"fds\":%d,\"idleConnected\":%.1f,\"idleSettled\":%.1f,\"idleAfter\":%.1f,"
                        + "\"singleP50\":%s,\"singleP99\":%s,\"singleDelivered\":%.4f,\"burstDelivered\":%.4f,"
                        + "\"burstPerSecond\":%.0f,\"burstP50\":%s,\"burstP99\":%s,\"errors\":%d,\"fdsAfter\":%d}%n",
                connections, ready, connectSeconds, connected.cpuSeconds, connected.rssMiB, connected.threads, connected.fds,
                idleConnected, idleSettled, idleAfter, single.p50(), single.p99(),
                single.deliveries / (double) (connections * SINGLES), burst.deliveries / (double) (connections * BURST),
                burst.deliveries / burst.seconds, burst.p50(), burst.p99(), errors, ServerProcess.read(serverPid).fds);
        return ready == connections && errors == 0 ? 0 : 1;
    }

    /** Opens the clients, IN_FLIGHT at a time; returns how many got subscribed before the deadline. */
    private static int connectAll(Bootstrap b) throws Exception {
        settled = new CountDownLatch(connections);
        permits = new Semaphore(IN_FLIGHT);
        long deadline = System.nanoTime() + (long) (connectTimeout * 1e9);
        for (int i = 0; i < connections; i++) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !permits.tryAcquire(left, TimeUnit.NANOSECONDS)) break;
            b.connect(host, port).addListener(f -> {
                if (!f.isSuccess()) {
                    errors++;
                    log("connect failed: %s", f.cause());
                    permits.release();
                    settled.countDown();
                }
            });
        }
        settled.await(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        return SUBSCRIBED.get();
    }

    /** Server CPU over IDLE_SECONDS, in % of one core. */
    private static double idleCpu() throws Exception {
        double before = ServerProcess.read(serverPid).cpuSeconds;
        sleep(IDLE_SECONDS);
        return (ServerProcess.read(serverPid).cpuSeconds - before) / IDLE_SECONDS * 100;
    }

    /** Broadcast latencies (ms) and deliveries of one round. */
    private record Round(long deliveries, double seconds, long p50Nanos, long p99Nanos) {
        static final Round NONE = new Round(0, 1, -1, -1);

        String p50() {
            return p50Nanos < 0 ? "null" : String.valueOf(Math.round(p50Nanos / 1e6));
        }

        String p99() {
            return p99Nanos < 0 ? "null" : String.valueOf(Math.round(p99Nanos / 1e6));
        }

        @Override
        public String toString() {
            return String.format(Locale.ROOT, "%d deliveries in %.3f s (%.0f/s), p50 %s ms, p99 %s ms", deliveries, seconds,
                    deliveries / seconds, p50(), p99());
        }
    }

    /**
     * {@code count} performs of "speak" by {@code speaker}, {@code gapMs} apart (0: back to back);
     * waits until every client has every broadcast, or ROUND_TIMEOUT_S.
     */
    private static Round broadcast(EventLoopGroup group, Client speaker, int count, long gapMs) throws Exception {
        group.submit(() -> {
            delivered = 0;
            LATENCIES.reset();
        }).get(10, TimeUnit.SECONDS);
        long expected = (long) connections * count;
        long start = System.nanoTime();
        for (int i = 0; i < count; i++) {
            speaker.perform("speak", "{\\\"text\\\":\\\"" + System.nanoTime() + "\\\"}");
            if (gapMs > 0) Thread.sleep(gapMs);
        }
        long deadline = start + TimeUnit.SECONDS.toNanos(ROUND_TIMEOUT_S);
        while (delivered < expected && System.nanoTime() < deadline) Thread.sleep(1);
        double seconds = (System.nanoTime() - start) / 1e9;
        long[] p = group.submit(() -> new long[] {delivered, LATENCIES.percentile(0.5), LATENCIES.percentile(0.99)})
                .get(10, TimeUnit.SECONDS);
        return new Round(p[0], seconds, p[0] > 0 ? p[1] : -1, p[0] > 0 ? p[2] : -1);
    }

    /** One ActionCable client; runs on the event-loop thread (perform: any thread). */
    private static final class Client extends ChannelInboundHandlerAdapter {
        Channel channel;
        ByteBuf cumulation;
        boolean upgraded;
        boolean counted;

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            channel = ctx.channel();
            synchronized (CLIENTS) {
                CLIENTS.add(this);
            }
            String request = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\n"
                    + "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    + "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: actioncable-v1-json\r\n"
                    + "Origin: " + origin + "\r\nCookie: " + cookie + "\r\n\r\n";
            ctx.writeAndFlush(Unpooled.copiedBuffer(request, StandardCharsets.US_ASCII));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!stopping) {
                errors++;
                log("a connection closed early%s", upgraded ? "" : " (before its upgrade)");
                settle();
            }
            if (cumulation != null) {
                cumulation.release();
                cumulation = null;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!stopping) log("connection error: %s", cause);
            ctx.close();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            cumulation = cumulation == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cumulation, in);
            try {
                if (!upgraded) {
                    String head = WsWire.takeHead(cumulation);
                    if (head == null) {
                        if (cumulation.readableBytes() > WsWire.MAX_HEAD) fail("response head too long");
                        return;
                    }
                    if (!head.startsWith("HTTP/1.1 101")) {
                        fail("unexpected response: " + head.lines().findFirst().orElse(""));
                        return;
                    }
                    upgraded = true;
                }
                if (!WsWire.readFrames(cumulation, this::frame)) fail("masked frame from the server");
            } finally {
                if (cumulation != null && !cumulation.isReadable()) {
                    cumulation.release();
                    cumulation = null;
                }
            }
        }

        private boolean frame(int opcode, ByteBuf buf, int at, int len) {
            if (opcode == 0x8) {
                if (!stopping) fail("the server closed a connection");
                return false;
            }
            if (opcode == 0x1) {
                message(buf.toString(at, len, StandardCharsets.UTF_8));
            } else if (opcode == 0x9) { // the server's keep-alive ping: pong, as browsers do
                WsWire.pong(channel, buf, at, len);
            }
            return true;
        }

        private void message(String json) {
            long now = System.nanoTime();
            Matcher text = TEXT.matcher(json);
            if (text.find()) {
                LATENCIES.record(now - Long.parseLong(text.group(1)));
                delivered++;
            } else if (json.contains("\"type\":\"welcome\"")) {
                send("{\"command\":\"subscribe\",\"identifier\":\"" + IDENTIFIER.replace("\"", "\\\"") + "\"}");
            } else if (json.contains("\"type\":\"confirm_subscription\"")) {
                if (!counted) SUBSCRIBED.incrementAndGet();
                settle();
            } else if (json.contains("\"type\":\"reject_subscription\"") || json.contains("\"type\":\"disconnect\"")) {
                fail("refused: " + json);
            }
        }

        /** Counts this client as done connecting (subscribed, or failed). */
        private void settle() {
            if (counted) return;
            counted = true;
            permits.release();
            settled.countDown();
        }

        private void fail(String why) {
            errors++;
            log("%s", why);
            settle();
            channel.close();
        }

        void perform(String action, String dataFields) {
            String data = "{\\\"action\\\":\\\"" + action + "\\\"," + dataFields.substring(1);
            send("{\"command\":\"message\",\"identifier\":\"" + IDENTIFIER.replace("\"", "\\\"") + "\",\"data\":\"" + data + "\"}");
        }

        private void send(String json) {
            byte[] payload = json.getBytes(StandardCharsets.UTF_8);
            channel.writeAndFlush(WsWire.maskedFrame(channel.alloc().buffer(payload.length + 14), 0x1, payload));
        }
    }

    /** What /proc says of the server process. */
    private record ServerProcess(double cpuSeconds, double rssMiB, int threads, int fds) {
        static ServerProcess read(long pid) throws IOException {
            String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
            String[] fields = stat.substring(stat.lastIndexOf(") ") + 2).split(" ");
            double cpu = (Long.parseLong(fields[11]) + Long.parseLong(fields[12])) / 100.0; // utime + stime, in ticks
            String status = Files.readString(Path.of("/proc/" + pid + "/status"));
            String[] fdList = new File("/proc/" + pid + "/fd").list();
            return new ServerProcess(cpu, statusField(status, "VmRSS") / 1024.0, (int) statusField(status, "Threads"),
                    fdList == null ? 0 : fdList.length);
        }

        private static long statusField(String status, String name) {
            Matcher m = Pattern.compile("(?m)^" + name + ":\\s+(\\d+)").matcher(status);
            return m.find() ? Long.parseLong(m.group(1)) : 0;
        }
    }

    private static void sleep(double seconds) throws InterruptedException {
        Thread.sleep((long) (seconds * 1000));
    }

    private static void log(String format, Object... args) {
        System.err.println("[cable-gen] " + String.format(Locale.ROOT, format, args));
    }

    private static void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) usage("missing value for " + a);
            String v = args[++i];
            switch (a) {
                case "--host" -> host = v;
                case "--port" -> port = Integer.parseInt(v);
                case "--path" -> path = v;
                case "--connections" -> connections = Integer.parseInt(v);
                case "--server-pid" -> serverPid = Long.parseLong(v);
                case "--cookie" -> cookie = v;
                case "--origin" -> origin = v;
                case "--settle" -> settleSeconds = Double.parseDouble(v);
                case "--connect-timeout" -> connectTimeout = Double.parseDouble(v);
                default -> usage("unknown option " + a);
            }
        }
        if (serverPid <= 0) usage("--server-pid is required");
        if (origin == null) origin = "http://" + host + ":" + port;
    }

    private static void usage(String why) {
        System.err.println(why + "\nusage: CableLoadGenerator --server-pid PID [--host H] [--port N] [--path /cable]"
                + " [--connections N] [--cookie 'name=value'] [--origin URL] [--settle SECONDS] [--connect-timeout SECONDS]");
        System.exit(2);
    }
}

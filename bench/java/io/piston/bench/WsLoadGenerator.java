package io.piston.bench;

import io.netty.bootstrap.Bootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.ByteToMessageDecoder;
import io.netty.util.ByteProcessor;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Load generator of the real-time benchmarks (bench/realtime.sh), lean so that it takes as little
 * CPU from the server as it can: Netty with epoll, one event-loop thread by default, WebSocket and
 * SSE parsed by hand from the socket's bytes (no codec objects per message), client frames masked
 * with one fixed key and pre-encoded once. Every wait is bounded in time; connections end with the
 * WebSocket closing handshake (the server closes TCP first, so the client's ports do not linger).
 *
 * <pre>
 * --mode echo    N WebSockets to --path; each sends a message, waits for the echo, sends the next.
 *                Reports round-trips/s and round-trip latency during --duration after --warmup.
 * --mode sse     N EventSource requests to --path; counts events (blank-line terminated) per second.
 * --mode fanout  N WebSockets to --path, each waiting for a "ready" message (subscribed); then
 *                bursts: GET --publish-path?count=K&size=S, the server publishes K messages, each
 *                carrying its publish time; every connection should receive all K. Reports
 *                deliveries/s (deliveries / (last receipt - first publish time), per burst) and
 *                delivery latency (receipt - publish time of each message).
 *                With --rate R the server publishes the K messages of each burst paced at R per
 *                second (a chat room, a ticker) instead of all at once; a burst then lasts K/R s.
 * --mode hold    N connections to --path (--protocol websocket or sse), each ready at its first
 *                message (the app writes one once subscribed); reports how many are held and how
 *                fast they opened, then holds them, idle, until --release-file exists (or for
 *                --duration seconds at most) and closes them (bench/connections.sh).
 * </pre>
 * Prints one {@code RESULT key=value ...} line on stdout; progress on stderr.
 */
public final class WsLoadGenerator {
    // options
    private static String mode = "echo";
    private static boolean sse; // the connections are EventSource requests, not WebSockets
    private static String releaseFile = null;
    private static String host = "127.0.0.1";
    private static int port = 9292;
    private static String path = null;
    private static int connections = 100;
    private static int threads = 1;
    private static int size = 64;
    private static double warmup = 2;
    private static double duration = 5;
    private static int burst = 100;
    private static int bursts = 5;
    private static int warmupBursts = 2;
    private static double pacedRate = 0; // messages per second the server paces each burst at; 0: all at once
    private static String publishPath = "/publish";
    private static String srcBase = null;
    private static int srcCount = 1;
    private static int concurrency = 200;
    private static double connectTimeout = 120;
    private static double burstTimeout = 60;

    private static ByteBuf echoFrame;
    private static byte[] handshakeRequest;
    private static final Map<EventExecutor, Stats> STATS = new IdentityHashMap<>();
    private static final List<Client> CLIENTS = new ArrayList<>();
    private static volatile boolean stopping;
    private static CountDownLatch ready;
    private static Semaphore permits;
    private static final AtomicInteger failures = new AtomicInteger();

    /** Counters of one event loop; touched by its thread only, except the volatile ones (read by main). */
    private static final class Stats {
        final LatencyHistogram histogram = new LatencyHistogram();
        boolean measuring;
        long count;
        long bytes;
        long t0;
        long t1;
        volatile long delivered;
        long firstPublish = Long.MAX_VALUE;
        long lastReceipt;
        volatile long errors;
    }

    public static void main(String[] args) throws Exception {
        parse(args);
        if (path == null) path = switch (mode) {
            case "sse" -> "/sse";
            case "fanout" -> "/sub";
            case "hold" -> sse ? "/sse" : "/ws";
            default -> "/echo";
        };
        boolean ws = !sse;
        String req = "GET " + path + " HTTP/1.1\r\nHost: " + host + ":" + port + "\r\n"
                + (ws ? "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        + "Sec-WebSocket-Version: 13\r\n" : "Accept: text/event-stream\r\n")
                + "\r\n";
        handshakeRequest = req.getBytes(StandardCharsets.US_ASCII);
        echoFrame = Unpooled.unreleasableBuffer(WsWire.maskedFrame(Unpooled.directBuffer(size + 8), 0x1, Payload.filler(size)));

        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        EventLoopGroup group = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("gen-io"), io);
        for (EventExecutor e : group) STATS.put(e, new Stats());
        int rc = 0;
        try {
            Bootstrap b = new Bootstrap().group(group)
                    .channel(epoll ? EpollSocketChannel.class : NioSocketChannel.class)
                    .option(ChannelOption.TCP_NODELAY, true)
                    .option(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, 10_000)
                    .handler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            Client c = new Client(STATS.get(ch.eventLoop()));
                            synchronized (CLIENTS) {
                                CLIENTS.add(c);
                            }
                            ch.pipeline().addLast(c);
                        }
                    });
            long started = System.nanoTime();
            boolean connected = connectAll(b);
            if (mode.equals("hold")) {
                rc = runHold(connected, (System.nanoTime() - started) / 1e9);
            } else if (!connected) {
                rc = 1;
            } else {
                switch (mode) {
                    case "echo", "sse" -> rc = runSteady(group);
                    case "fanout" -> rc = runFanout(group);
                    default -> throw new IllegalArgumentException("unknown mode " + mode);
                }
            }
        } finally {
            stopping = true;
            closeAll();
            group.shutdownGracefully(0, 2, TimeUnit.SECONDS).await(10, TimeUnit.SECONDS);
        }
        System.exit(rc);
    }

    // ---- phases ---------------------------------------------------------------------------------

    private static boolean connectAll(Bootstrap b) throws Exception {
        ready = new CountDownLatch(connections);
        permits = new Semaphore(concurrency);
        long deadline = System.nanoTime() + (long) (connectTimeout * 1e9);
        InetSocketAddress remote = new InetSocketAddress(host, port);
        InetAddress[] sources = sources();
        long start = System.nanoTime();
        for (int i = 0; i < connections; i++) {
            long left = deadline - System.nanoTime();
            if (left <= 0 || !permits.tryAcquire(left, TimeUnit.NANOSECONDS)) {
                log("timed out connecting: %d of %d connections started", i, connections);
                return false;
            }
            if (failures.get() > 0) break;
            ChannelFuture f = sources == null ? b.connect(remote)
                    : b.connect(remote, new InetSocketAddress(sources[i % sources.length], 0));
            f.addListener(done -> {
                if (!done.isSuccess()) {
                    if (failures.getAndIncrement() == 0) log("connect failed: %s", done.cause());
                    permits.release();
                    ready.countDown();
                }
            });
        }
        long left = deadline - System.nanoTime();
        if (!ready.await(Math.max(left, 0), TimeUnit.NANOSECONDS)) {
            log("timed out: %d of %d connections ready", connections - ready.getCount(), connections);
            return false;
        }
        if (failures.get() > 0) {
            log("%d connections failed", failures.get());
            return false;
        }
        log("%d connections ready in %.1f s", connections, (System.nanoTime() - start) / 1e9);
        return true;
    }

    private static InetAddress[] sources() throws Exception {
        if (srcBase == null) return null;
        byte[] base = InetAddress.getByName(srcBase).getAddress();
        InetAddress[] out = new InetAddress[srcCount];
        for (int i = 0; i < srcCount; i++) {
            byte[] a = base.clone();
            a[3] = (byte) ((base[3] & 0xff) + i);
            if ((base[3] & 0xff) + i > 254) throw new IllegalArgumentException("--src-count goes past x.x.x.254");
            out[i] = InetAddress.getByAddress(a);
        }
        return out;
    }

    /** Echo and SSE: run, measure a window after the warm-up, report. */
    private static int runSteady(EventLoopGroup group) throws Exception {
        if (mode.equals("echo")) {
            for (Client c : CLIENTS) c.ctx.executor().execute(c::sendEcho);
        }
        sleep(warmup);
        onEachLoop(group, s -> {
            s.count = 0;
            s.bytes = 0;
            s.histogram.reset();
            s.measuring = true;
            s.t0 = System.nanoTime();
        });
        sleep(duration);
        onEachLoop(group, s -> {
            s.measuring = false;
            s.t1 = System.nanoTime();
        });
        stopping = true;
        LatencyHistogram all = new LatencyHistogram();
        double rate = 0;
        long count = 0;
        long bytes = 0;
        long errors = 0;
        for (Stats s : STATS.values()) {
            all.add(s.histogram);
            rate += s.count / ((s.t1 - s.t0) / 1e9);
            count += s.count;
            bytes += s.bytes;
            errors += s.errors;
        }
        int closed = closedEarly();
        String what = mode.equals("echo") ? "round-trips" : "events";
        log("%s: %d %s in %.1f s: %.0f/s%s", mode, count, what, duration, rate,
                mode.equals("echo") ? String.format(Locale.ROOT, ", latency p50 %.3f ms, p99 %.3f ms",
                        all.percentile(0.5) / 1e6, all.percentile(0.99) / 1e6) : "");
        System.out.printf(Locale.ROOT, "RESULT mode=%s connections=%d rate=%.0f count=%d p50_ms=%.3f p99_ms=%.3f "
                        + "mb_per_s=%.1f errors=%d closed=%d%n", mode, connections, rate, count,
                all.percentile(0.5) / 1e6, all.percentile(0.99) / 1e6, bytes / 1e6 / duration, errors, closed);
        return errors == 0 && closed == 0 && count > 0 ? 0 : 1;
    }

    /** Fan-out: warm-up bursts, then measured bursts; each waits for all N*K deliveries (bounded). */
    private static int runFanout(EventLoopGroup group) throws Exception {
        long expected = (long) connections * burst;
        LatencyHistogram all = new LatencyHistogram();
        List<Double> rates = new ArrayList<>();
        long deliveredTotal = 0;
        double secondsTotal = 0;
        long missing = 0;
        for (int n = 0; n < warmupBursts + bursts; n++) {
            boolean measured = n >= warmupBursts;
            onEachLoop(group, s -> {
                s.delivered = 0;
                s.firstPublish = Long.MAX_VALUE;
                s.lastReceipt = 0;
                s.measuring = measured;
            });
            trigger();
            long deadline = System.nanoTime() + (long) ((burstTimeout + pacedSeconds()) * 1e9);
            long got;
            while ((got = delivered()) < expected && System.nanoTime() < deadline && closedEarly() == 0) {
                Thread.sleep(1);
            }
            long[] span = {Long.MAX_VALUE, 0};
            onEachLoop(group, s -> {
                s.measuring = false;
                span[0] = Math.min(span[0], s.firstPublish);
                span[1] = Math.max(span[1], s.lastReceipt);
            });
            got = delivered();
            double secs = (span[1] - span[0]) / 1e9;
            double rate = got / secs;
            log("burst %d%s: %d of %d delivered in %.3f s: %.0f deliveries/s", n + 1, measured ? "" : " (warm-up)",
                    got, expected, secs, rate);
            if (measured) {
                rates.add(rate);
                deliveredTotal += got;
                secondsTotal += secs;
                missing += expected - got;
            }
            if (got < expected) {
                log("missing %d deliveries (timeout %.0f s or closed connections: %d)", expected - got, burstTimeout,
                        closedEarly());
                if (!measured) missing += expected - got;
                break;
            }
            Thread.sleep(200);
        }
        long errors = 0;
        for (Stats s : STATS.values()) {
            all.add(s.histogram);
            errors += s.errors;
        }
        rates.sort(null);
        double median = rates.isEmpty() ? 0 : rates.size() % 2 == 1 ? rates.get(rates.size() / 2)
                : (rates.get(rates.size() / 2 - 1) + rates.get(rates.size() / 2)) / 2;
        double overall = secondsTotal > 0 ? deliveredTotal / secondsTotal : 0;
        log("fanout: %d subscribers, %d x %d-byte messages per burst%s, %d bursts: %.0f deliveries/s (median of bursts "
                        + "%.0f), latency p50 %.3f ms, p99 %.3f ms, max %.3f ms", connections, burst, size,
                pacedRate > 0 ? String.format(Locale.ROOT, " paced at %.0f/s", pacedRate) : "", rates.size(), overall, median,
                all.percentile(0.5) / 1e6, all.percentile(0.99) / 1e6, all.max() / 1e6);
        System.out.printf(Locale.ROOT, "RESULT mode=fanout connections=%d burst=%d bursts=%d paced=%.0f rate=%.0f "
                        + "burst_median=%.0f count=%d p50_ms=%.3f p99_ms=%.3f max_ms=%.3f missing=%d errors=%d closed=%d%n",
                connections, burst, rates.size(), pacedRate, overall, median, deliveredTotal, all.percentile(0.5) / 1e6,
                all.percentile(0.99) / 1e6, all.max() / 1e6, missing, errors, closedEarly());
        return missing == 0 && errors == 0 && rates.size() == bursts ? 0 : 1;
    }

    /**
     * Hold: reports the connections held (ready and not closed since), then keeps them idle until
     * the release file appears or --duration seconds pass, then closes them (closeAll, in main).
     */
    private static int runHold(boolean connected, double seconds) throws Exception {
        int held = 0;
        synchronized (CLIENTS) {
            for (Client c : CLIENTS) if (c.counted && c.upgraded && !c.closedEarly) held++;
        }
        System.out.printf(Locale.ROOT, "RESULT mode=hold connections=%d held=%d failures=%d connect_s=%.3f rate=%.0f%n",
                connections, held, connections - held, seconds, held / seconds);
        System.out.flush();
        if (!connected) return 1;
        long deadline = System.nanoTime() + (long) (duration * 1e9);
        java.io.File release = releaseFile == null ? null : new java.io.File(releaseFile);
        while (System.nanoTime() < deadline && (release == null || !release.exists())) Thread.sleep(100);
        int closed = closedEarly();
        if (closed > 0) log("%d connections closed by the server while held", closed);
        return closed == 0 ? 0 : 1;
    }

    /** Seconds a paced burst takes to publish; 0 for a burst published at once. */
    private static double pacedSeconds() {
        return pacedRate > 0 ? burst / pacedRate : 0;
    }

    /**
     * GET publishPath?count=K&size=S[&rate=R] on a separate plain connection; bounded by a socket
     * timeout (a server may answer only once it has published everything).
     */
    private static void trigger() throws Exception {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(host, port), 5000);
            s.setSoTimeout((int) ((burstTimeout + pacedSeconds()) * 1000));
            OutputStream out = s.getOutputStream();
            String paced = pacedRate > 0 ? String.format(Locale.ROOT, "&rate=%.3f", pacedRate) : "";
            out.write(("GET " + publishPath + "?count=" + burst + "&size=" + size + paced + " HTTP/1.1\r\nHost: " + host
                    + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = s.getInputStream();
            byte[] head = new byte[12];
            int n = 0;
            while (n < head.length) {
                int r = in.read(head, n, head.length - n);
                if (r < 0) break;
                n += r;
            }
            String status = new String(head, 0, n, StandardCharsets.US_ASCII);
            if (!status.startsWith("HTTP/1.1 200")) throw new IllegalStateException("publish trigger answered: " + status);
        }
    }

    private static long delivered() {
        long n = 0;
        for (Stats s : STATS.values()) n += s.delivered;
        return n;
    }

    private static int closedEarly() {
        int n = 0;
        synchronized (CLIENTS) {
            for (Client c : CLIENTS) if (c.closedEarly) n++;
        }
        return n;
    }

    private static void onEachLoop(EventLoopGroup group, java.util.function.Consumer<Stats> task) throws Exception {
        for (EventExecutor e : group) {
            Stats s = STATS.get(e);
            e.submit(() -> task.accept(s)).get(10, TimeUnit.SECONDS);
        }
    }

    /** WebSocket: Close frames, then waits (bounded) for the server to close; SSE: closes. */
    private static void closeAll() throws InterruptedException {
        List<Client> all;
        synchronized (CLIENTS) {
            all = new ArrayList<>(CLIENTS);
        }
        boolean ws = !sse;
        for (Client c : all) {
            Channel ch = c.ctx == null ? null : c.ctx.channel();
            if (ch == null || !ch.isActive()) continue;
            if (ws && c.upgraded) {
                ByteBuf close = WsWire.maskedFrame(ch.alloc().buffer(8), 0x8, new byte[] {0x03, (byte) 0xe8});
                ch.eventLoop().execute(() -> c.ctx.writeAndFlush(close));
            } else {
                ch.close();
            }
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        for (Client c : all) {
            Channel ch = c.ctx == null ? null : c.ctx.channel();
            if (ch == null) continue;
            long left = deadline - System.nanoTime();
            if (left > 0) ch.closeFuture().await(left, TimeUnit.NANOSECONDS);
            ch.close();
        }
    }

    // ---- one connection ------------------------------------------------------------------------------

    private static final class Client extends ChannelInboundHandlerAdapter {
        final Stats stats;
        ChannelHandlerContext ctx;
        ByteBuf cumulation;
        boolean upgraded;
        boolean subscribed;
        volatile boolean counted;
        volatile boolean closedEarly;
        long sentAt;
        int newlines; // SSE: consecutive '\n' seen (across reads)
        final ByteProcessor eventCounter = b -> {
            if (b == '\n') {
                if (++newlines == 2) countEvent();
            } else {
                newlines = 0;
            }
            return true;
        };

        Client(Stats stats) {
            this.stats = stats;
        }

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void channelActive(ChannelHandlerContext ctx) {
            ctx.writeAndFlush(Unpooled.wrappedBuffer(handshakeRequest));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (!stopping) {
                closedEarly = true;
                if (!counted) {
                    failures.incrementAndGet();
                    if (failures.get() == 1) log("connection closed before it was ready");
                    markReady();
                }
            }
            if (cumulation != null) {
                cumulation.release();
                cumulation = null;
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!stopping) stats.errors++;
            ctx.close();
        }

        private void markReady() {
            if (counted) return;
            counted = true;
            permits.release();
            ready.countDown();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ByteBuf in = (ByteBuf) msg;
            if (upgraded && sse) {
                if (stats.measuring) stats.bytes += in.readableBytes();
                in.forEachByte(eventCounter);
                in.release();
                return;
            }
            cumulation = cumulation == null ? in : ByteToMessageDecoder.MERGE_CUMULATOR.cumulate(ctx.alloc(), cumulation, in);
            try {
                if (!upgraded && !handshake()) return;
                if (sse) {
                    if (stats.measuring) stats.bytes += cumulation.readableBytes();
                    cumulation.forEachByte(eventCounter);
                    cumulation.skipBytes(cumulation.readableBytes());
                    return;
                }
                frames();
            } finally {
                if (cumulation != null) {
                    if (!cumulation.isReadable()) {
                        cumulation.release();
                        cumulation = null;
                    } else {
                        cumulation.discardSomeReadBytes();
                    }
                }
            }
        }

        /** Consumes the response head; false while incomplete. */
        private boolean handshake() {
            String head = WsWire.takeHead(cumulation);
            if (head == null) {
                if (cumulation.readableBytes() > WsWire.MAX_HEAD) fail("response head too long");
                return false;
            }
            String want = sse ? "HTTP/1.1 200" : "HTTP/1.1 101";
            if (!head.startsWith(want)) {
                fail("unexpected response: " + head.lines().findFirst().orElse(""));
                return false;
            }
            upgraded = true;
            if (mode.equals("echo") || mode.equals("sse")) markReady();
            return true;
        }

        private void fail(String why) {
            if (failures.getAndIncrement() == 0) log("%s", why);
            markReady();
            ctx.close();
        }

        private void frames() {
            if (!WsWire.readFrames(cumulation, this::frame)) fail("masked frame from the server");
        }

        private boolean frame(int opcode, ByteBuf buf, int payload, int len) {
            switch (opcode) {
                case 0x1, 0x2, 0x0 -> message(buf, payload, len);
                case 0x9 -> WsWire.pong(ctx.channel(), buf, payload, len);
                case 0x8 -> {
                    if (!stopping) {
                        stats.errors++;
                        log("server closed a connection");
                    }
                    ctx.close();
                    return false;
                }
                default -> { }
            }
            return true;
        }

        private void message(ByteBuf buf, int at, int len) {
            long now = System.nanoTime();
            Stats s = stats;
            if (mode.equals("echo")) {
                if (s.measuring) {
                    s.count++;
                    s.bytes += len;
                    s.histogram.record(now - sentAt);
                }
                if (len != size) s.errors++;
                if (!stopping) sendEcho();
                return;
            }
            // fanout, hold
            if (!subscribed) {
                subscribed = true;
                markReady();
                return;
            }
            long published = Payload.nanos(buf, at, len);
            if (published < 0) {
                s.errors++;
                return;
            }
            s.delivered++;
            if (published < s.firstPublish) s.firstPublish = published;
            s.lastReceipt = now;
            if (s.measuring) s.histogram.record(now - published);
        }

        void sendEcho() {
            sentAt = System.nanoTime();
            ctx.writeAndFlush(echoFrame.duplicate(), ctx.voidPromise());
        }

        private void countEvent() {
            newlines = 0;
            markReady(); // hold: the first event says the app subscribed
            if (stats.measuring) stats.count++;
        }
    }

    // ---- plumbing ------------------------------------------------------------------------------------

    private static void sleep(double seconds) throws InterruptedException {
        Thread.sleep((long) (seconds * 1000));
    }

    static void log(String format, Object... args) {
        System.err.println("[gen] " + String.format(Locale.ROOT, format, args));
    }

    private static void parse(String[] args) {
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (i + 1 >= args.length) usage("missing value for " + a);
            String v = args[++i];
            switch (a) {
                case "--mode" -> mode = v;
                case "--host" -> host = v;
                case "--port" -> port = Integer.parseInt(v);
                case "--path" -> path = v;
                case "--connections" -> connections = Integer.parseInt(v);
                case "--threads" -> threads = Integer.parseInt(v);
                case "--size" -> size = Integer.parseInt(v);
                case "--warmup" -> warmup = Double.parseDouble(v);
                case "--duration" -> duration = Double.parseDouble(v);
                case "--burst" -> burst = Integer.parseInt(v);
                case "--bursts" -> bursts = Integer.parseInt(v);
                case "--warmup-bursts" -> warmupBursts = Integer.parseInt(v);
                case "--publish-path" -> publishPath = v;
                case "--src" -> srcBase = v;
                case "--src-count" -> srcCount = Integer.parseInt(v);
                case "--concurrency" -> concurrency = Integer.parseInt(v);
                case "--connect-timeout" -> connectTimeout = Double.parseDouble(v);
                case "--burst-timeout" -> burstTimeout = Double.parseDouble(v);
                case "--rate" -> pacedRate = Double.parseDouble(v);
                case "--protocol" -> sse = v.equals("sse");
                case "--release-file" -> releaseFile = v;
                default -> usage("unknown option " + a);
            }
        }
        if (size < Payload.MIN_SIZE) usage("--size must be at least " + Payload.MIN_SIZE);
        if (!List.of("echo", "sse", "fanout", "hold").contains(mode)) usage("unknown mode " + mode);
        if (mode.equals("sse")) sse = true;
        if (pacedRate < 0) usage("--rate must be 0 (all at once) or more");
    }

    private static void usage(String why) {
        System.err.println(why + "\nusage: WsLoadGenerator --mode echo|sse|fanout|hold [--host H] [--port N] [--path P]"
                + " [--connections N] [--threads N] [--size BYTES] [--warmup S] [--duration S] [--burst K] [--bursts B]"
                + " [--warmup-bursts W] [--publish-path P] [--src 127.0.0.X --src-count C] [--concurrency N]"
                + " [--connect-timeout S] [--burst-timeout S] [--rate MESSAGES_PER_S] [--protocol websocket|sse]"
                + " [--release-file F]");
        System.exit(2);
    }
}

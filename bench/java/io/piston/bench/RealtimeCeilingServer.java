package io.piston.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.Utf8FrameValidator;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.netty.util.concurrent.EventExecutor;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Base64;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.locks.LockSupport;

/**
 * The ceiling for the real-time benchmarks (bench/realtime.sh): plain Netty, no Ruby, doing the
 * protocol work Piston does with the same Netty parts, and nothing Piston adds on top (callbacks
 * on worker threads, per-connection bounds and accounting, the Ruby app).
 *
 * <ul>
 *   <li>{@code GET /echo} (WebSocket): every message is written back from the IO thread that read
 *       it; flushed once per read batch.</li>
 *   <li>{@code GET /sse} (Accept: text/event-stream): a 200 text/event-stream response, then the
 *       same event ({@code data: <payload>\n\n}) as fast as the socket takes it: written while the
 *       channel is writable, up to a batch per event-loop turn, resumed when it becomes writable.</li>
 *   <li>{@code GET /sub} (WebSocket): joins the one channel and gets a {@code ready} message.</li>
 *   <li>{@code GET /publish?count=K&size=S[&rate=R]}: answers 200 at once; a publisher thread then
 *       publishes K messages of S bytes (all at once, or R per second on a fixed schedule), each
 *       starting with its {@code System.nanoTime()} (19 digits) and its sequence number. Done right: each message is encoded once into one frame buffer;
 *       each IO thread gets one task that writes a retained duplicate to each of its subscribers
 *       past the WebSocket encoder; flushes are coalesced per event-loop turn by
 *       {@link FlushConsolidationHandler}.</li>
 * </ul>
 */
public final class RealtimeCeilingServer {
    private static final String GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
    private static final int SSE_BATCH = 256;
    private static final byte[] SSE_HEAD = ("HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
            + "cache-control: no-cache\r\n\r\n").getBytes(StandardCharsets.US_ASCII);

    private static int size = 64;
    private static ByteBuf sseEvent;
    private static EventLoopGroup workers;
    /** Subscribers per IO thread; each list is only touched on its own event loop. */
    private static final Map<EventExecutor, List<Subscriber>> SUBSCRIBERS = new IdentityHashMap<>();
    private static final ExecutorService PUBLISHER =
            Executors.newSingleThreadExecutor(new DefaultThreadFactory("ceiling-publisher", true));

    public static void main(String[] args) throws Exception {
        String bind = "127.0.0.1";
        int port = 9393;
        int threads = Runtime.getRuntime().availableProcessors();
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--bind" -> bind = args[++i];
                case "--port" -> port = Integer.parseInt(args[++i]);
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--size" -> size = Integer.parseInt(args[++i]);
                default -> {
                    System.err.println("usage: RealtimeCeilingServer [--bind ADDR] [--port N] [--threads N] [--size BYTES]");
                    System.exit(2);
                }
            }
        }
        byte[] payload = Payload.filler(size);
        ByteBuf event = Unpooled.directBuffer(size + 8);
        event.writeBytes("data: ".getBytes(StandardCharsets.US_ASCII)).writeBytes(payload).writeBytes(new byte[] {'\n', '\n'});
        sseEvent = Unpooled.unreleasableBuffer(event);

        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        Class<? extends ServerSocketChannel> channel = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        EventLoopGroup accept = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("ceiling-accept"), io);
        workers = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("ceiling-io"), io);
        for (EventExecutor e : workers) SUBSCRIBERS.put(e, new ArrayList<>());
        try {
            ServerBootstrap b = new ServerBootstrap()
                    .group(accept, workers)
                    .channel(channel)
                    .option(ChannelOption.SO_BACKLOG, 1024)
                    .option(ChannelOption.SO_REUSEADDR, true)
                    .childOption(ChannelOption.TCP_NODELAY, true)
                    .childOption(ChannelOption.ALLOCATOR, PooledByteBufAllocator.DEFAULT)
                    .childHandler(new ChannelInitializer<SocketChannel>() {
                        @Override
                        protected void initChannel(SocketChannel ch) {
                            ch.pipeline().addLast("http", new HttpServerCodec());
                            ch.pipeline().addLast("route", new Router());
                        }
                    });
            var ch = b.bind(new InetSocketAddress(bind, port)).sync().channel();
            System.out.println("RealtimeCeilingServer (" + (epoll ? "epoll" : "nio") + ", " + threads
                    + " IO threads) Listening on http://" + bind + ":" + port);
            ch.closeFuture().sync();
        } finally {
            accept.shutdownGracefully();
            workers.shutdownGracefully();
        }
    }

    /** The HTTP side: routes a request, on its LastHttpContent, to an upgrade or the publish trigger. */
    private static final class Router extends ChannelInboundHandlerAdapter {
        private HttpRequest request;

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (msg instanceof HttpRequest r) request = r;
                if (!(msg instanceof LastHttpContent) || request == null) return;
                HttpRequest r = request;
                request = null;
                QueryStringDecoder q = new QueryStringDecoder(r.uri());
                String path = q.path();
                boolean ws = r.headers().containsValue(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET, true);
                if (ws && (path.equals("/echo") || path.equals("/sub"))) {
                    upgrade(ctx, r, path.equals("/echo") ? new Echo() : new Subscriber());
                } else if (path.equals("/sse")) {
                    ChannelPipeline p = ctx.pipeline();
                    p.remove("http");
                    ctx.writeAndFlush(Unpooled.wrappedBuffer(SSE_HEAD));
                    p.replace(this, "sse", new SseStream());
                } else if (path.equals("/publish")) {
                    int count = Integer.parseInt(param(q, "count", "1"));
                    int bytes = Integer.parseInt(param(q, "size", Integer.toString(size)));
                    double rate = Double.parseDouble(param(q, "rate", "0"));
                    PUBLISHER.execute(() -> publish(count, bytes, rate));
                    respond(ctx, HttpResponseStatus.OK, "published " + count + "\n");
                } else {
                    respond(ctx, HttpResponseStatus.NOT_FOUND, "not found\n");
                }
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        private static String param(QueryStringDecoder q, String name, String dflt) {
            List<String> v = q.parameters().get(name);
            return v == null || v.isEmpty() ? dflt : v.get(0);
        }

        private static void respond(ChannelHandlerContext ctx, HttpResponseStatus status, String body) {
            var res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                    Unpooled.copiedBuffer(body, StandardCharsets.US_ASCII));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.TEXT_PLAIN)
                    .setInt(HttpHeaderNames.CONTENT_LENGTH, res.content().readableBytes());
            ctx.writeAndFlush(res);
        }

        /** 101, then the same WebSocket pipeline Piston builds (no deflate: the generator does not offer it). */
        private void upgrade(ChannelHandlerContext ctx, HttpRequest r, ChannelInboundHandlerAdapter handler) {
            var res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS,
                    Unpooled.EMPTY_BUFFER);
            res.headers().set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET)
                    .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE)
                    .set(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT, acceptKey(r.headers().get(HttpHeaderNames.SEC_WEBSOCKET_KEY)));
            ctx.writeAndFlush(res);
            ChannelPipeline p = ctx.pipeline();
            p.remove("http");
            WebSocketDecoderConfig config = WebSocketDecoderConfig.newBuilder()
                    .maxFramePayloadLength(1024 * 1024).expectMaskedFrames(true).allowMaskMismatch(false)
                    .allowExtensions(false).closeOnProtocolViolation(true).build();
            p.addBefore("route", "ws-flush", new FlushConsolidationHandler(256, true));
            p.addBefore("route", "ws-encoder", new WebSocket13FrameEncoder(false));
            p.addBefore("route", "ws-decoder", new WebSocket13FrameDecoder(config));
            p.addBefore("route", "ws-utf8", new Utf8FrameValidator(true));
            p.replace(this, "ws", handler);
        }
    }

    static String acceptKey(String key) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-1").digest((key.trim() + GUID).getBytes(StandardCharsets.US_ASCII));
            return Base64.getEncoder().encodeToString(d);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    /** Pings, pongs and the closing handshake, common to both WebSocket handlers. */
    private abstract static class WsHandler extends ChannelInboundHandlerAdapter {
        /** False when the frame was handled here (control frames). */
        boolean control(ChannelHandlerContext ctx, Object msg) {
            if (msg instanceof PingWebSocketFrame ping) {
                ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
                return true;
            }
            if (msg instanceof CloseWebSocketFrame close) {
                ctx.writeAndFlush(close).addListener(ChannelFutureListener.CLOSE);
                return true;
            }
            if (msg instanceof PongWebSocketFrame) {
                ReferenceCountUtil.release(msg);
                return true;
            }
            return false;
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Writes each message back as it is read; one flush per read batch. */
    private static final class Echo extends WsHandler {
        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (control(ctx, msg)) return;
            if (msg instanceof TextWebSocketFrame || msg instanceof BinaryWebSocketFrame) ctx.write(msg, ctx.voidPromise());
            else ReferenceCountUtil.release(msg);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush();
        }
    }

    /** A subscriber of the one channel; registered with its IO thread's list while open. */
    private static final class Subscriber extends WsHandler {
        private ChannelHandlerContext encoder;
        private int index = -1;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            encoder = ctx.pipeline().context("ws-encoder");
            List<Subscriber> list = SUBSCRIBERS.get(ctx.executor());
            index = list.size();
            list.add(this);
            ctx.writeAndFlush(new TextWebSocketFrame("ready"));
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            if (index >= 0) {
                List<Subscriber> list = SUBSCRIBERS.get(ctx.executor());
                Subscriber last = list.remove(list.size() - 1);
                if (last != this) {
                    list.set(index, last);
                    last.index = index;
                }
                index = -1;
            }
            ctx.fireChannelInactive();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!control(ctx, msg)) ReferenceCountUtil.release(msg);
        }
    }

    /**
     * Publisher thread: K messages, each encoded once and handed to every IO thread in one task;
     * with a rate, message i leaves at start + i / rate (a late one does not delay the schedule).
     */
    private static void publish(int count, int bytes, double rate) {
        byte[] data = new byte[bytes];
        long start = System.nanoTime();
        for (int seq = 0; seq < count; seq++) {
            if (rate > 0) {
                long wait;
                while ((wait = start + (long) (seq * 1e9 / rate) - System.nanoTime()) > 0) LockSupport.parkNanos(wait);
            }
            Payload.stamp(data, System.nanoTime(), seq);
            ByteBuf frame = ByteBufAllocator.DEFAULT.directBuffer(bytes + 4);
            frame.writeByte(0x81);
            if (bytes < 126) {
                frame.writeByte(bytes);
            } else {
                frame.writeByte(126).writeShort(bytes);
            }
            frame.writeBytes(data);
            for (EventExecutor e : workers) {
                EventLoop loop = (EventLoop) e;
                frame.retain();
                loop.execute(() -> {
                    try {
                        List<Subscriber> list = SUBSCRIBERS.get(loop);
                        for (int i = 0, n = list.size(); i < n; i++) {
                            list.get(i).encoder.write(frame.retainedDuplicate(), list.get(i).encoder.voidPromise());
                        }
                        for (int i = 0, n = list.size(); i < n; i++) list.get(i).encoder.flush();
                    } finally {
                        frame.release();
                    }
                });
            }
            frame.release();
        }
    }

    /** Streams the same event while the socket takes it, a batch per event-loop turn. */
    private static final class SseStream extends ChannelInboundHandlerAdapter {
        private ChannelHandlerContext ctx;
        private boolean scheduled;
        private final Runnable pump = this::pump;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            this.ctx = ctx;
            schedule();
        }

        private void schedule() {
            if (scheduled) return;
            scheduled = true;
            ctx.executor().execute(pump);
        }

        private void pump() {
            scheduled = false;
            if (!ctx.channel().isActive()) return;
            for (int i = 0; i < SSE_BATCH && ctx.channel().isWritable(); i++) {
                ctx.write(sseEvent.duplicate(), ctx.voidPromise());
            }
            ctx.flush();
            if (ctx.channel().isWritable()) schedule();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable()) schedule();
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            ReferenceCountUtil.release(msg);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}

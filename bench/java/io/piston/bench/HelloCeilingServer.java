package io.piston.bench;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.PooledByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
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
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.ReadOnlyHttpHeaders;
import io.netty.util.AsciiString;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.piston.http.ResponseHead;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * The ceiling for the HTTP benchmark: plain Netty answering every request with "Hello World!",
 * no Ruby, no worker hand-off. One accept thread; the IO threads (default: one per core) parse,
 * answer and write each request on the event loop that read it, flushing once per read batch.
 */
public final class HelloCeilingServer {
    // The body, encoded once; every response copies it behind its head, as Piston does.
    private static final ByteBuf BODY = Unpooled.unreleasableBuffer(
            Unpooled.directBuffer(12).writeBytes("Hello World!".getBytes(StandardCharsets.US_ASCII)));

    // Header names as bench/hello.ru spells them, and the values, so both servers send the same bytes.
    private static final AsciiString CONTENT_TYPE = AsciiString.cached("Content-Type");
    private static final AsciiString CONTENT_LENGTH = AsciiString.cached("Content-Length");
    private static final byte[] TEXT_HTML = ascii("text/html");
    private static final byte[] TWELVE = ascii("12");
    private static final byte[] KEEP_ALIVE = ascii("keep-alive");
    private static final HttpHeaders NO_TRAILERS = new ReadOnlyHttpHeaders(false);

    /** One per connection: remembers the current request's version and keep-alive decision. */
    private static final class HelloHandler extends ChannelInboundHandlerAdapter {
        private boolean keepAlive = true;
        private boolean head;
        private boolean closing;
        private HttpVersion version = HttpVersion.HTTP_1_1;
        /** Where responses enter the pipeline: past the response encoder, which only the 400 needs. */
        private ChannelHandlerContext belowEncoder;

        @Override
        public void handlerAdded(ChannelHandlerContext ctx) {
            belowEncoder = ctx.pipeline().context(HttpResponseEncoder.class);
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            try {
                if (closing) return; // pipelined requests after a "Connection: close" one are dropped
                if (msg instanceof HttpObject && ((HttpObject) msg).decoderResult().isFailure()) {
                    badRequest(ctx);
                    return;
                }
                if (msg instanceof HttpRequest) {
                    HttpRequest req = (HttpRequest) msg;
                    keepAlive = HttpUtil.isKeepAlive(req);
                    head = HttpMethod.HEAD.equals(req.method());
                    version = req.protocolVersion();
                }
                // A request without a body arrives as HttpRequest + EMPTY_LAST_CONTENT: answer on the last part.
                if (msg instanceof LastHttpContent) respond(ctx);
            } finally {
                ReferenceCountUtil.release(msg);
            }
        }

        /** Writes each response head per request with Piston's ResponseHead, the way Piston answers hello.ru. */
        private void respond(ChannelHandlerContext ctx) {
            ResponseHead response = new ResponseHead(200);
            response.add(CONTENT_TYPE, TEXT_HTML, 0, TEXT_HTML.length);
            response.add(CONTENT_LENGTH, TWELVE, 0, TWELVE.length);
            if (!keepAlive) response.addConnectionClose();
            else if (version == HttpVersion.HTTP_1_0) response.add(HttpHeaderNames.CONNECTION, KEEP_ALIVE, 0, KEEP_ALIVE.length);
            ByteBuf res = response.finish(ctx.alloc(), head ? Unpooled.EMPTY_BUFFER : BODY.duplicate());
            if (keepAlive) {
                belowEncoder.write(res, belowEncoder.voidPromise()); // flushed in channelReadComplete
            } else {
                closing = true;
                belowEncoder.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            }
        }

        private void badRequest(ChannelHandlerContext ctx) {
            closing = true;
            HttpHeaders h = new ReadOnlyHttpHeaders(false,
                    HttpHeaderNames.CONTENT_LENGTH, HttpHeaderValues.ZERO, HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.BAD_REQUEST,
                    Unpooled.EMPTY_BUFFER, h, NO_TRAILERS)).addListener(ChannelFutureListener.CLOSE);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            ctx.flush(); // one syscall for all responses to a pipelined/batched read
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close(); // peer resets are routine under load; nothing to report
        }
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    public static void main(String[] args) throws InterruptedException {
        String bind = "127.0.0.1";
        int port = 8080;
        int threads = Runtime.getRuntime().availableProcessors();
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            String v = i + 1 < args.length ? args[i + 1] : null;
            if (v == null && !a.equals("-h") && !a.equals("--help")) usage("missing value for " + a);
            switch (a) {
                case "--port": case "-p": port = Integer.parseInt(v); i++; break;
                case "--bind": case "-b": bind = v; i++; break;
                case "--threads": case "-t": threads = Integer.parseInt(v); i++; break;
                case "-h": case "--help": usage(null); break;
                default: usage("unknown option " + a);
            }
        }

        boolean epoll = Epoll.isAvailable();
        IoHandlerFactory io = epoll ? EpollIoHandler.newFactory() : NioIoHandler.newFactory();
        Class<? extends ServerSocketChannel> channel = epoll ? EpollServerSocketChannel.class : NioServerSocketChannel.class;
        EventLoopGroup accept = new MultiThreadIoEventLoopGroup(1, new DefaultThreadFactory("ceiling-accept"), io);
        EventLoopGroup workers = new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory("ceiling-io"), io);
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
                            // Netty's default decoder settings; header validation is on, as in the Piston core.
                            ch.pipeline().addLast(new HttpRequestDecoder(), new HttpResponseEncoder(), new HelloHandler());
                        }
                    });
            Channel server = b.bind(new InetSocketAddress(bind, port)).sync().channel();
            InetSocketAddress local = (InetSocketAddress) server.localAddress();
            System.out.println("Listening on http://" + local.getAddress().getHostAddress() + ":" + local.getPort()
                    + " (" + (epoll ? "epoll" : "nio") + ", " + threads + " IO threads)");
            System.out.flush();
            server.closeFuture().sync();
        } finally {
            accept.shutdownGracefully();
            workers.shutdownGracefully();
        }
    }

    private static void usage(String error) {
        if (error != null) System.err.println("HelloCeilingServer: " + error);
        System.err.println("usage: HelloCeilingServer [--port N] [--bind ADDR] [--threads N]");
        System.exit(error == null ? 0 : 2);
    }
}

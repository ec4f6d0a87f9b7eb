package io.piston.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.epoll.EpollDomainSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.channel.unix.FileDescriptor;
import io.netty.channel.uring.IoUringDomainSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.util.ReferenceCountUtil;
import io.piston.log.Log;
import java.io.IOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;

/**
 * Relays a hijacked connection to the server's end of a UNIX socket pair, so that the app holds
 * a real socket (the other end) instead of an IO-like object. Both channels run on the
 * connection's IO thread; bytes are copied between them as they arrive, never buffered beyond
 * the write-buffer watermarks: a side whose peer cannot take more stops reading until it can.
 * End of input on one side shuts the other side's output down (after what was in flight), and
 * the pair closes when both directions ended or either side closed or failed.
 */
public final class SocketBridge {
    private SocketBridge() {}

    /** True when {@code channel} can be relayed to a UNIX socket (the native transports: epoll, io_uring). */
    public static boolean supports(Channel channel) {
        return channel instanceof EpollSocketChannel || channel instanceof IoUringSocketChannel;
    }

    /**
     * Worker thread: the server's end of the pair as a channel of {@code client}'s transport on
     * its IO thread, registered but not reading yet (nothing could take what it read before
     * {@link #start}). {@code fd} must be non-blocking and owned by the caller until this
     * returns; on failure it is closed.
     */
    static Channel appChannel(Channel client, int fd) {
        Channel app;
        try {
            app = client instanceof IoUringSocketChannel ? ioUringDomainChannel(fd) : new EpollDomainSocketChannel(fd);
        } catch (RuntimeException | Error e) {
            try {
                new FileDescriptor(fd).close();
            } catch (IOException ignored) {
                // already gone
            }
            throw e;
        }
        app.config().setAutoRead(false);
        app.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        ChannelFuture registered = client.eventLoop().register(app).awaitUninterruptibly();
        if (!registered.isSuccess()) {
            app.close();
            throw new IllegalStateException("could not register the app's socket", registered.cause());
        }
        return app;
    }

    /**
     * io_uring's domain socket channel has no public constructor taking an fd (epoll's has): its
     * package-private one, which does the same, is called. If a Netty upgrade removes it, this
     * throws and the app gets a Piston::HijackedIO instead of a socket (AppSocket says so once).
     */
    private static Channel ioUringDomainChannel(int fd) {
        try {
            Constructor<IoUringDomainSocketChannel> wrap =
                    IoUringDomainSocketChannel.class.getDeclaredConstructor(Channel.class, FileDescriptor.class);
            wrap.setAccessible(true);
            return wrap.newInstance(null, new FileDescriptor(fd));
        } catch (InvocationTargetException e) {
            throw new IllegalStateException("io_uring cannot wrap a UNIX socket", e.getCause());
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new IllegalStateException("io_uring cannot wrap a UNIX socket", e);
        }
    }

    /**
     * IO thread of {@code client}, in one step, so that no read of the client's comes in between:
     * the client's end of stream becomes a half-close to relay (before this step it closes the
     * connection: the HTTP decoder must never see a half-close, on which it drops the bytes it
     * holds), a relay goes at the end of both pipelines, {@code ready} runs (the HTTP handler
     * removes the codec, whose leftover bytes flow to the app first), and both sides start reading.
     */
    static void start(Channel client, Channel app, Runnable ready) {
        client.config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        link(client, app);
        ready.run();
        if (client.isActive()) {
            client.config().setAutoRead(true);
        } else {
            app.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        }
        app.config().setAutoRead(true);
    }

    /** Puts a relay at the end of each channel's pipeline, forwarding to the other. */
    static void link(Channel a, Channel b) {
        a.pipeline().addLast("bridge", new Relay(b));
        b.pipeline().addLast("bridge", new Relay(a));
    }

    /**
     * Sits on one channel and writes what it reads to {@code peer}. Also owns this channel's
     * writability (resuming the peer's reads) and the end of its input (shutting the peer's
     * output down).
     */
    static final class Relay extends ChannelInboundHandlerAdapter {
        private final Channel peer;
        private boolean unflushed;

        Relay(Channel peer) {
            this.peer = peer;
        }

        @Override
        public void channelRead(ChannelHandlerContext ctx, Object msg) {
            if (!(msg instanceof ByteBuf data) || !peer.isActive() || outputShut(peer)) {
                ReferenceCountUtil.release(msg);
                return;
            }
            if (!data.isReadable()) {
                data.release();
                return;
            }
            Channel self = ctx.channel();
            peer.write(data).addListener((ChannelFuture f) -> {
                if (!f.isSuccess()) closeBoth(self, peer);
            });
            unflushed = true;
            if (!peer.isWritable()) self.config().setAutoRead(false);
        }

        @Override
        public void channelReadComplete(ChannelHandlerContext ctx) {
            flush();
            ctx.fireChannelReadComplete();
        }

        @Override
        public void channelWritabilityChanged(ChannelHandlerContext ctx) {
            if (ctx.channel().isWritable() && peer.isActive() && !inputShut(peer)) peer.config().setAutoRead(true);
            ctx.fireChannelWritabilityChanged();
        }

        @Override
        public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
            if (evt instanceof ChannelInputShutdownEvent) {
                Channel self = ctx.channel();
                flush();
                // After what is in flight: the peer's reader sees end of stream, can still write.
                peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener((ChannelFuture f) -> {
                    if (!f.isSuccess() || !(peer instanceof DuplexChannel d)) {
                        closeBoth(self, peer);
                        return;
                    }
                    d.shutdownOutput().addListener((ChannelFuture s) -> {
                        // Both directions ended (the other relay shut ours down after its last byte).
                        if (!s.isSuccess() || !peer.isActive() || (inputShut(peer) && outputShut(self))) {
                            closeBoth(self, peer);
                        }
                    });
                });
            }
            ctx.fireUserEventTriggered(evt);
        }

        @Override
        public void channelInactive(ChannelHandlerContext ctx) {
            flush();
            if (peer.isOpen()) peer.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            ctx.fireChannelInactive();
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            if (!(cause instanceof IOException)) Log.error("hijacked connection failed", cause);
            ctx.close();
        }

        private void flush() {
            if (!unflushed) return;
            unflushed = false;
            peer.flush();
        }

        private static boolean inputShut(Channel ch) {
            return ch instanceof DuplexChannel d && d.isInputShutdown();
        }

        private static boolean outputShut(Channel ch) {
            return ch instanceof DuplexChannel d && d.isOutputShutdown();
        }

        private static void closeBoth(Channel a, Channel b) {
            a.close();
            b.close();
        }
    }
}

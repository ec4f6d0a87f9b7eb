package io.piston.upgrade;

import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.ReferenceCountUtil;
import io.piston.log.Log;
import io.piston.pubsub.WireFormat;
import java.io.IOException;
import java.util.Set;
import java.util.concurrent.Executor;

/**
 * An EventSource (SSE) connection: a 200 text/event-stream response whose body is the events the
 * app writes, delimited by the connection's end (no length, no chunking, no compression). Bytes
 * the client sends are discarded; an idle stream gets a {@code : ping} comment each interval.
 * Netty methods run on the channel's IO thread; {@link #handshake} on the worker that accepted it.
 */
public final class SseConnection extends UpgradedConnection {
    SseConnection(Channel channel, Executor workers, UpgradeConfig config, UpgradeHandler handler, Set<UpgradedConnection> live) {
        super(channel, workers, config, handler, live);
    }

    @Override
    public Protocol protocol() {
        return Protocol.SSE;
    }

    @Override
    public WireFormat wireFormat() {
        return SseEvents.PUBLISHED;
    }

    @Override
    HttpResponse handshake(HttpRequest request, HttpHeaders headers) {
        headers.remove(HttpHeaderNames.CONTENT_LENGTH);
        headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
        headers.remove(HttpHeaderNames.CONTENT_ENCODING);
        headers.set(HttpHeaderNames.CONTENT_TYPE, "text/event-stream");
        if (!headers.contains(HttpHeaderNames.CACHE_CONTROL)) headers.set(HttpHeaderNames.CACHE_CONTROL, "no-cache");
        return new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK, headers);
    }

    @Override
    void addHandlers(ChannelPipeline p) {
        p.addLast("sse-flush", new FlushConsolidationHandler(256, true));
        p.addLast("sse", this);
    }

    @Override
    Object encode(byte[] data, int offset, int length, boolean binary) {
        return SseEvents.data(channel.alloc(), data, offset, length);
    }

    @Override
    int frameSize(byte[] data, int offset, int length, boolean binary) {
        return SseEvents.dataSize(data, offset, length);
    }

    @Override
    void frameInto(byte[] out, int at, byte[] data, int offset, int length, boolean binary, int size) {
        SseEvents.dataInto(out, at, data, offset, length, size);
    }

    /** Any thread: an event with a name, id or retry; any of them may be null. */
    public boolean sendEvent(String event, String id, String retry, byte[] data, int offset, int length) {
        if (!isOpen()) return false;
        return send(SseEvents.event(channel.alloc(), event, id, retry, data, offset, length));
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastReadNanos = System.nanoTime();
        ReferenceCountUtil.release(msg);
    }

    @Override
    void closeGracefully(int code) {
        closeSent = true;
        ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    void idle(long interval) {
        if (System.nanoTime() - lastWriteNanos < interval || !isOpen()) return;
        lastWriteNanos = System.nanoTime();
        if (roomFor(SseEvents.PING.length)) ctx.writeAndFlush(Unpooled.wrappedBuffer(SseEvents.PING), ctx.voidPromise());
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) Log.error("SSE " + ctx.channel().remoteAddress() + " failed", cause);
        ctx.close();
    }
}

package io.piston.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.DefaultFileRegion;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.LastHttpContent;
import io.piston.log.Log;
import java.io.File;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * One request and its response. Created on the IO thread when a request is complete; the
 * response methods run on the worker thread that serves it and hand each write to the IO thread.
 * Streaming writes block the worker while the client is not reading (backpressure), up to the
 * write timeout, so a slow client never makes the server buffer a large body.
 */
public final class HttpExchange {
    /** Where a response stands; moves forward only. */
    private enum Stage { NEW, STREAMING, DONE }

    private final ChannelHandlerContext ctx;
    private final HttpRequestHandler handler;
    private final HttpRequest request;
    private final RequestBody body;
    private final long startNanos = System.nanoTime();
    private final long writeTimeoutNanos;
    private final Object writability = new Object();
    private volatile boolean clientGone;
    private Stage stage = Stage.NEW;
    private boolean keepAlive;
    private boolean chunked;
    /** The head went out with {@link #beginRaw}: the app writes the body itself (and may hijack). */
    private boolean raw;
    private int status;
    private long bytesSent;
    /** A streamed response's Content-Length, which its body may not pass; -1 for none. */
    private long declaredLength = -1;
    private boolean lengthMismatchLogged;
    private List<Runnable> onFinished;

    HttpExchange(ChannelHandlerContext ctx, HttpRequestHandler handler, HttpRequest request, RequestBody body,
                 long writeTimeoutNanos) {
        this.ctx = ctx;
        this.handler = handler;
        this.request = request;
        this.body = body;
        this.writeTimeoutNanos = writeTimeoutNanos;
    }

    public HttpRequest request() { return request; }
    public RequestBody body() { return body; }
    public Channel channel() { return ctx.channel(); }
    /** The client's address, or null on a channel that has none (tests). */
    public InetSocketAddress remoteAddress() {
        return ctx.channel().remoteAddress() instanceof InetSocketAddress a ? a : null;
    }

    public InetSocketAddress localAddress() {
        return ctx.channel().localAddress() instanceof InetSocketAddress a ? a : null;
    }
    public boolean isHead() { return request.method() == HttpMethod.HEAD; }
    public boolean isStarted() { return stage != Stage.NEW; }
    public int status() { return status; }
    public long bytesSent() { return bytesSent; }
    public long startNanos() { return startNanos; }

    /**
     * Per-connection slot for the layer above (the Rack side keeps REMOTE_ADDR here). Only the
     * worker serving the connection's current request touches it, and a connection's requests
     * are served one after another, each handed over through the IO thread.
     */
    public Object connectionAttachment() { return handler.connectionAttachment; }
    public void attachToConnection(Object value) { handler.connectionAttachment = value; }

    /** Runs after the response is complete or abandoned (rack.response_finished). Worker thread. */
    public void onFinished(Runnable callback) {
        if (onFinished == null) onFinished = new ArrayList<>(2);
        onFinished.add(callback);
    }

    /** Sends a whole response at once; {@code content} is released by this call. */
    public void respond(int statusCode, HttpHeaders headers, ByteBuf content) {
        respond(statusCode, headers, content, headers.contains(HttpHeaderNames.CONTENT_LENGTH));
    }

    /** As {@link #respond(int, HttpHeaders, ByteBuf)}, for a caller that knows whether {@code headers} has a Content-Length. */
    public void respond(int statusCode, HttpHeaders headers, ByteBuf content, boolean hasContentLength) {
        checkStage(Stage.NEW);
        status = statusCode;
        HttpResponseStatus st = HttpResponseStatus.valueOf(statusCode);
        boolean bodyless = bodyless(statusCode);
        if (bodyless) {
            headers.remove(HttpHeaderNames.CONTENT_LENGTH);
            headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
        } else if (!hasContentLength) {
            headers.setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        } else if (!isHead()) {
            content = holdToDeclaredLength(headers, content);
        }
        decideKeepAlive(headers);
        ByteBuf payload = content;
        if (bodyless || isHead()) {
            content.release();
            payload = Unpooled.EMPTY_BUFFER;
        }
        bytesSent = payload.readableBytes();
        DefaultFullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, st, payload, headers,
                HttpHeaders.EMPTY_HEADERS);
        stage = Stage.DONE;
        ctx.channel().eventLoop().execute(() -> {
            // No future to wait on: a failed write reaches the handler's exceptionCaught, which closes.
            ctx.writeAndFlush(response, ctx.voidPromise());
            handler.exchangeDone(this, keepAlive);
        });
        finished();
    }

    /**
     * A whole body checked against the app's Content-Length: one that is not a single plain
     * number becomes the body's length; a body longer than declared is cut to it, and on any
     * mismatch the connection closes after this response.
     */
    private ByteBuf holdToDeclaredLength(HttpHeaders headers, ByteBuf content) {
        long declared = ContentLength.declared(this, headers);
        if (declared < 0) {
            headers.setInt(HttpHeaderNames.CONTENT_LENGTH, content.readableBytes());
        } else if (declared != content.readableBytes()) {
            ContentLength.logMismatch(this, declared, content.readableBytes());
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            return ContentLength.cut(content, declared);
        }
        return content;
    }

    /**
     * Whether this request can be answered with {@link #respond(ResponseHead, ByteBuf)}: an
     * HTTP/1.1 request other than HEAD, and a status that has a body. The others need the
     * general path, which rewrites headers.
     */
    public boolean takesReadyMade(int statusCode) {
        return stage == Stage.NEW && !isHead() && !bodyless(statusCode) && statusCode != 205
                && request.protocolVersion().equals(HttpVersion.HTTP_1_1);
    }

    /**
     * Sends a whole response whose head the worker wrote ({@link #takesReadyMade} said yes, and
     * the head has no Connection or Transfer-Encoding header). Adds the Content-Length when the
     * head has none, and "Connection: close" when the connection ends with this response. The IO
     * thread only writes the bytes. {@code content} is released by this call.
     */
    public void respond(ResponseHead head, ByteBuf content) {
        checkStage(Stage.NEW);
        if (!takesReadyMade(head.status()) || head.needsGeneralPath()) {
            content.release();
            throw new IllegalArgumentException("a ready-made response cannot answer this request or carry these headers");
        }
        status = head.status();
        keepAlive = handler.mayKeepAlive(request);
        long declared = head.declaredLength();
        if (declared >= 0 && declared != content.readableBytes()) {
            ContentLength.logMismatch(this, declared, content.readableBytes());
            content = ContentLength.cut(content, declared);
            keepAlive = false;
        }
        bytesSent = content.readableBytes();
        if (!head.hasContentLength()) head.addContentLength(bytesSent);
        if (!keepAlive) head.addConnectionClose();
        ByteBuf response = head.finish(ctx.alloc(), content);
        stage = Stage.DONE;
        ctx.channel().eventLoop().execute(() -> {
            handler.writeReadyMade(response);
            handler.exchangeDone(this, keepAlive);
        });
        finished();
    }

    /**
     * Starts a streamed response. Without a Content-Length it is chunked (HTTP/1.1) or ends with
     * the connection (HTTP/1.0). Headers go out at once, so a client sees the stream begin.
     */
    public void begin(int statusCode, HttpHeaders headers) {
        checkStage(Stage.NEW);
        status = statusCode;
        boolean bodyless = bodyless(statusCode) || isHead();
        if (bodyless(statusCode)) headers.remove(HttpHeaderNames.CONTENT_LENGTH);
        if (!bodyless && headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            declaredLength = ContentLength.declared(this, headers);
            if (declaredLength < 0) headers.remove(HttpHeaderNames.CONTENT_LENGTH);
        }
        if (!bodyless && !headers.contains(HttpHeaderNames.CONTENT_LENGTH)) {
            if (request.protocolVersion().equals(HttpVersion.HTTP_1_1)) {
                headers.set(HttpHeaderNames.TRANSFER_ENCODING, HttpHeaderValues.CHUNKED);
                chunked = true;
            } else {
                headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
            }
        }
        decideKeepAlive(headers);
        stage = Stage.STREAMING;
        DefaultHttpResponse response = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(statusCode), headers);
        ctx.channel().writeAndFlush(response, ctx.channel().voidPromise());
    }

    /**
     * Starts a response whose body the app writes raw on the connection (partial hijack, rack 3
     * streaming bodies): no chunked framing, and the connection closes when the app is done.
     */
    public void beginRaw(int statusCode, HttpHeaders headers) {
        checkStage(Stage.NEW);
        status = statusCode;
        headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        keepAlive = false;
        raw = true;
        stage = Stage.STREAMING;
        ctx.channel().writeAndFlush(new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(statusCode), headers),
                ctx.channel().voidPromise());
    }

    /** Writes one piece of a streamed body, waiting while the client is not reading. Releases {@code chunk}. */
    public void write(ByteBuf chunk) {
        checkStage(Stage.STREAMING);
        if (clientGone) {
            chunk.release();
            throw new ClientGoneException("client closed the connection");
        }
        int n = chunk.readableBytes();
        if (declaredLength >= 0 && n > declaredLength - bytesSent) {
            lengthMismatch(bytesSent + n);
            n = (int) (declaredLength - bytesSent);
            chunk.writerIndex(chunk.readerIndex() + n);
        }
        if (n == 0 || isHead() || bodyless(status)) {
            chunk.release();
            return;
        }
        bytesSent += n;
        ctx.channel().writeAndFlush(new DefaultHttpContent(chunk), ctx.channel().voidPromise());
        awaitWritable();
    }

    /** Sends {@code length} bytes of a file as the body, zero-copy where the transport allows. */
    public void sendFile(File file, long offset, long length) {
        checkStage(Stage.STREAMING);
        if (isHead() || bodyless(status) || length == 0) return;
        if (declaredLength >= 0 && length > declaredLength - bytesSent) {
            lengthMismatch(bytesSent + length);
            length = declaredLength - bytesSent;
            if (length == 0) return;
        }
        bytesSent += length;
        ctx.channel().write(new DefaultFileRegion(file, offset, length));
        awaitWritable();
    }

    /** Ends a streamed response. */
    public void end() {
        if (stage == Stage.DONE) return;
        checkStage(Stage.STREAMING);
        stage = Stage.DONE;
        if (clientGone) {
            finished();
            return;
        }
        if (declaredLength >= 0 && bytesSent != declaredLength) lengthMismatch(bytesSent);
        LastHttpContent last = LastHttpContent.EMPTY_LAST_CONTENT;
        boolean keep = keepAlive;
        ctx.channel().eventLoop().execute(() -> {
            ctx.writeAndFlush(last, ctx.voidPromise());
            handler.exchangeDone(this, keep);
        });
        finished();
    }

    /**
     * The app failed. Before anything was sent that is a plain 500; after, the response cannot be
     * repaired and the connection is closed so the client sees it as cut short.
     */
    public void fail() {
        if (stage == Stage.NEW) {
            HttpHeaders headers = ErrorResponses.textHeaders();
            respond(500, headers, ErrorResponses.body(ctx.alloc(), 500));
        } else if (stage == Stage.STREAMING) {
            stage = Stage.DONE;
            ctx.channel().eventLoop().execute(() -> {
                handler.exchangeDone(this, false);
                ctx.channel().close();
            });
            finished();
        }
    }

    /**
     * Takes the connection away from HTTP (rack.hijack): before any response (full hijack), or
     * after {@link #beginRaw} sent the head (partial hijack). No more is written by the server;
     * the stream returned reads and writes raw bytes. Worker thread.
     */
    public HijackedStream hijack() {
        checkCanHijack();
        HijackedStream raw = new HijackedStream(ctx.channel());
        leaveHttp(handler -> handler.hijacked(this, raw));
        return raw;
    }

    /** True when a hijack can hand the app a real socket ({@link #hijackToSocket}). */
    public boolean canHijackToSocket() {
        return SocketBridge.supports(ctx.channel());
    }

    /**
     * Hijack onto a real socket, full or partial as {@link #hijack}: {@code fd} is the server's end
     * of a UNIX socket pair (non-blocking, owned by this call from now on) whose other end the app
     * holds. The IO thread relays the connection's raw bytes both ways, bytes the HTTP codec
     * already read first. Throws (with {@code fd} closed and the exchange untouched) if {@code fd}
     * cannot become a channel. Worker thread.
     */
    public void hijackToSocket(int fd) {
        checkCanHijack();
        Channel app = SocketBridge.domainChannel(ctx.channel(), fd);
        // From now on a client's end of stream is a half-close the app must see, not a close.
        ctx.channel().config().setOption(ChannelOption.ALLOW_HALF_CLOSURE, true);
        leaveHttp(handler -> handler.bridged(this, app));
    }

    /**
     * Hands the connection to another protocol (rack.upgrade: WebSocket, SSE): {@code head} goes
     * out through the HTTP codec, then HTTP handling of this connection ends and {@code takeover}
     * installs the new protocol's handlers, on the IO thread. Worker thread.
     */
    public void upgrade(HttpResponse head, Consumer<ChannelPipeline> takeover) {
        checkStage(Stage.NEW);
        status = head.status().code();
        leaveHttp(handler -> handler.upgraded(this, head, takeover));
    }

    /** The worker pool that serves this connection (upgraded connections run their callbacks there). */
    public Executor workers() {
        return handler.workers();
    }

    /** A hijack comes before any response, or right after a head sent by {@link #beginRaw}. */
    private void checkCanHijack() {
        if (stage != Stage.NEW && !(stage == Stage.STREAMING && raw)) {
            throw new IllegalStateException("response is " + stage + (raw ? "" : " (not raw)") + ": cannot hijack");
        }
    }

    /**
     * Worker thread: the one way the connection leaves HTTP. The response ends here, the exchange
     * is finished, and {@code takeover} runs on the IO thread, where the handler hands over.
     */
    private void leaveHttp(Consumer<HttpRequestHandler> takeover) {
        stage = Stage.DONE;
        chunked = false;
        ctx.channel().eventLoop().execute(() -> takeover.accept(handler));
        finished();
    }

    /** Sends an interim 103 Early Hints response; ignored once the final response has started. */
    public void earlyHints(HttpHeaders headers) {
        if (stage != Stage.NEW || clientGone || !request.protocolVersion().equals(HttpVersion.HTTP_1_1)) return;
        ctx.channel().writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(103),
                Unpooled.EMPTY_BUFFER, headers, HttpHeaders.EMPTY_HEADERS), ctx.channel().voidPromise());
    }

    /** IO thread: the connection closed; a streaming worker stops at its next write. */
    void clientClosed() {
        clientGone = true;
        writabilityChanged();
    }

    /** IO thread: the channel's writability flipped; wake a worker waiting in {@link #awaitWritable}. */
    void writabilityChanged() {
        synchronized (writability) {
            writability.notifyAll();
        }
    }

    private void awaitWritable() {
        Channel ch = ctx.channel();
        if (ch.isWritable()) return;
        long deadline = System.nanoTime() + writeTimeoutNanos;
        synchronized (writability) {
            while (!ch.isWritable() && !clientGone) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    Log.warn("closing " + ch.remoteAddress() + ": client did not read the response for "
                            + TimeUnit.NANOSECONDS.toSeconds(writeTimeoutNanos) + " s");
                    clientGone = true;
                    ch.close();
                    break;
                }
                try {
                    writability.wait(TimeUnit.NANOSECONDS.toMillis(left) + 1);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    clientGone = true;
                    ch.close();
                    break;
                }
            }
        }
        if (clientGone) throw new ClientGoneException("client closed the connection");
    }

    /** A streamed body broke its Content-Length: logged once, and the connection ends with this response. */
    private void lengthMismatch(long actual) {
        keepAlive = false;
        if (lengthMismatchLogged) return;
        lengthMismatchLogged = true;
        ContentLength.logMismatch(this, declaredLength, actual);
    }

    private void decideKeepAlive(HttpHeaders headers) {
        keepAlive = handler.mayKeepAlive(request) && !headers.containsValue(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE, true);
        if (!keepAlive) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        } else if (request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.KEEP_ALIVE);
        }
    }

    private static boolean bodyless(int status) {
        return status < 200 || status == 204 || status == 304;
    }

    private void checkStage(Stage expected) {
        if (stage != expected) throw new IllegalStateException("response is " + stage + ", expected " + expected);
    }

    private void finished() {
        body.discard();
        handler.logAccess(this);
        if (onFinished == null) return;
        for (Runnable r : onFinished) {
            try {
                r.run();
            } catch (RuntimeException e) {
                Log.error("response-finished callback failed", e);
            }
        }
    }
}

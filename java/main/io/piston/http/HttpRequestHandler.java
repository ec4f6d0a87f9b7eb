package io.piston.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.DecoderResult;
import io.netty.handler.codec.TooLongFrameException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpRequestDecoder;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.TooLongHttpHeaderException;
import io.netty.handler.codec.http.TooLongHttpLineException;
import io.netty.util.ReferenceCountUtil;
import io.piston.log.Log;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.function.Consumer;

/**
 * One per connection, on its IO thread. Takes decoded requests from the codec, enforces the
 * limits, has each body collected ({@link BodyReader}), and hands complete requests one at a time
 * to the worker pool, so pipelined requests are answered in order. Arms the connection's
 * {@link RequestTimer} (header, body and keep-alive deadlines) and closes at graceful stop. A
 * connection leaves HTTP one way ({@link #leaveHttp}): hijacked, bridged to the app's socket, or
 * upgraded.
 */
final class HttpRequestHandler extends ChannelInboundHandlerAdapter implements RequestTimer.Expiry {
    /** A complete request waiting for its turn, or an error to answer in its place (to a HEAD request: no body). */
    private record Pending(HttpRequest request, RequestBody body, int errorStatus, boolean head) {}

    /**
     * Requests one read may queue behind the one being served. Reading pauses at pipelineDepth,
     * but the read in hand is still decoded to its end: past this many the connection gets a 503
     * and is closed, so a client cannot make the server hold thousands of requests at once.
     */
    static final int MAX_QUEUED = 128;

    private final HttpServerContext server;
    private final ArrayDeque<Pending> waiting = new ArrayDeque<>();
    private ChannelHandlerContext ctx;
    /** Where a ready-made response enters the pipeline: below the encoder, which it skips. */
    private ChannelHandlerContext belowEncoder;
    /** The error being written answers a HEAD request (see {@link #answeringHead}). */
    private boolean errorAnswersHead;
    private BodyReader reading;
    private boolean continuePending;
    private boolean discarding;
    private HttpExchange active;
    private HijackedStream hijacked;
    /** The connection is relayed to the app's socket (SocketBridge): reads pass through. */
    private boolean bridged;
    private RequestTimer timer;
    private boolean servedOne;
    /** The layer above's per-connection slot (HttpExchange.connectionAttachment); requests use it one at a time. */
    Object connectionAttachment;

    HttpRequestHandler(HttpServerContext server) {
        this.server = server;
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
        this.reading = new BodyReader(server.config);
        this.timer = new RequestTimer(ctx.executor(), this);
        ChannelHandlerContext encoder = ctx.pipeline().context(ResponseEncoder.class);
        belowEncoder = encoder != null ? encoder : ctx;
    }

    @Override
    public void channelActive(ChannelHandlerContext ctx) {
        server.connections.add(ctx.channel());
        armRequestTimer(server.config.headerTimeout);
        ctx.fireChannelActive();
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (bridged) {
            ctx.fireChannelRead(msg);
            return;
        }
        try {
            if (hijacked != null) {
                if (msg instanceof ByteBuf data) {
                    hijacked.received(data.retain());
                }
                return;
            }
            if (msg instanceof HttpRequest request) onRequest(request);
            if (msg instanceof HttpContent content) onContent(content);
        } finally {
            ReferenceCountUtil.release(msg);
        }
    }

    private void onRequest(HttpRequest request) {
        timer.disarm();
        if (discarding) return;
        boolean head = isHead(request);
        DecoderResult result = request.decoderResult();
        if (result.isFailure()) {
            reject(statusFor(result.cause()), String.valueOf(result.cause().getMessage()), head);
            return;
        }
        if (waiting.size() >= MAX_QUEUED) {
            reject(503, "more than " + MAX_QUEUED + " pipelined requests waiting", head);
            return;
        }
        RequestRules.Violation violation = RequestRules.check(request);
        if (violation != null) {
            reject(violation.status(), violation.reason(), head);
            return;
        }
        long length;
        try {
            length = HttpUtil.getContentLength(request, -1L);
        } catch (NumberFormatException e) {
            reject(400, "invalid Content-Length", head);
            return;
        }
        if (length > server.config.maxBody) {
            reject(413, "body of " + length + " bytes over the limit of " + server.config.maxBody, head);
            return;
        }
        if (request.headers().contains(HttpHeaderNames.EXPECT)) {
            if (!HttpUtil.is100ContinueExpected(request) || request.protocolVersion().equals(HttpVersion.HTTP_1_0)) {
                reject(417, "unsupported expectation " + request.headers().get(HttpHeaderNames.EXPECT), head);
                return;
            }
            request.headers().remove(HttpHeaderNames.EXPECT);
            if (active == null && waiting.isEmpty()) sendContinue();
            else continuePending = true;
        }
        reading.start(request, length);
        // A request with no body is complete with the content that follows at once; one with a
        // body gets the body timeout, from now or, if it waits for a 100, from when that goes out.
        if ((length > 0 || HttpUtil.isTransferEncodingChunked(request)) && !continuePending) {
            armRequestTimer(server.config.bodyTimeout);
        }
    }

    private void onContent(HttpContent content) {
        if (discarding || !reading.reading()) return;
        HttpRequest request = reading.request();
        switch (reading.add(content)) {
            case MORE -> timer.extend(content.content().readableBytes());
            case DONE -> {
                waiting.add(new Pending(request, reading.take(), 0, false));
                if (waiting.size() >= server.config.pipelineDepth) ctx.channel().config().setAutoRead(false);
                dispatchNext();
            }
            // The decoder ended the body early (a bad chunk size, chunk data past its size, a bad
            // trailer), and the app must not see the truncated body.
            case MALFORMED -> reject(400, "malformed request body: " + content.decoderResult().cause().getMessage(),
                    isHead(request));
            case TOO_LARGE -> reject(413, "chunked body over the limit of " + server.config.maxBody, isHead(request));
            case FAILED -> reject(500, "could not store request body", isHead(request));
        }
    }

    /** Answers a bad request in its turn, then closes: the rest of the stream cannot be trusted. */
    private void reject(int status, String reason, boolean head) {
        Log.warn(ctx.channel().remoteAddress() + " " + status + ": " + reason);
        discarding = true;
        reading.discard();
        waiting.add(new Pending(null, null, status, head));
        dispatchNext();
    }

    /** Whether {@code request} (null: none) is a HEAD request, whose answer has no body. */
    private static boolean isHead(HttpRequest request) {
        return request != null && HttpMethod.HEAD.equals(request.method());
    }

    private static int statusFor(Throwable cause) {
        if (cause instanceof TooLongHttpLineException) return 414;
        if (cause instanceof TooLongHttpHeaderException || cause instanceof TooLongFrameException) return 431;
        return 400;
    }

    private void dispatchNext() {
        if (active != null || hijacked != null || bridged) return;
        Pending next = waiting.poll();
        if (next == null) {
            if (continuePending && reading.reading()) {
                // The request still being read is next in line now, so its 100 goes out after
                // the final responses to the requests before it, as interim responses must.
                continuePending = false;
                sendContinue();
                armRequestTimer(server.config.bodyTimeout);
            } else if (reading.reading()) {
                // The body deadline may have passed while a response was in flight: check it now.
                timer.recheck();
            }
            if (server.stopping() && !reading.reading()) {
                ctx.close();
            } else if (!reading.reading()) {
                timer.arm(server.config.idleTimeout, false);
            }
            return;
        }
        if (!ctx.channel().config().isAutoRead() && waiting.size() < server.config.pipelineDepth) {
            ctx.channel().config().setAutoRead(true);
        }
        if (next.errorStatus != 0) {
            sendError(next.errorStatus, true, next.head);
            return;
        }
        servedOne = true;
        HttpExchange exchange = new HttpExchange(ctx, this, next.request, next.body,
                server.config.writeTimeout.toNanos());
        active = exchange;
        try {
            server.workers.execute(() -> serve(exchange));
        } catch (RejectedExecutionException e) {
            active = null;
            next.body.discard();
            Log.warn("all workers busy and the queue is full: 503 for " + next.request.method() + " " + next.request.uri());
            sendError(503, false, isHead(next.request));
            dispatchNext();
        }
    }

    /** Worker thread. */
    private void serve(HttpExchange exchange) {
        try {
            server.app.serve(exchange);
        } catch (ClientGoneException e) {
            exchange.fail();
        } catch (Throwable t) {
            Log.error("unhandled error serving " + exchange.request().uri(), t);
            exchange.fail();
        }
    }

    private void sendError(int status, boolean close, boolean head) {
        HttpHeaders headers = ErrorResponses.textHeaders();
        ByteBuf body = ErrorResponses.body(ctx.alloc(), status);
        headers.setInt(HttpHeaderNames.CONTENT_LENGTH, body.readableBytes());
        if (close || server.stopping()) headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        DefaultFullHttpResponse response = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1,
                HttpResponseStatus.valueOf(status), body, headers, HttpHeaders.EMPTY_HEADERS);
        errorAnswersHead = head;
        try {
            if (close || server.stopping()) ctx.writeAndFlush(response).addListener(ChannelFutureListener.CLOSE);
            else ctx.writeAndFlush(response);
        } finally {
            errorAnswersHead = false;
        }
    }

    /**
     * IO thread, asked by the encoder: whether the response being encoded answers a HEAD request.
     * A head is encoded while its exchange is active (the exchange is done only after it), an
     * error of the server's own while none is. An upgrade's head goes out after its exchange
     * let go, as a GET's: upgrades are GETs.
     */
    boolean answeringHead() {
        return active != null ? active.isHead() : errorAnswersHead;
    }

    /** IO thread: sends a ready-made response (a {@link ResponseHead} and its body) past the encoder. */
    void writeReadyMade(ByteBuf response) {
        belowEncoder.writeAndFlush(response, belowEncoder.voidPromise());
    }

    /** IO thread: the HTTP handlers leave; the decoder last, passing on the bytes it still holds. */
    private static void removeCodec(ChannelPipeline pipeline) {
        if (pipeline.get(ResponseEncoder.class) != null) pipeline.remove(ResponseEncoder.class);
        if (pipeline.get(HttpRequestDecoder.class) != null) pipeline.remove(HttpRequestDecoder.class);
    }

    private void sendContinue() {
        ctx.writeAndFlush(new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.CONTINUE,
                Unpooled.EMPTY_BUFFER));
    }

    /** IO thread: the active exchange wrote its last byte. */
    void exchangeDone(HttpExchange exchange, boolean keepAlive) {
        if (exchange != active) return;
        active = null;
        if (!keepAlive) {
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
            return;
        }
        dispatchNext();
    }

    /**
     * IO thread: the one way out of HTTP, for each kind of takeover. False when {@code exchange}
     * no longer has the connection (it closed): the caller drops what it brought. Otherwise HTTP's
     * part ends here: no deadline, no request waiting or being read.
     */
    private boolean leaveHttp(HttpExchange exchange) {
        if (exchange != active) return false;
        active = null;
        timer.stop();
        discardRequests();
        return true;
    }

    /**
     * IO thread: the app took the connection; from now on bytes go to it untouched, starting
     * with those the codec held, and only then the end of stream of a client already gone.
     */
    void hijacked(HttpExchange exchange, HijackedStream raw) {
        if (!leaveHttp(exchange)) return;
        hijacked = raw;
        removeCodec(ctx.pipeline());
        if (!ctx.channel().isActive()) raw.closedByPeer();
        ctx.channel().config().setAutoRead(true);
    }

    /**
     * IO thread: the app took the connection onto a socket of its own ({@code app}, the
     * server's end of the pair); SocketBridge relays the raw bytes. This handler stays in the
     * pipeline (passing reads through) so that graceful stop still finds the connection.
     */
    void bridged(HttpExchange exchange, Channel app) {
        if (!leaveHttp(exchange)) {
            app.close();
            return;
        }
        bridged = true;
        SocketBridge.start(ctx.channel(), app, () -> removeCodec(ctx.pipeline()));
    }

    /**
     * IO thread: the app upgraded the connection (rack.upgrade). The response head goes out
     * through the codec, the HTTP handlers leave the pipeline, and {@code takeover} adds the new
     * protocol's; bytes the codec still held reach them when the codec is removed last.
     */
    void upgraded(HttpExchange exchange, HttpResponse head, Consumer<ChannelPipeline> takeover) {
        if (!leaveHttp(exchange)) {
            ReferenceCountUtil.release(head);
            return;
        }
        ChannelPipeline pipeline = ctx.pipeline();
        if (ctx.channel().isActive()) ctx.writeAndFlush(head);
        else ReferenceCountUtil.release(head);
        // A client that reset while the app was deciding: its pipeline is already torn down, and
        // the takeover still runs so the new protocol sees the close (on_close, no leak).
        if (!ctx.isRemoved()) pipeline.remove(this);
        takeover.accept(pipeline);
        removeCodec(pipeline);
        ctx.channel().config().setAutoRead(true);
    }

    /** IO thread: drops the requests waiting for their turn and the body being read, with their temp files. */
    private void discardRequests() {
        for (Pending p : waiting) if (p.body != null) p.body.discard();
        waiting.clear();
        reading.discard();
    }

    /** The worker pool requests (and upgraded connections' callbacks) run on. */
    Executor workers() {
        return server.workers;
    }

    /** Worker thread: whether this response may leave the connection open. */
    boolean mayKeepAlive(HttpRequest request) {
        return HttpUtil.isKeepAlive(request) && !server.stopping();
    }

    void logAccess(HttpExchange exchange) {
        if (server.accessLog != null) server.accessLog.log(exchange);
    }

    /** IO thread: graceful stop; an idle connection closes now, a busy one after its response. */
    void stopGracefully() {
        if (active == null && waiting.isEmpty() && !reading.reading() && hijacked == null && !bridged) ctx.close();
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (active != null) active.writabilityChanged();
        ctx.fireChannelWritabilityChanged();
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        timer.stop();
        if (active != null) active.clientClosed();
        if (hijacked != null) hijacked.closedByPeer();
        discardRequests();
        ctx.fireChannelInactive();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (!(cause instanceof IOException)) Log.error("connection " + ctx.channel().remoteAddress() + " failed", cause);
        ctx.close();
    }

    /**
     * Arms the request deadline (headers, or a body): a client that misses it gets a 408, unless
     * it is a kept-alive connection with no request begun, which is just closed.
     */
    private void armRequestTimer(Duration after) {
        timer.arm(after, reading.reading() || !servedOne);
    }

    @Override
    public boolean waitingOnClient() {
        return active == null && hijacked == null && !bridged && ctx.channel().isActive();
    }

    @Override
    public void expired(boolean answer408) {
        if (answer408) {
            Log.warn(ctx.channel().remoteAddress() + " 408: request not received in time");
            discarding = true;
            sendError(408, true, false);
        } else {
            ctx.close();
        }
    }
}

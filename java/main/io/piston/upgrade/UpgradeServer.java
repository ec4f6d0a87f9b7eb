package io.piston.upgrade;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.piston.http.HttpExchange;
import io.piston.rack.RackHeaders;
import io.piston.server.Log;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyHash;
import org.jruby.RubyInteger;
import org.jruby.RubyString;
import org.jruby.RubySymbol;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.ByteList;

/**
 * The rack.upgrade side of one server. {@link #tryUpgrade} runs on the worker that served the
 * request, after the app returned: when the app set env['rack.upgrade'] with a status below 300
 * on an upgradeable request, the connection becomes a WebSocket or SSE connection driving the
 * handler. Keeps the set of open upgraded connections, and at graceful stop ({@link #shutdown},
 * on the stopping thread) gives each one on_shutdown, closes it and waits for its on_close.
 */
public final class UpgradeServer {
    private final Ruby runtime;
    private final UpgradeConfig config;
    private final Set<Connection> live = ConcurrentHashMap.newKeySet();
    private final RubyString upgradeQueryKey;
    private final RubySymbol websocket;
    private final RubySymbol sse;

    public UpgradeServer(Ruby runtime, UpgradeConfig config) {
        this.runtime = runtime;
        this.config = config;
        this.upgradeQueryKey = frozen("rack.upgrade?");
        this.websocket = runtime.newSymbol("websocket");
        this.sse = runtime.newSymbol("sse");
    }

    public UpgradeConfig config() {
        return config;
    }

    /** Open upgraded connections (those whose on_close has not run yet). */
    public int connections() {
        return live.size();
    }

    /**
     * Worker thread: takes the connection when the app asked for an upgrade that can happen
     * ({@code given} is env['rack.upgrade'], which the caller found set). Returns true when it
     * took it: the caller must then close the body and send nothing. False: answer the response
     * as usual (status 300 or more, or a request that cannot be upgraded).
     */
    public boolean tryUpgrade(ThreadContext ctx, HttpExchange exchange, RubyHash env, IRubyObject given,
                              IRubyObject response) {
        if (!(response instanceof RubyArray triple) || triple.size() != 3) return false;
        IRubyObject status = triple.eltInternal(0);
        if (!(status instanceof RubyInteger)) {
            if (!status.respondsTo("to_int")) return false;
            status = status.convertToInteger();
        }
        if (((RubyInteger) status).getLongValue() >= 300) return false;
        int kind = kind(env.fastARef(upgradeQueryKey));
        if (kind == UpgradeRequest.WEBSOCKET && !UpgradeRequest.isWebSocket(exchange.request())) kind = UpgradeRequest.NONE;
        if (kind == UpgradeRequest.NONE) return false;

        HttpHeaders headers = RackHeaders.convert(ctx, triple.eltInternal(1), true).headers;
        RubyHandler handler = RubyHandler.of(ctx, given);
        Connection connection = kind == UpgradeRequest.WEBSOCKET
                ? new WebSocketConnection(exchange.channel(), exchange.workers(), config, handler, live)
                : new SseConnection(exchange.channel(), exchange.workers(), config, handler, live);
        RubyConnection.create(runtime, connection, env);
        HttpResponse head = connection.handshake(exchange.request(), headers);
        exchange.upgrade(head, connection::install);
        return true;
    }

    /**
     * Worker thread, before the app is called: answers a request that asks for a WebSocket with
     * an invalid handshake itself (400, or 426 naming the version the server speaks), so the app
     * never sees it. True when it answered; the caller then does nothing more.
     */
    public boolean refuseInvalidHandshake(HttpExchange exchange) {
        HttpRequest request = exchange.request();
        if (!request.headers().contains(HttpHeaderNames.UPGRADE) || !UpgradeRequest.asksForWebSocket(request)) return false;
        int status = UpgradeRequest.handshakeError(request);
        if (status == 0) return false;
        Log.warn("refused the WebSocket handshake of " + exchange.remoteAddress() + " with " + status + ": version "
                + request.headers().getAll(HttpHeaderNames.SEC_WEBSOCKET_VERSION) + ", "
                + request.headers().getAll(HttpHeaderNames.SEC_WEBSOCKET_KEY).size() + " key(s)");
        HttpHeaders headers = DefaultHttpHeadersFactory.headersFactory().newHeaders();
        headers.set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        if (status == 426) {
            headers.set(HttpHeaderNames.SEC_WEBSOCKET_VERSION, "13");
            headers.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
            headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
        }
        byte[] text = (status + " " + HttpResponseStatus.valueOf(status).reasonPhrase() + "\n").getBytes(StandardCharsets.US_ASCII);
        exchange.respond(status, headers, Unpooled.wrappedBuffer(text));
        return true;
    }

    private int kind(IRubyObject value) {
        if (value == null || value.isNil()) return UpgradeRequest.NONE;
        if (value == websocket) return UpgradeRequest.WEBSOCKET;
        if (value == sse) return UpgradeRequest.SSE;
        String name = value.toString();
        if (name.equals("websocket")) return UpgradeRequest.WEBSOCKET;
        if (name.equals("sse")) return UpgradeRequest.SSE;
        return UpgradeRequest.NONE;
    }

    /** The hook for PistonServer#beforeStop. */
    public Runnable shutdownHook() {
        return this::shutdown;
    }

    /**
     * Graceful stop: every open connection gets on_shutdown (it may still write), then closes
     * (WebSocket: Close 1001 and the closing handshake). Returns when all their on_close callbacks
     * ran, or after the close timeout and a little more.
     */
    public void shutdown() {
        if (live.isEmpty()) return;
        Log.info("closing " + live.size() + " upgraded connection(s)");
        for (Connection c : live) c.shutdown();
        long deadline = System.nanoTime() + config.closeTimeout.toNanos() + TimeUnit.SECONDS.toNanos(2);
        while (!live.isEmpty() && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
        }
        if (!live.isEmpty()) Log.warn(live.size() + " upgraded connection(s) still open after on_shutdown");
    }

    private RubyString frozen(String s) {
        RubyString str = RubyString.newString(runtime, new ByteList(s.getBytes(StandardCharsets.ISO_8859_1), false));
        return runtime.freezeAndDedupString(str);
    }
}

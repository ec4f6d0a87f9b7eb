package io.piston.upgrade;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.piston.http.HttpExchange;
import io.piston.log.Log;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * Accepts the upgrades of one server and keeps its open upgraded connections.
 * {@link #refuseInvalidHandshake} runs on the worker serving a request, before the app is called;
 * {@link #accept} on that worker once the app asked for an upgrade; {@link #shutdown} on the
 * thread that stops the server, which gives each open connection on_shutdown, closes it and waits
 * for its on_close.
 */
public final class UpgradeAcceptor {
    private final UpgradeConfig config;
    private final Set<UpgradedConnection> live = ConcurrentHashMap.newKeySet();

    public UpgradeAcceptor(UpgradeConfig config) {
        this.config = config;
    }

    /**
     * Worker thread: makes the connection {@code protocol} over the exchange's channel, driving
     * {@code handler}. {@code attach} runs before anything can call the handler (the layer above
     * attaches its client object); then the handshake response (the app's {@code headers} plus the
     * protocol's) goes out and the channel is the connection's.
     */
    public UpgradedConnection accept(HttpExchange exchange, Protocol protocol, UpgradeHandler handler, HttpHeaders headers,
                                     Consumer<UpgradedConnection> attach) {
        UpgradedConnection connection = protocol == Protocol.WEBSOCKET
                ? new WebSocketConnection(exchange.channel(), exchange.workers(), config, handler, live)
                : new SseConnection(exchange.channel(), exchange.workers(), config, handler, live);
        attach.accept(connection);
        exchange.upgrade(connection.handshake(exchange.request(), headers), connection::install);
        return connection;
    }

    /**
     * Worker thread, before the app is called: answers a request that asks for a WebSocket with
     * an invalid handshake itself (400, or 426 naming the version the server speaks), so the app
     * never sees it. True when it answered; the caller then does nothing more.
     */
    public boolean refuseInvalidHandshake(HttpExchange exchange) {
        HttpRequest request = exchange.request();
        if (!request.headers().contains(HttpHeaderNames.UPGRADE) || !UpgradeDetector.asksForWebSocket(request)) return false;
        int status = UpgradeDetector.handshakeError(request);
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
        for (UpgradedConnection c : live) c.shutdown();
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
}

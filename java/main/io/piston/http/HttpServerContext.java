package io.piston.http;

import io.netty.channel.Channel;
import io.netty.channel.group.ChannelGroup;
import java.util.concurrent.Executor;

/**
 * What every connection of one server shares: settings, the app, the worker pool, the access
 * log and the set of open connections. Created once at startup; {@link #stopping} flips once,
 * from the thread that stops the server, and is read from IO and worker threads.
 */
public final class HttpServerContext {
    final HttpConfig config;
    final Application app;
    final Executor workers;
    final AccessLog accessLog;
    final ChannelGroup connections;
    private volatile boolean stopping;

    public HttpServerContext(HttpConfig config, Application app, Executor workers, AccessLog accessLog,
                             ChannelGroup connections) {
        this.config = config;
        this.app = app;
        this.workers = workers;
        this.accessLog = accessLog;
        this.connections = connections;
    }

    public boolean stopping() {
        return stopping;
    }

    /** Marks the server as stopping: responses from now on close their connection. */
    public void beginStopping() {
        stopping = true;
    }

    /** Any thread: each connection closes on its IO thread as soon as it has no request in flight. */
    public void closeWhenIdle() {
        for (Channel ch : connections) {
            ch.eventLoop().execute(() -> {
                HttpRequestHandler handler = ch.pipeline().get(HttpRequestHandler.class);
                if (handler != null) handler.stopGracefully();
                else ch.close();
            });
        }
    }

    public ChannelGroup connections() {
        return connections;
    }
}

package io.piston.server;

import io.piston.http.HttpConfig;
import java.time.Duration;

/**
 * Every setting of a Piston server and its default: the server's own in the table below, the
 * HTTP limits and timeouts in {@link HttpConfig}'s (the builder takes both). Immutable; built once
 * on the thread that starts the server and read from every thread afterwards.
 *
 * <pre>
 * setting            default     meaning
 * host               0.0.0.0     address to bind
 * port               3000        TCP port (0 picks a free one)
 * threads            5           Ruby worker threads (run the app and every callback)
 * ioThreads          cores       Netty event-loop threads (never run Ruby)
 * transport          auto        io_uring, epoll or nio; auto: epoll where there is one, else nio
 * queue              1024        requests waiting for a worker; past this the answer is 503
 * shutdownTimeout    10 s        graceful stop waits this long for requests in flight
 * accessLog          none        file for the access log; "-" is stdout
 * environment        development RACK_ENV
 * </pre>
 */
public final class ServerConfig {
    public final String host;
    public final int port;
    public final int threads;
    public final int ioThreads;
    /** As asked ("auto", "io_uring", "epoll", "nio"); {@link Transport#choose} picks the one that runs. */
    public final String transport;
    public final int queue;
    public final Duration shutdownTimeout;
    public final String accessLog;
    public final String environment;
    public final HttpConfig http;

    private ServerConfig(Builder b) {
        host = b.host;
        port = b.port;
        threads = b.threads;
        ioThreads = b.ioThreads;
        transport = b.transport;
        queue = b.queue;
        shutdownTimeout = b.shutdownTimeout;
        accessLog = b.accessLog;
        environment = b.environment;
        http = b.http.build();
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Collects settings; {@link #build()} checks them so a bad value fails at startup with its name. */
    public static final class Builder {
        private String host = "0.0.0.0";
        private int port = 3000;
        private int threads = 5;
        private int ioThreads = Runtime.getRuntime().availableProcessors();
        private String transport = "auto";
        private int queue = 1024;
        private Duration shutdownTimeout = Duration.ofSeconds(10);
        private String accessLog = null;
        private String environment = "development";
        private final HttpConfig.Builder http = HttpConfig.builder();

        public Builder host(String v) { host = v; return this; }
        public Builder port(int v) { port = v; return this; }
        public Builder threads(int v) { threads = v; return this; }
        public Builder ioThreads(int v) { ioThreads = v; return this; }
        public Builder transport(String v) { transport = v; return this; }
        public Builder queue(int v) { queue = v; return this; }
        public Builder shutdownTimeout(Duration v) { shutdownTimeout = v; return this; }
        public Builder accessLog(String v) { accessLog = v; return this; }
        public Builder environment(String v) { environment = v; return this; }
        // The HTTP settings, kept in HttpConfig's table:
        public Builder maxBody(long v) { http.maxBody(v); return this; }
        public Builder bodyMemory(int v) { http.bodyMemory(v); return this; }
        public Builder maxRequestLine(int v) { http.maxRequestLine(v); return this; }
        public Builder maxHeaderSize(int v) { http.maxHeaderSize(v); return this; }
        public Builder headerTimeout(Duration v) { http.headerTimeout(v); return this; }
        public Builder bodyTimeout(Duration v) { http.bodyTimeout(v); return this; }
        public Builder idleTimeout(Duration v) { http.idleTimeout(v); return this; }
        public Builder writeTimeout(Duration v) { http.writeTimeout(v); return this; }
        public Builder pipelineDepth(int v) { http.pipelineDepth(v); return this; }

        public ServerConfig build() {
            require(port >= 0 && port <= 65535, "port must be 0..65535, got " + port);
            require(threads >= 1, "threads must be at least 1, got " + threads);
            require(ioThreads >= 1, "ioThreads must be at least 1, got " + ioThreads);
            require(queue >= 1, "queue must be at least 1, got " + queue);
            Transport.named(transport);
            require(shutdownTimeout != null && !shutdownTimeout.isNegative() && !shutdownTimeout.isZero(),
                    "timeouts must be positive");
            return new ServerConfig(this);
        }

        private static void require(boolean ok, String message) {
            if (!ok) throw new IllegalArgumentException(message);
        }
    }
}

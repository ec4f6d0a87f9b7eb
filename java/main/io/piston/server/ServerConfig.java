package io.piston.server;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Every setting of a Piston server and its default, in one table. Immutable; built once on the
 * thread that starts the server and read from every thread afterwards.
 *
 * <pre>
 * setting            default     meaning
 * host               0.0.0.0     address to bind
 * port               3000        TCP port (0 picks a free one)
 * threads            5           Ruby worker threads (run the app and every callback)
 * ioThreads          cores       Netty event-loop threads (never run Ruby)
 * queue              1024        requests waiting for a worker; past this the answer is 503
 * maxBody            100 MiB     largest request body; larger gets 413
 * bodyMemory         1 MiB       bodies up to this stay in memory, larger ones go to a temp file
 * maxRequestLine     8 KiB       longer request line gets 414
 * maxHeaderSize      16 KiB      larger header block gets 431
 * headerTimeout      20 s        a client must send its request headers within this (slowloris)
 * bodyTimeout        20 s        a client must send its request body within this, plus 1 s per 16 KiB received
 * idleTimeout        20 s        keep-alive connection closed after this long without a request
 * writeTimeout       60 s        a response stalled this long by a client that does not read is cut
 * shutdownTimeout    10 s        graceful stop waits this long for requests in flight
 * pipelineDepth      16          requests read ahead on one connection before reading pauses
 * accessLog          none        file for the access log; "-" is stdout
 * environment        development RACK_ENV
 * </pre>
 */
public final class ServerConfig {
    public final String host;
    public final int port;
    public final int threads;
    public final int ioThreads;
    public final int queue;
    public final long maxBody;
    public final int bodyMemory;
    public final int maxRequestLine;
    public final int maxHeaderSize;
    public final Duration headerTimeout;
    public final Duration bodyTimeout;
    public final Duration idleTimeout;
    public final Duration writeTimeout;
    public final Duration shutdownTimeout;
    public final int pipelineDepth;
    public final String accessLog;
    public final String environment;
    /** Where request bodies larger than {@link #bodyMemory} are spooled (looked up once, not per request). */
    public final Path tempDir = Path.of(System.getProperty("java.io.tmpdir"));

    private ServerConfig(Builder b) {
        host = b.host;
        port = b.port;
        threads = b.threads;
        ioThreads = b.ioThreads;
        queue = b.queue;
        maxBody = b.maxBody;
        bodyMemory = b.bodyMemory;
        maxRequestLine = b.maxRequestLine;
        maxHeaderSize = b.maxHeaderSize;
        headerTimeout = b.headerTimeout;
        bodyTimeout = b.bodyTimeout;
        idleTimeout = b.idleTimeout;
        writeTimeout = b.writeTimeout;
        shutdownTimeout = b.shutdownTimeout;
        pipelineDepth = b.pipelineDepth;
        accessLog = b.accessLog;
        environment = b.environment;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.host = host; b.port = port; b.threads = threads; b.ioThreads = ioThreads; b.queue = queue;
        b.maxBody = maxBody; b.bodyMemory = bodyMemory; b.maxRequestLine = maxRequestLine;
        b.maxHeaderSize = maxHeaderSize; b.headerTimeout = headerTimeout; b.bodyTimeout = bodyTimeout;
        b.idleTimeout = idleTimeout;
        b.writeTimeout = writeTimeout; b.shutdownTimeout = shutdownTimeout;
        b.pipelineDepth = pipelineDepth; b.accessLog = accessLog; b.environment = environment;
        return b;
    }

    /** Collects settings; {@link #build()} checks them so a bad value fails at startup with its name. */
    public static final class Builder {
        private String host = "0.0.0.0";
        private int port = 3000;
        private int threads = 5;
        private int ioThreads = Runtime.getRuntime().availableProcessors();
        private int queue = 1024;
        private long maxBody = 100L * 1024 * 1024;
        private int bodyMemory = 1024 * 1024;
        private int maxRequestLine = 8 * 1024;
        private int maxHeaderSize = 16 * 1024;
        private Duration headerTimeout = Duration.ofSeconds(20);
        private Duration bodyTimeout = Duration.ofSeconds(20);
        private Duration idleTimeout = Duration.ofSeconds(20);
        private Duration writeTimeout = Duration.ofSeconds(60);
        private Duration shutdownTimeout = Duration.ofSeconds(10);
        private int pipelineDepth = 16;
        private String accessLog = null;
        private String environment = "development";

        public Builder host(String v) { host = v; return this; }
        public Builder port(int v) { port = v; return this; }
        public Builder threads(int v) { threads = v; return this; }
        public Builder ioThreads(int v) { ioThreads = v; return this; }
        public Builder queue(int v) { queue = v; return this; }
        public Builder maxBody(long v) { maxBody = v; return this; }
        public Builder bodyMemory(int v) { bodyMemory = v; return this; }
        public Builder maxRequestLine(int v) { maxRequestLine = v; return this; }
        public Builder maxHeaderSize(int v) { maxHeaderSize = v; return this; }
        public Builder headerTimeout(Duration v) { headerTimeout = v; return this; }
        public Builder bodyTimeout(Duration v) { bodyTimeout = v; return this; }
        public Builder idleTimeout(Duration v) { idleTimeout = v; return this; }
        public Builder writeTimeout(Duration v) { writeTimeout = v; return this; }
        public Builder shutdownTimeout(Duration v) { shutdownTimeout = v; return this; }
        public Builder pipelineDepth(int v) { pipelineDepth = v; return this; }
        public Builder accessLog(String v) { accessLog = v; return this; }
        public Builder environment(String v) { environment = v; return this; }

        public ServerConfig build() {
            require(port >= 0 && port <= 65535, "port must be 0..65535, got " + port);
            require(threads >= 1, "threads must be at least 1, got " + threads);
            require(ioThreads >= 1, "ioThreads must be at least 1, got " + ioThreads);
            require(queue >= 1, "queue must be at least 1, got " + queue);
            require(maxBody >= 0, "maxBody must not be negative");
            require(bodyMemory >= 0, "bodyMemory must not be negative");
            require(maxRequestLine >= 64, "maxRequestLine must be at least 64");
            require(maxHeaderSize >= 256, "maxHeaderSize must be at least 256");
            require(pipelineDepth >= 1, "pipelineDepth must be at least 1");
            for (Duration d : new Duration[] {headerTimeout, bodyTimeout, idleTimeout, writeTimeout, shutdownTimeout}) {
                require(d != null && !d.isNegative() && !d.isZero(), "timeouts must be positive");
            }
            return new ServerConfig(this);
        }

        private static void require(boolean ok, String message) {
            if (!ok) throw new IllegalArgumentException(message);
        }
    }
}

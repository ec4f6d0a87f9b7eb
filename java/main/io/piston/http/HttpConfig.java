package io.piston.http;

import java.nio.file.Path;
import java.time.Duration;

/**
 * The HTTP settings of a server and their defaults, in one table: limits on what a client may
 * send, and how long it may take. Immutable; built once on the thread that starts the server (as
 * part of the server's config) and read from every thread afterwards.
 *
 * <pre>
 * setting            default     meaning
 * maxBody            100 MiB     largest request body; larger gets 413
 * bodyMemory         1 MiB       bodies up to this stay in memory, larger ones go to a temp file
 * maxRequestLine     8 KiB       longer request line gets 414
 * maxHeaderSize      16 KiB      larger header block gets 431
 * headerTimeout      20 s        a client must send its request headers within this (slowloris)
 * bodyTimeout        20 s        a client must send its request body within this, plus 1 s per 16 KiB received
 * idleTimeout        20 s        keep-alive connection closed after this long without a request
 * writeTimeout       60 s        a response stalled this long by a client that does not read is cut
 * pipelineDepth      16          requests read ahead on one connection before reading pauses
 * </pre>
 */
public final class HttpConfig {
    public final long maxBody;
    public final int bodyMemory;
    public final int maxRequestLine;
    public final int maxHeaderSize;
    public final Duration headerTimeout;
    public final Duration bodyTimeout;
    public final Duration idleTimeout;
    public final Duration writeTimeout;
    public final int pipelineDepth;
    /** Where request bodies larger than {@link #bodyMemory} are spooled (looked up once, not per request). */
    public final Path tempDir = Path.of(System.getProperty("java.io.tmpdir"));

    private HttpConfig(Builder b) {
        maxBody = b.maxBody;
        bodyMemory = b.bodyMemory;
        maxRequestLine = b.maxRequestLine;
        maxHeaderSize = b.maxHeaderSize;
        headerTimeout = b.headerTimeout;
        bodyTimeout = b.bodyTimeout;
        idleTimeout = b.idleTimeout;
        writeTimeout = b.writeTimeout;
        pipelineDepth = b.pipelineDepth;
    }

    public static Builder builder() {
        return new Builder();
    }

    /** Collects settings; {@link #build()} checks them so a bad value fails at startup with its name. */
    public static final class Builder {
        private long maxBody = 100L * 1024 * 1024;
        private int bodyMemory = 1024 * 1024;
        private int maxRequestLine = 8 * 1024;
        private int maxHeaderSize = 16 * 1024;
        private Duration headerTimeout = Duration.ofSeconds(20);
        private Duration bodyTimeout = Duration.ofSeconds(20);
        private Duration idleTimeout = Duration.ofSeconds(20);
        private Duration writeTimeout = Duration.ofSeconds(60);
        private int pipelineDepth = 16;

        public Builder maxBody(long v) { maxBody = v; return this; }
        public Builder bodyMemory(int v) { bodyMemory = v; return this; }
        public Builder maxRequestLine(int v) { maxRequestLine = v; return this; }
        public Builder maxHeaderSize(int v) { maxHeaderSize = v; return this; }
        public Builder headerTimeout(Duration v) { headerTimeout = v; return this; }
        public Builder bodyTimeout(Duration v) { bodyTimeout = v; return this; }
        public Builder idleTimeout(Duration v) { idleTimeout = v; return this; }
        public Builder writeTimeout(Duration v) { writeTimeout = v; return this; }
        public Builder pipelineDepth(int v) { pipelineDepth = v; return this; }

        public HttpConfig build() {
            require(maxBody >= 0, "maxBody must not be negative");
            require(bodyMemory >= 0, "bodyMemory must not be negative");
            require(maxRequestLine >= 64, "maxRequestLine must be at least 64");
            require(maxHeaderSize >= 256, "maxHeaderSize must be at least 256");
            require(pipelineDepth >= 1, "pipelineDepth must be at least 1");
            for (Duration d : new Duration[] {headerTimeout, bodyTimeout, idleTimeout, writeTimeout}) {
                require(d != null && !d.isNegative() && !d.isZero(), "timeouts must be positive");
            }
            return new HttpConfig(this);
        }

        private static void require(boolean ok, String message) {
            if (!ok) throw new IllegalArgumentException(message);
        }
    }
}

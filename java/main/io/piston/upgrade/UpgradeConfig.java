package io.piston.upgrade;

import java.time.Duration;

/**
 * Every setting of upgraded connections (WebSocket and SSE) and its default, in one table.
 * Immutable; built once on the thread that starts the server, read from every thread after.
 *
 * <pre>
 * setting              default   meaning
 * maxMessage           1 MiB     largest incoming WebSocket message (after inflating); larger: close 1009
 * pingInterval         40 s      idle seconds before a WebSocket ping or an SSE ": ping" (client.timeout)
 * maxOutboundBytes     8 MiB     bytes queued for one client (the server's pongs, pings and Close
 *                                frames too); past this it is closed as a slow client
 * maxOutboundMessages  16384     writes queued for one client; past this it is closed as a slow client
 * maxInboundMessages   64        messages waiting for their callback before reading from the socket pauses
 * closeTimeout         5 s       how long a server-initiated close waits for the peer's Close frame
 * deflate              true      permessage-deflate when the client offers it
 * </pre>
 */
public final class UpgradeConfig {
    public final int maxMessage;
    public final Duration pingInterval;
    public final long maxOutboundBytes;
    public final int maxOutboundMessages;
    public final int maxInboundMessages;
    public final Duration closeTimeout;
    public final boolean deflate;

    private UpgradeConfig(Builder b) {
        maxMessage = b.maxMessage;
        pingInterval = b.pingInterval;
        maxOutboundBytes = b.maxOutboundBytes;
        maxOutboundMessages = b.maxOutboundMessages;
        maxInboundMessages = b.maxInboundMessages;
        closeTimeout = b.closeTimeout;
        deflate = b.deflate;
    }

    public static Builder builder() {
        return new Builder();
    }

    public static UpgradeConfig defaults() {
        return new Builder().build();
    }

    /** Collects settings; {@link #build()} checks them so a bad value fails at startup with its name. */
    public static final class Builder {
        private int maxMessage = 1024 * 1024;
        private Duration pingInterval = Duration.ofSeconds(40);
        private long maxOutboundBytes = 8L * 1024 * 1024;
        private int maxOutboundMessages = 16384;
        private int maxInboundMessages = 64;
        private Duration closeTimeout = Duration.ofSeconds(5);
        private boolean deflate = true;

        public Builder maxMessage(int v) { maxMessage = v; return this; }
        public Builder pingInterval(Duration v) { pingInterval = v; return this; }
        public Builder maxOutboundBytes(long v) { maxOutboundBytes = v; return this; }
        public Builder maxOutboundMessages(int v) { maxOutboundMessages = v; return this; }
        public Builder maxInboundMessages(int v) { maxInboundMessages = v; return this; }
        public Builder closeTimeout(Duration v) { closeTimeout = v; return this; }
        public Builder deflate(boolean v) { deflate = v; return this; }

        public UpgradeConfig build() {
            require(maxMessage >= 125, "maxMessage must be at least 125 bytes, got " + maxMessage);
            require(pingInterval != null && !pingInterval.isNegative(), "pingInterval must not be negative");
            require(maxOutboundBytes >= 1024, "maxOutboundBytes must be at least 1024, got " + maxOutboundBytes);
            require(maxOutboundMessages >= 1, "maxOutboundMessages must be at least 1, got " + maxOutboundMessages);
            require(maxInboundMessages >= 1, "maxInboundMessages must be at least 1, got " + maxInboundMessages);
            require(closeTimeout != null && !closeTimeout.isNegative() && !closeTimeout.isZero(),
                    "closeTimeout must be positive");
            return new UpgradeConfig(this);
        }

        private static void require(boolean ok, String message) {
            if (!ok) throw new IllegalArgumentException(message);
        }
    }
}

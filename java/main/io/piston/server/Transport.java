package io.piston.server;

import io.netty.channel.EventLoopGroup;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.ServerSocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.util.concurrent.DefaultThreadFactory;
import io.piston.log.Log;
import java.util.Locale;
import java.util.function.Supplier;

/**
 * The event loops and socket classes the server runs on: Linux's io_uring or epoll through
 * Netty's native transports, or Java's NIO anywhere. Chosen once at startup ({@link #choose}),
 * on the thread that starts the server.
 */
public enum Transport {
    IO_URING("io_uring", IoUring::isAvailable, IoUring::unavailabilityCause),
    EPOLL("epoll", Epoll::isAvailable, Epoll::unavailabilityCause),
    NIO("nio", () -> true, () -> null);

    /** What "auto" means: the first of these the platform has (bench/README.md has the numbers). */
    static final Transport[] PREFERRED = {EPOLL, IO_URING, NIO};

    private final String label;
    private final Supplier<Boolean> available;
    private final Supplier<Throwable> unavailable;

    Transport(String label, Supplier<Boolean> available, Supplier<Throwable> unavailable) {
        this.label = label;
        this.available = available;
        this.unavailable = unavailable;
    }

    /** The transport called {@code name} ("io_uring", "epoll", "nio"), or null for "auto". */
    public static Transport named(String name) {
        String wanted = name.toLowerCase(Locale.ROOT);
        if (wanted.equals("auto")) return null;
        for (Transport t : values()) {
            if (t.label.equals(wanted)) return t;
        }
        throw new IllegalArgumentException("transport must be auto, io_uring, epoll or nio, got " + name);
    }

    /**
     * The transport to run: {@code asked} ("auto": the preferred one) if the platform has it,
     * else the next the platform has, saying so in one log line.
     */
    public static Transport choose(String asked) {
        Transport wanted = named(asked);
        Transport first = wanted == null ? PREFERRED[0] : wanted;
        if (first.isAvailable()) return first;
        Transport fallback = NIO;
        for (Transport t : PREFERRED) {
            if (t != first && t.isAvailable()) {
                fallback = t;
                break;
            }
        }
        Throwable cause = first.unavailable.get();
        Log.info(first.label + " is not available here (" + (cause == null ? "unknown reason" : cause.getMessage())
                + "): using " + fallback.label);
        return fallback;
    }

    public boolean isAvailable() {
        return available.get();
    }

    /** Event loops with named threads, e.g. piston-io-1. */
    public EventLoopGroup newGroup(int threads, String name) {
        IoHandlerFactory io = switch (this) {
            case IO_URING -> IoUringIoHandler.newFactory();
            case EPOLL -> EpollIoHandler.newFactory();
            case NIO -> NioIoHandler.newFactory();
        };
        return new MultiThreadIoEventLoopGroup(threads, new DefaultThreadFactory(name, true), io);
    }

    public Class<? extends ServerSocketChannel> serverChannel() {
        return switch (this) {
            case IO_URING -> IoUringServerSocketChannel.class;
            case EPOLL -> EpollServerSocketChannel.class;
            case NIO -> NioServerSocketChannel.class;
        };
    }

    public String label() {
        return label;
    }
}

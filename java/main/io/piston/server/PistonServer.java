package io.piston.server;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.piston.http.AccessLog;
import io.piston.http.Application;
import io.piston.http.HttpServerContext;
import io.piston.http.HttpServerInitializer;
import io.piston.log.Log;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

/**
 * Binds the port, owns the IO threads and the worker pool, and stops gracefully: stop accepting,
 * let requests in flight finish within the deadline, then close everything. start/stop are called
 * from the thread that owns the server (the Ruby main thread or a signal handler's thread).
 */
public final class PistonServer {
    private final ServerConfig config;
    private final Application app;
    private Transport transport;
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final List<Runnable> beforeStop = new CopyOnWriteArrayList<>();
    private EventLoopGroup bossGroup;
    private EventLoopGroup ioGroup;
    private WorkerPool workers;
    private HttpServerContext context;
    private Channel listener;
    private boolean stopping;

    public PistonServer(ServerConfig config, Application app) {
        this.config = config;
        this.app = app;
    }

    public synchronized PistonServer start() throws IOException, InterruptedException {
        if (listener != null) throw new IllegalStateException("already started");
        AccessLog accessLog = config.accessLog == null ? null : AccessLog.open(config.accessLog);
        transport = Transport.choose(config.transport);
        workers = new WorkerPool(config.threads, config.queue);
        bossGroup = transport.newGroup(1, "piston-accept");
        ioGroup = transport.newGroup(config.ioThreads, "piston-io");
        context = new HttpServerContext(config.http, app, workers, accessLog, new DefaultChannelGroup("piston", GlobalEventExecutor.INSTANCE));
        ServerBootstrap bootstrap = new ServerBootstrap()
                .group(bossGroup, ioGroup)
                .channel(transport.serverChannel())
                .option(ChannelOption.SO_BACKLOG, 1024)
                .option(ChannelOption.SO_REUSEADDR, true)
                .handler(new AcceptGuard())
                .childOption(ChannelOption.TCP_NODELAY, true)
                .childHandler(new HttpServerInitializer(context));
        try {
            listener = bootstrap.bind(new InetSocketAddress(config.host, config.port)).sync().channel();
        } catch (Exception e) {
            shutdownThreads();
            throw new IOException("cannot listen on " + config.host + ":" + config.port + ": " + e.getMessage(), e);
        }
        return this;
    }

    public int port() {
        return ((InetSocketAddress) listener.localAddress()).getPort();
    }

    public String host() {
        return ((InetSocketAddress) listener.localAddress()).getAddress().getHostAddress();
    }

    /** The transport that runs ("io_uring", "epoll", "nio"); null before {@link #start}. */
    public String transport() {
        return transport == null ? null : transport.label();
    }

    public ServerConfig config() {
        return config;
    }

    /** Runs first when the server stops gracefully (upgraded connections get on_shutdown here). */
    public void beforeStop(Runnable hook) {
        beforeStop.add(hook);
    }

    /**
     * Graceful stop: no new connections, idle ones close now, busy ones after their response;
     * after the deadline whatever is left is closed. Safe to call more than once.
     */
    public void stop() throws InterruptedException {
        synchronized (this) {
            if (stopping || listener == null) {
                stopped.await(config.shutdownTimeout.toMillis() + 5000, TimeUnit.MILLISECONDS);
                return;
            }
            stopping = true;
        }
        long deadline = System.nanoTime() + config.shutdownTimeout.toNanos();
        context.beginStopping();
        listener.close().sync();
        for (Runnable hook : beforeStop) {
            try {
                hook.run();
            } catch (RuntimeException e) {
                Log.error("shutdown hook failed", e);
            }
        }
        context.closeWhenIdle();
        while (!context.connections().isEmpty() && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        int left = context.connections().size();
        if (left > 0) Log.warn("shutdown deadline passed: closing " + left + " connection(s) still busy");
        context.connections().close().awaitUninterruptibly(1000);
        long remaining = Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
        if (!workers.shutdownWithin(remaining)) {
            Log.warn("workers still running after the deadline; interrupting them");
            workers.shutdownNow();
        }
        shutdownThreads();
        stopped.countDown();
    }

    /** Blocks until {@link #stop} has finished. */
    public void awaitStopped() throws InterruptedException {
        stopped.await();
    }

    private void shutdownThreads() {
        if (workers != null) workers.shutdownNow();
        if (ioGroup != null) ioGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3000);
        if (bossGroup != null) bossGroup.shutdownGracefully(0, 1, TimeUnit.SECONDS).awaitUninterruptibly(3000);
    }
}

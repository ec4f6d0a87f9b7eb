package io.piston.server;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.piston.log.Log;
import java.io.FileInputStream;
import java.io.IOException;
import java.util.concurrent.TimeUnit;

/**
 * On the listening channel, ahead of Netty's acceptor; runs on the accept thread. When accept
 * fails because the process has no file descriptor left (EMFILE, ENFILE) or the kernel no memory
 * for the socket, the clients waiting in the backlog would hang until they time out. Instead
 * they are refused: a spare descriptor (/dev/null, held while all is well) is given back, the
 * next connection is accepted with it and closed at once, and the spare is taken again. While a
 * spare can be had, connections pass as usual, so the server recovers by itself when
 * connections close. Existing connections are not touched. Refusals are logged at most once per
 * second, with how many there were.
 */
final class AcceptGuard extends ChannelInboundHandlerAdapter {
    /** How long accepting pauses when not even the spare descriptor could be freed. */
    static final long PAUSE_MILLIS = 100;
    private static final long LINE_INTERVAL_NANOS = TimeUnit.SECONDS.toNanos(1);

    private FileInputStream spare = openSpare();
    private long failures;
    private long refused;
    private String reason = "";
    private long lastLine = System.nanoTime() - LINE_INTERVAL_NANOS;
    private boolean lineScheduled;

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        if (spare == null && msg instanceof Channel child) {
            spare = openSpare();
            if (spare == null) {
                // Still at the limit: this connection only got the spare's descriptor.
                child.unsafe().closeForcibly();
                spare = openSpare();
                refused++;
                scheduleLine(ctx);
                return;
            }
        }
        ctx.fireChannelRead(msg);
    }

    /**
     * accept failed. With the spare given back the next accept succeeds (and is refused above);
     * without one, accepting pauses a moment rather than spin on the same error. Not passed on:
     * Netty's acceptor would pause a whole second and log every failure.
     */
    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failures++;
        reason = String.valueOf(cause.getMessage());
        scheduleLine(ctx);
        boolean freed = spare != null;
        closeSpare();
        Channel listener = ctx.channel();
        listener.config().setAutoRead(false);
        Runnable resume = () -> {
            if (listener.isOpen()) listener.config().setAutoRead(true);
        };
        if (freed) {
            ctx.executor().execute(resume);
        } else {
            ctx.executor().schedule(resume, PAUSE_MILLIS, TimeUnit.MILLISECONDS);
        }
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        closeSpare();
        ctx.fireChannelInactive();
    }

    /** Schedules the next log line, a second after the last one, unless it is scheduled already. */
    private void scheduleLine(ChannelHandlerContext ctx) {
        if (lineScheduled) return;
        lineScheduled = true;
        long wait = Math.max(0, lastLine + LINE_INTERVAL_NANOS - System.nanoTime());
        ctx.executor().schedule(this::logLine, wait, TimeUnit.NANOSECONDS);
    }

    private void logLine() {
        Log.warn("out of file descriptors or memory: accept failed " + failures + " time(s) (" + reason + "), "
                + refused + " new connection(s) refused since the last line; open connections are served as usual");
        failures = 0;
        refused = 0;
        lineScheduled = false;
        lastLine = System.nanoTime();
    }

    private static FileInputStream openSpare() {
        try {
            return new FileInputStream("/dev/null");
        } catch (IOException e) {
            return null;
        }
    }

    private void closeSpare() {
        if (spare == null) return;
        try {
            spare.close();
        } catch (IOException ignored) {
            // nothing to give back then
        }
        spare = null;
    }
}

package io.piston.ruby;

import io.piston.http.HttpExchange;
import io.piston.log.Log;
import io.piston.rack.RawBodyIO;
import java.io.IOException;
import jnr.unixsocket.UnixSocketChannel;
import org.jruby.Ruby;
import org.jruby.RubyModule;
import org.jruby.exceptions.RaiseException;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;

/**
 * What rack.hijack hands the app. Where it can, a real socket: one end of a UNIX socket pair
 * as a Ruby UNIXSocket (a native fd, so IO.select, nio4r and fileno work on it), while the
 * server relays the connection to the other end (see {@code SocketBridge}). Otherwise (the NIO
 * transport, no native sockets in this JRuby) a Piston::HijackedIO. A rack 3 streaming body always
 * gets a Piston::HijackedIO. Worker thread.
 */
final class AppSocket implements RawBodyIO {
    static final AppSocket INSTANCE = new AppSocket();
    private static volatile boolean warned;

    private AppSocket() {}

    /**
     * rack.hijack, full (before any response) or partial (after beginRaw sent the head; the
     * exchange knows which): a real socket where it can be, else a Piston::HijackedIO.
     */
    static IRubyObject hijack(ThreadContext ctx, HttpExchange exchange) {
        if (exchange.canHijackToSocket()) {
            IRubyObject io = pair(ctx, exchange);
            if (io != null) return io;
        }
        return HijackedIO.wrap(ctx.runtime, exchange.hijack());
    }

    @Override
    public IRubyObject afterHeaders(ThreadContext ctx, HttpExchange exchange) {
        return hijack(ctx, exchange);
    }

    @Override
    public IRubyObject stream(ThreadContext ctx, HttpExchange exchange) {
        return HijackedIO.wrap(ctx.runtime, exchange.hijack());
    }

    /**
     * A socket pair (jnr-unixsocket, as JRuby's UNIXSocket.pair): the first fd becomes the
     * app's UNIXSocket (UNIXSocket.for_fd), the second, non-blocking, goes to the exchange.
     * The jnr channel objects only carry the fds across: closing one through JRuby would shut
     * the socket down. Null, with nothing left open and the exchange untouched, when any step
     * fails.
     */
    private static IRubyObject pair(ThreadContext ctx, HttpExchange exchange) {
        Ruby runtime = ctx.runtime;
        IRubyObject app = null;
        int appFd = -1;
        int serverFd = -1;
        try {
            RubyModule unixSocket = runtime.getClass("UNIXSocket");
            if (unixSocket == null) {
                runtime.getLoadService().require("socket");
                unixSocket = runtime.getClass("UNIXSocket");
            }
            UnixSocketChannel[] pair = UnixSocketChannel.pair();
            appFd = pair[0].getFD();
            serverFd = pair[1].getFD();
            pair[1].configureBlocking(false);
            app = unixSocket.callMethod(ctx, "for_fd", runtime.newFixnum(appFd));
            appFd = -1; // the UNIXSocket owns it now
            int fd = serverFd;
            serverFd = -1; // the exchange owns it now (and closes it if it fails)
            exchange.hijackToSocket(fd);
            return app;
        } catch (IOException | RuntimeException | LinkageError e) {
            if (!warned) {
                warned = true;
                Log.warn("rack.hijack: no real socket for the app (" + e + "); it gets Piston::HijackedIO");
            }
            if (appFd >= 0) runtime.getPosix().close(appFd);
            if (serverFd >= 0) runtime.getPosix().close(serverFd);
            closeQuietly(ctx, app);
            return null;
        }
    }

    private static void closeQuietly(ThreadContext ctx, IRubyObject io) {
        if (io == null) return;
        try {
            io.callMethod(ctx, "close");
        } catch (RaiseException ignored) {
            // already closed
        }
    }
}

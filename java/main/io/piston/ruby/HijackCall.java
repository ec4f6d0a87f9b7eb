package io.piston.ruby;

import io.piston.http.HttpExchange;
import org.jruby.Ruby;
import org.jruby.RubyClass;
import org.jruby.RubyHash;
import org.jruby.RubyObject;
import org.jruby.RubyString;
import org.jruby.anno.JRubyClass;
import org.jruby.anno.JRubyMethod;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;

/**
 * Piston::HijackCall: the env's rack.hijack. Calling it takes the connection (full hijack) and
 * returns the IO, also stored as rack.hijack_io: a real UNIXSocket where it can be (see
 * {@link AppSocket}), else a Piston::HijackedIO. Runs on the worker thread serving the request.
 */
@JRubyClass(name = "Piston::HijackCall")
public final class HijackCall extends RubyObject {
    private HttpExchange exchange;
    private RubyHash env;
    private RubyString ioKey;
    private IRubyObject io;

    public HijackCall(Ruby runtime, RubyClass type) {
        super(runtime, type);
    }

    /** {@code type} is Piston::HijackCall, looked up once by the caller rather than per request. */
    public static HijackCall create(Ruby runtime, RubyClass type, HttpExchange exchange, RubyHash env, RubyString ioKey) {
        HijackCall call = new HijackCall(runtime, type);
        call.exchange = exchange;
        call.env = env;
        call.ioKey = ioKey;
        return call;
    }

    @JRubyMethod(name = "call", rest = true)
    public IRubyObject call(ThreadContext ctx, IRubyObject[] args) {
        if (io == null) {
            if (exchange == null) throw ctx.runtime.newIOError("rack.hijack called after the response: the request is over");
            io = AppSocket.hijack(ctx, exchange);
            env.op_aset(ctx, ioKey, io);
        }
        return io;
    }

    /**
     * The request is over: lets go of its exchange (and with it the request and the HTTP
     * handlers), which an env that outlives the request, as an upgraded connection's does for
     * client.env, would otherwise keep.
     */
    void requestOver() {
        exchange = null;
        env = null;
    }

    /** True once the app took the connection. */
    public boolean used() {
        return io != null;
    }
}

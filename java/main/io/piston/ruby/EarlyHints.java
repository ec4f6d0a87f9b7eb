package io.piston.ruby;

import io.piston.http.HttpExchange;
import io.piston.rack.RackHeaders;
import org.jruby.Ruby;
import org.jruby.RubyClass;
import org.jruby.RubyObject;
import org.jruby.anno.JRubyClass;
import org.jruby.anno.JRubyMethod;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;

/**
 * Piston::EarlyHints: the env's rack.early_hints; {@code call(headers)} sends a 103 response
 * before the final one. Runs on the worker thread serving the request.
 */
@JRubyClass(name = "Piston::EarlyHints")
public final class EarlyHints extends RubyObject {
    private HttpExchange exchange;

    public EarlyHints(Ruby runtime, RubyClass type) {
        super(runtime, type);
    }

    /** {@code type} is Piston::EarlyHints, looked up once by the caller rather than per request. */
    public static EarlyHints create(Ruby runtime, RubyClass type, HttpExchange exchange) {
        EarlyHints hints = new EarlyHints(runtime, type);
        hints.exchange = exchange;
        return hints;
    }

    /** The request is over: lets go of its exchange (see {@link HijackCall#requestOver}); later calls do nothing, as before. */
    void requestOver() {
        exchange = null;
    }

    @JRubyMethod(name = "call")
    public IRubyObject call(ThreadContext ctx, IRubyObject headers) {
        HttpExchange exchange = this.exchange;
        if (exchange == null) return ctx.nil;
        exchange.earlyHints(RackHeaders.convert(ctx, headers, true).headers);
        return ctx.nil;
    }
}

package io.piston.rack;

import io.piston.http.HttpExchange;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;

/**
 * Makes the IO an app writes its own body to once the response head went out: for rack.hijack
 * given in the headers (partial hijack) and for a rack 3 streaming body. The Ruby classes of these
 * IOs live in the ruby package, which implements this. Worker thread serving the request.
 */
public interface RawBodyIO {
    /** Partial hijack: the raw connection, a real socket where it can be. */
    IRubyObject afterHeaders(ThreadContext ctx, HttpExchange exchange);

    /** A streaming body's stream (body.call(stream)). */
    IRubyObject stream(ThreadContext ctx, HttpExchange exchange);
}

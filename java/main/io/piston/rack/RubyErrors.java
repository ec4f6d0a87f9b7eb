package io.piston.rack;

import org.jruby.RubyArray;
import org.jruby.exceptions.RaiseException;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;

/** Formats a Ruby exception for the log: class, message and backtrace. Any Ruby thread. */
public final class RubyErrors {
    private RubyErrors() {}

    public static String describe(ThreadContext ctx, RaiseException e) {
        IRubyObject ex = e.getException();
        StringBuilder sb = new StringBuilder();
        sb.append(ex.getMetaClass().getName()).append(": ").append(ex.callMethod(ctx, "message").asJavaString());
        IRubyObject trace = ex.callMethod(ctx, "backtrace");
        if (trace instanceof RubyArray lines) {
            for (int i = 0; i < lines.size(); i++) sb.append("\n\t").append(lines.eltInternal(i).asJavaString());
        }
        return sb.toString();
    }
}

package io.piston.ruby;

import org.jruby.Ruby;
import org.jruby.RubyClass;
import org.jruby.RubyModule;
import org.jruby.runtime.ObjectAllocator;

/**
 * The one loader of the Java core into a JRuby runtime: defines the Ruby classes and module
 * functions of module Piston that are written in Java (Piston::HijackedIO, HijackCall,
 * EarlyHints, Connection; Piston.publish / subscribe / unsubscribe). Called once per runtime,
 * from the thread that loads Piston (ruby/lib/piston.rb), before the server starts.
 */
public final class PistonLibrary {
    private PistonLibrary() {}

    public static synchronized void load(Ruby runtime) {
        RubyModule piston = runtime.defineModule("Piston");
        if (piston.getConstantAt("HijackedIO", false) != null) return;
        defineClass(runtime, piston, "HijackedIO", HijackedIO.class, HijackedIO::new);
        defineClass(runtime, piston, "HijackCall", HijackCall.class, HijackCall::new);
        defineClass(runtime, piston, "EarlyHints", EarlyHints.class, EarlyHints::new);
        // Piston::Connection objects come only from the server, one per upgraded connection.
        defineClass(runtime, piston, "Connection", RubyClient.class, RubyClient::new).getSingletonClass().undefineMethod("new");
        piston.defineAnnotatedMethods(RubyPubSub.class);
    }

    private static RubyClass defineClass(Ruby runtime, RubyModule piston, String name, Class<?> type,
                                         ObjectAllocator allocator) {
        RubyClass c = piston.defineClassUnder(name, runtime.getObject(), allocator);
        c.defineAnnotatedMethods(type);
        return c;
    }
}

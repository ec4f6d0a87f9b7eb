package io.piston.ext;

import org.jruby.Ruby;
import org.jruby.RubyClass;
import org.jruby.RubyModule;

/**
 * Defines the Ruby classes the Java core hands to Ruby code (module Piston). Called once per
 * runtime, from the thread that loads Piston, before the server starts.
 */
public final class PistonLibrary {
    private PistonLibrary() {}

    public static synchronized void load(Ruby runtime) {
        RubyModule piston = runtime.defineModule("Piston");
        if (piston.getConstantAt("HijackedIO", false) != null) return;
        createHijackedIO(runtime, piston);
        createHijackCall(runtime, piston);
        createEarlyHints(runtime, piston);
    }

    private static void createHijackedIO(Ruby runtime, RubyModule piston) {
        RubyClass c = piston.defineClassUnder("HijackedIO", runtime.getObject(), HijackedIO::new);
        c.defineAnnotatedMethods(HijackedIO.class);
    }

    private static void createHijackCall(Ruby runtime, RubyModule piston) {
        RubyClass c = piston.defineClassUnder("HijackCall", runtime.getObject(), HijackCall::new);
        c.defineAnnotatedMethods(HijackCall.class);
    }

    private static void createEarlyHints(Ruby runtime, RubyModule piston) {
        RubyClass c = piston.defineClassUnder("EarlyHints", runtime.getObject(), EarlyHints::new);
        c.defineAnnotatedMethods(EarlyHints.class);
    }
}

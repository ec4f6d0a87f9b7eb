package io.piston.upgrade;

import org.jruby.Ruby;
import org.jruby.RubyClass;
import org.jruby.RubyModule;

/**
 * Defines the Ruby side of upgraded connections: the Piston::Connection class and the
 * Piston.publish / subscribe / unsubscribe module functions. Called once per runtime, from the
 * thread that loads Piston (ruby/lib/piston/upgrade.rb), before the server starts.
 */
public final class UpgradeLibrary {
    private UpgradeLibrary() {}

    public static synchronized void load(Ruby runtime) {
        RubyModule piston = runtime.defineModule("Piston");
        if (piston.getConstantAt("Connection", false) != null) return;
        RubyClass connection = piston.defineClassUnder("Connection", runtime.getObject(), RubyConnection::new);
        connection.defineAnnotatedMethods(RubyConnection.class);
        connection.getSingletonClass().undefineMethod("new");
        piston.defineAnnotatedMethods(RubyPubSub.class);
    }
}

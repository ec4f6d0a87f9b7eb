package io.piston.rack;

import java.util.Map;
import org.jruby.Ruby;
import org.jruby.RubyBasicObject;
import org.jruby.RubyHash;
import org.jruby.runtime.builtin.IRubyObject;

/**
 * A Rack env kept for later in one array of keys and values rather than a Hash: an upgraded
 * connection keeps its request's env for client.env, which most connections never ask for, and a
 * Hash costs about 50 bytes per entry where this costs 8. {@link #unpack} makes a Hash with the
 * same entries, in the same order, the same key and value objects. Immutable; any thread.
 */
public final class PackedEnv {
    private final IRubyObject[] entries; // key, value, key, value, ...

    private PackedEnv(IRubyObject[] entries) {
        this.entries = entries;
    }

    /**
     * The env's entries, or null for a Hash that is more than its entries (frozen, a default or
     * a default proc, compared by identity, another class, instance variables): that one is kept.
     */
    public static PackedEnv pack(RubyHash env) {
        Ruby runtime = env.getRuntime();
        if (env.isFrozen() || env.getMetaClass() != runtime.getHash() || env.hasVariables() || env.isComparedByIdentity()
                || env.hasDefaultProc() || env.getIfNone() != RubyBasicObject.UNDEF && !env.getIfNone().isNil()) {
            return null;
        }
        IRubyObject[] entries = new IRubyObject[env.size() * 2];
        int i = 0;
        for (Object o : env.directEntrySet()) {
            Map.Entry<?, ?> e = (Map.Entry<?, ?>) o;
            entries[i++] = (IRubyObject) e.getKey();
            entries[i++] = (IRubyObject) e.getValue();
        }
        return new PackedEnv(entries);
    }

    /** A new Hash of the packed entries. */
    public RubyHash unpack(Ruby runtime) {
        RubyHash env = new RubyHash(runtime, Math.max(entries.length, 16));
        for (int i = 0; i < entries.length; i += 2) env.fastASet(entries[i], entries[i + 1]);
        return env;
    }
}

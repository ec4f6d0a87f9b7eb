package io.piston.rack;

import org.jruby.Ruby;
import org.jruby.RubyString;
import org.jruby.util.ByteList;

/**
 * A frozen env String that remembers its hash. To Ruby it is a plain frozen String; to the
 * Hash it is put into, its hash is computed once instead of on every one of the two dozen inserts
 * each request makes. Immutable, shared by all worker threads.
 */
final class EnvKey extends RubyString {
    private final int hash;

    EnvKey(Ruby runtime, byte[] bytes) {
        super(runtime, runtime.getString(), new ByteList(bytes, false));
        setFrozen(true);
        hash = super.hashCode();
    }

    @Override
    public int hashCode() {
        return hash;
    }
}

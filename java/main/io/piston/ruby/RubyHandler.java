package io.piston.ruby;

import io.piston.log.Log;
import io.piston.rack.RubyErrors;
import io.piston.upgrade.UpgradeHandler;
import io.piston.upgrade.UpgradedConnection;
import org.jcodings.specific.ASCIIEncoding;
import org.jcodings.specific.UTF8Encoding;
import org.jruby.Ruby;
import org.jruby.RubyBasicObject;
import org.jruby.RubyClass;
import org.jruby.RubyModule;
import org.jruby.RubyString;
import org.jruby.exceptions.RaiseException;
import org.jruby.internal.runtime.methods.DynamicMethod;
import org.jruby.runtime.Signature;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.ByteList;

/**
 * The app's rack.upgrade handler as a connection sees it: which callbacks it has and in which
 * calling style (client argument, or self style by arity; decided once per handler class and
 * kept on the class), and the calls into Ruby, each guarded so that an exception is logged with
 * its backtrace and never escapes. For the self style, Piston::ConnectionMethods is included once
 * into the handler's class, and each handler object is bound to its connection. Worker threads
 * (the connection's callback queue); {@link #of} on the worker that accepted the upgrade.
 */
final class RubyHandler implements UpgradeHandler {
    static final int NONE = 0;
    static final int SELF = 1;
    static final int CLIENT = 2;
    /** Internal variable (invisible to Ruby) of a handler object: its connection, or {@link #SHARED}. */
    static final String CLIENT_KEY = "__piston_connection";
    static final Object SHARED = new Object();
    private static final String SHAPE_KEY = "__piston_upgrade_shape";

    /** Which callbacks a handler class has, and how each is called. */
    record Shape(int onOpen, int onMessage, int onDrained, int onShutdown, int onClose) {}

    final Ruby runtime;
    final IRubyObject object;
    private final Shape shape;

    private RubyHandler(Ruby runtime, IRubyObject object, Shape shape) {
        this.runtime = runtime;
        this.object = object;
        this.shape = shape;
    }

    /** The handler for one connection: a Class is instantiated (no arguments), anything else used as given. */
    static RubyHandler of(ThreadContext ctx, IRubyObject given) {
        IRubyObject object = given instanceof RubyClass c ? c.callMethod(ctx, "new") : given;
        return new RubyHandler(ctx.runtime, object, shape(ctx, object));
    }

    private static Shape shape(ThreadContext ctx, IRubyObject object) {
        RubyModule cls = object.getMetaClass();
        Object cached = cls.getInternalVariable(SHAPE_KEY);
        if (cached instanceof Shape s) return s;
        Shape s = new Shape(style(cls, "on_open", 0), style(cls, "on_message", 1), style(cls, "on_drained", 0),
                style(cls, "on_shutdown", 0), style(cls, "on_close", 0));
        boolean self = s.onOpen == SELF || s.onMessage == SELF || s.onDrained == SELF || s.onShutdown == SELF
                || s.onClose == SELF || (s.onOpen | s.onMessage | s.onDrained | s.onShutdown | s.onClose) == NONE;
        synchronized (RubyHandler.class) {
            if (self) {
                RubyModule methods = (RubyModule) ctx.runtime.getModule("Piston").getConstantAt("ConnectionMethods");
                if (methods != null && !cls.hasModuleInHierarchy(methods)) cls.includeModule(methods);
            }
            cls.setInternalVariable(SHAPE_KEY, s);
        }
        return s;
    }

    /**
     * CLIENT when the method takes the connection as an extra first argument, SELF when it takes
     * only the callback's own arguments ({@code selfArgs}), NONE when there is no such method.
     */
    static int style(RubyModule cls, String name, int selfArgs) {
        DynamicMethod m = cls.searchMethod(name);
        if (m == null || m.isUndefined()) return NONE;
        Signature sig = m.getSignature();
        int required = sig.required();
        int max = sig.hasRest() ? Integer.MAX_VALUE : required + sig.opt();
        int clientArgs = selfArgs + 1;
        if (required == clientArgs) return CLIENT;
        if (required == selfArgs && max == selfArgs) return SELF;
        if (required <= clientArgs && clientArgs <= max) return CLIENT;
        return SELF;
    }

    @Override
    public boolean open(UpgradedConnection c) {
        bind(c);
        return call(c, shape.onOpen, "on_open", null);
    }

    @Override
    public void message(UpgradedConnection c, byte[] data, boolean binary) {
        if (shape.onMessage == NONE) return;
        RubyString s = RubyString.newString(runtime, new ByteList(data,
                binary ? ASCIIEncoding.INSTANCE : UTF8Encoding.INSTANCE, false));
        call(c, shape.onMessage, "on_message", s);
    }

    @Override
    public boolean wantsDrained() {
        return shape.onDrained != NONE;
    }

    @Override
    public void drained(UpgradedConnection c) {
        call(c, shape.onDrained, "on_drained", null);
    }

    @Override
    public void shutdown(UpgradedConnection c) {
        call(c, shape.onShutdown, "on_shutdown", null);
    }

    @Override
    public void close(UpgradedConnection c) {
        call(c, shape.onClose, "on_close", null);
    }

    /** Binds a self-style handler object to its connection; one object serving several open connections is shared. */
    private void bind(UpgradedConnection c) {
        if (!(object instanceof RubyBasicObject obj) || !(c.attachment() instanceof RubyClient client)) return;
        try {
            Object bound = obj.getInternalVariable(CLIENT_KEY);
            if (bound == SHARED || bound == client) return;
            if (bound instanceof RubyClient other && other.connection().isOpen()) {
                obj.setInternalVariable(CLIENT_KEY, SHARED);
            } else {
                obj.setInternalVariable(CLIENT_KEY, client);
            }
        } catch (RaiseException e) {
            // a frozen handler: the self-style methods then find the connection through the callback thread
        }
    }

    /** Calls one callback; false (after logging) when it raised. */
    private boolean call(UpgradedConnection c, int style, String name, IRubyObject arg) {
        if (style == NONE) return true;
        ThreadContext ctx = runtime.getCurrentContext();
        try {
            if (style == CLIENT) {
                IRubyObject client = (IRubyObject) c.attachment();
                if (arg == null) object.callMethod(ctx, name, client);
                else object.callMethod(ctx, name, new IRubyObject[] {client, arg});
            } else if (arg == null) {
                object.callMethod(ctx, name);
            } else {
                object.callMethod(ctx, name, arg);
            }
            return true;
        } catch (RaiseException e) {
            Log.error(name + " of " + object.getMetaClass().getRealClass().getName() + " raised: "
                    + RubyErrors.describe(ctx, e), null);
            return false;
        } catch (RuntimeException e) {
            Log.error(name + " of " + object.getMetaClass().getRealClass().getName() + " failed", e);
            return false;
        }
    }
}

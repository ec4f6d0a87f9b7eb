package io.piston.ruby;

import io.piston.log.Log;
import io.piston.pubsub.MessageListener;
import io.piston.pubsub.PubSubBroker;
import io.piston.rack.PackedEnv;
import io.piston.rack.RubyErrors;
import io.piston.upgrade.SseConnection;
import io.piston.upgrade.UpgradedConnection;
import org.jcodings.Encoding;
import org.jcodings.specific.ASCIIEncoding;
import org.jcodings.specific.USASCIIEncoding;
import org.jcodings.specific.UTF8Encoding;
import org.jruby.Ruby;
import org.jruby.RubyBasicObject;
import org.jruby.RubyClass;
import org.jruby.RubyHash;
import org.jruby.RubyObject;
import org.jruby.RubyProc;
import org.jruby.RubyString;
import org.jruby.RubySymbol;
import org.jruby.anno.JRubyClass;
import org.jruby.anno.JRubyMethod;
import org.jruby.exceptions.RaiseException;
import org.jruby.runtime.Block;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.ByteList;

/**
 * Piston::Connection, the client object of an upgraded connection: what client-style callbacks
 * get as their first argument, and what the self-style methods of a handler delegate to. Every
 * method may be called from any Ruby thread (callbacks, other requests, the app's own threads).
 */
@JRubyClass(name = "Piston::Connection")
public final class RubyClient extends RubyObject {
    private UpgradedConnection connection;
    /** The request's env Hash; packed once the request is over, until client.env asks for it. */
    private Object env;
    private boolean envGiven; // client.env handed the Hash out: it stays a Hash

    public RubyClient(Ruby runtime, RubyClass type) {
        super(runtime, type);
    }

    static RubyClient create(Ruby runtime, UpgradedConnection connection, RubyHash env) {
        RubyClient c = new RubyClient(runtime, (RubyClass) runtime.getModule("Piston").getConstantAt("Connection"));
        c.connection = connection;
        c.env = env;
        connection.attach(c);
        return c;
    }

    UpgradedConnection connection() {
        return connection;
    }

    /**
     * The worker that served the upgrade request, at its very end (after rack.response_finished):
     * the env is kept packed from here on, unless the app already got it through client.env.
     */
    synchronized void requestOver() {
        if (envGiven || !(env instanceof RubyHash hash)) return;
        PackedEnv packed = PackedEnv.pack(hash);
        if (packed != null) env = packed;
    }

    /**
     * The connection of a self-style handler object: the one it is bound to, or (for a handler
     * shared by several connections) the one whose callback runs on this thread.
     */
    @JRubyMethod(name = "for", meta = true)
    public static IRubyObject of(ThreadContext ctx, IRubyObject self, IRubyObject handler) {
        Object bound = handler instanceof RubyBasicObject obj ? obj.getInternalVariable(RubyHandler.CLIENT_KEY) : null;
        if (bound instanceof RubyClient c) return c;
        UpgradedConnection current = UpgradedConnection.current();
        if (current != null && current.attachment() instanceof RubyClient c) return c;
        throw ctx.runtime.newRuntimeError("no upgraded connection for " + handler.inspect()
                + " (rack.upgrade handlers get one when on_open runs)");
    }

    /**
     * Queues a message: BINARY strings as binary frames, others as text; SSE: a data event. A
     * small String's bytes are queued without a copy: a frozen String cannot change, and any other
     * is marked shared, so that changing it later copies its bytes first (what String#dup relies on).
     */
    @JRubyMethod(name = "write")
    public IRubyObject write(ThreadContext ctx, IRubyObject data) {
        RubyString s = utf8OrBinary(ctx, data);
        ByteList b = s.getByteList();
        boolean stable = s.isFrozen();
        if (!stable && UpgradedConnection.keepable(b.unsafeBytes().length, b.realSize())) {
            s.setByteListShared();
            stable = true;
        }
        boolean binary = s.getEncoding() == ASCIIEncoding.INSTANCE;
        return ctx.runtime.newBoolean(connection.sendMessage(b.unsafeBytes(), b.begin(), b.realSize(), binary, stable));
    }

    /** write_sse(data:, event: nil, id: nil, retry: nil); on a WebSocket only the data is written. */
    @JRubyMethod(name = "write_sse")
    public IRubyObject writeSse(ThreadContext ctx, IRubyObject arg) {
        if (!(arg instanceof RubyHash opts)) return write(ctx, arg);
        IRubyObject data = option(ctx, opts, "data");
        if (!(connection instanceof SseConnection sse)) return data == null ? ctx.fals : write(ctx, data);
        ByteList b = data == null ? null : utf8OrBinary(ctx, data).getByteList();
        boolean ok = sse.sendEvent(text(ctx, option(ctx, opts, "event")), text(ctx, option(ctx, opts, "id")),
                text(ctx, option(ctx, opts, "retry")), b == null ? null : b.unsafeBytes(), b == null ? 0 : b.begin(),
                b == null ? 0 : b.realSize());
        return ctx.runtime.newBoolean(ok);
    }

    @JRubyMethod(name = "close")
    public IRubyObject close(ThreadContext ctx) {
        connection.close();
        return ctx.nil;
    }

    @JRubyMethod(name = "open?")
    public IRubyObject isOpen(ThreadContext ctx) {
        return ctx.runtime.newBoolean(connection.isOpen());
    }

    @JRubyMethod(name = "pending")
    public IRubyObject pending(ThreadContext ctx) {
        return ctx.runtime.newFixnum(connection.pending());
    }

    /** The request's env: the same Hash on every call (unpacked on the first one after the request). */
    @JRubyMethod(name = "env")
    public synchronized IRubyObject env(ThreadContext ctx) {
        envGiven = true;
        if (env instanceof PackedEnv packed) env = packed.unpack(ctx.runtime);
        return (IRubyObject) env;
    }

    @JRubyMethod(name = "protocol")
    public IRubyObject protocol(ThreadContext ctx) {
        return ctx.runtime.newSymbol(connection.protocol().rackName());
    }

    @JRubyMethod(name = "timeout")
    public IRubyObject timeout(ThreadContext ctx) {
        return ctx.runtime.newFixnum(connection.timeout());
    }

    @JRubyMethod(name = "timeout=")
    public IRubyObject setTimeout(ThreadContext ctx, IRubyObject seconds) {
        connection.timeout((int) seconds.convertToInteger().getLongValue());
        return seconds;
    }

    @JRubyMethod(name = "handler")
    public IRubyObject handler(ThreadContext ctx) {
        return connection.handler() instanceof RubyHandler h ? h.object : ctx.nil;
    }

    /** Switches handlers: the old one's on_close, then the new one's on_open, in callback order. */
    @JRubyMethod(name = "handler=")
    public IRubyObject setHandler(ThreadContext ctx, IRubyObject handler) {
        connection.handler(RubyHandler.of(ctx, handler));
        return handler;
    }

    /** subscribe(channel, match: nil) { |channel, message| }: without a block, messages go straight to the client. */
    @JRubyMethod(name = "subscribe", required = 1, optional = 1)
    public IRubyObject subscribe(ThreadContext ctx, IRubyObject[] args, Block block) {
        String channel = channelName(ctx, args[0]);
        boolean pattern = patternOption(ctx, args);
        MessageListener listener = block.isGiven() ? blockListener(ctx.runtime, block, "subscription to " + channel) : null;
        return ctx.runtime.newBoolean(connection.subscribe(channel, pattern, listener));
    }

    @JRubyMethod(name = "unsubscribe", required = 1, optional = 1)
    public IRubyObject unsubscribe(ThreadContext ctx, IRubyObject[] args) {
        return ctx.runtime.newBoolean(connection.unsubscribe(channelName(ctx, args[0]), patternOption(ctx, args)));
    }

    @JRubyMethod(name = "publish", required = 2, optional = 1)
    public IRubyObject publish(ThreadContext ctx, IRubyObject[] args) {
        return publishMessage(ctx, args);
    }

    @JRubyMethod(name = "pubsub?")
    public IRubyObject isPubsub(ThreadContext ctx) {
        return ctx.tru;
    }

    @JRubyMethod(name = "inspect")
    public IRubyObject inspect(ThreadContext ctx) {
        String state = connection.isOpen() ? "open" : "closed";
        return ctx.runtime.newString("#<Piston::Connection " + connection.protocol().rackName() + " "
                + connection.remoteAddress() + " " + state + ">");
    }

    // ---- shared with Piston.publish / Piston.subscribe ------------------------------------------

    static IRubyObject publishMessage(ThreadContext ctx, IRubyObject[] args) {
        String channel = channelName(ctx, args[0]);
        RubyString s = utf8OrBinary(ctx, args[1]);
        ByteList b = s.getByteList();
        byte[] data = new byte[b.realSize()];
        System.arraycopy(b.unsafeBytes(), b.begin(), data, 0, data.length);
        PubSubBroker.get().publish(channel, data, s.getEncoding() == ASCIIEncoding.INSTANCE);
        return ctx.tru;
    }

    /** Channel names: Symbols and Strings name the same channel. */
    static String channelName(ThreadContext ctx, IRubyObject name) {
        if (name instanceof RubySymbol sym) return sym.asJavaString();
        if (name instanceof RubyString str) return str.decodeString();
        if (name.isNil()) throw ctx.runtime.newArgumentError("channel name must not be nil");
        return name.asString().decodeString();
    }

    /** True for {@code match: :redis} (glob patterns); other values of match are refused. */
    static boolean patternOption(ThreadContext ctx, IRubyObject[] args) {
        if (args.length < 2) return false;
        if (!(args[args.length - 1] instanceof RubyHash opts)) return false;
        IRubyObject match = option(ctx, opts, "match");
        if (match == null || match.isNil()) return false;
        if (match.toString().equals("redis")) return true;
        throw ctx.runtime.newArgumentError("match: " + match.inspect() + " is not supported (use match: :redis)");
    }

    /** Runs a Ruby block for each message, with (channel, message); exceptions are logged. */
    static MessageListener blockListener(Ruby runtime, Block block, String what) {
        RubyProc proc = block.getProcObject() != null ? block.getProcObject() : RubyProc.newProc(runtime, block, Block.Type.PROC);
        return message -> {
            ThreadContext ctx = runtime.getCurrentContext();
            Object[] strings = message.converted();
            if (strings == null) {
                RubyString ch = RubyString.newString(runtime, message.channel);
                ch.setFrozen(true);
                RubyString msg = RubyString.newString(runtime, new ByteList(message.data,
                        message.binary ? ASCIIEncoding.INSTANCE : UTF8Encoding.INSTANCE, false));
                msg.setFrozen(true);
                strings = new Object[] {ch, msg};
                message.converted(strings);
            }
            try {
                proc.call(ctx, new IRubyObject[] {(IRubyObject) strings[0], (IRubyObject) strings[1]});
            } catch (RaiseException e) {
                Log.error("block of the " + what + " raised: " + RubyErrors.describe(ctx, e), null);
            }
        };
    }

    /** A String to send: BINARY stays binary, UTF-8 and 7-bit strings as they are, others transcoded to UTF-8. */
    static RubyString utf8OrBinary(ThreadContext ctx, IRubyObject data) {
        RubyString s = data instanceof RubyString str ? str : data.callMethod(ctx, "to_s").convertToString();
        Encoding enc = s.getEncoding();
        if (enc == UTF8Encoding.INSTANCE || enc == ASCIIEncoding.INSTANCE || enc == USASCIIEncoding.INSTANCE) return s;
        if (s.isAsciiOnly()) return s;
        return s.callMethod(ctx, "encode", ctx.runtime.newString("UTF-8")).convertToString();
    }

    private static IRubyObject option(ThreadContext ctx, RubyHash opts, String name) {
        IRubyObject v = opts.fastARef(ctx.runtime.newSymbol(name));
        if (v == null) v = opts.fastARef(ctx.runtime.newString(name));
        return v;
    }

    private static String text(ThreadContext ctx, IRubyObject v) {
        return v == null || v.isNil() ? null : v.asString().decodeString();
    }
}

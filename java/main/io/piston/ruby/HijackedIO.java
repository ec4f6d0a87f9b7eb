package io.piston.ruby;

import io.piston.http.HijackedStream;
import org.jruby.Ruby;
import org.jruby.RubyClass;
import org.jruby.RubyHash;
import org.jruby.RubyObject;
import org.jruby.RubyString;
import org.jruby.anno.JRubyClass;
import org.jruby.anno.JRubyMethod;
import org.jruby.exceptions.RaiseException;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.ByteList;

/**
 * Piston::HijackedIO: the IO-like object an app gets from rack.hijack (and a rack 3 streaming
 * body gets as its stream). Reads block the calling Ruby thread until bytes arrive; writes go
 * straight to the connection. Any Ruby thread.
 */
@JRubyClass(name = "Piston::HijackedIO")
public final class HijackedIO extends RubyObject {
    private HijackedStream connection;
    private volatile boolean closed;
    private boolean readClosed;

    public HijackedIO(Ruby runtime, RubyClass type) {
        super(runtime, type);
    }

    public static HijackedIO wrap(Ruby runtime, HijackedStream connection) {
        HijackedIO io = new HijackedIO(runtime, (RubyClass) runtime.getModule("Piston").getConstantAt("HijackedIO"));
        io.connection = connection;
        return io;
    }

    @JRubyMethod(name = "read", optional = 2)
    public IRubyObject read(ThreadContext ctx, IRubyObject[] args) throws InterruptedException {
        Integer length = args.length > 0 && !args[0].isNil() ? (int) args[0].convertToInteger().getLongValue() : null;
        ByteList out = new ByteList();
        while (length == null || out.length() < length) {
            byte[] chunk = readChunk(length == null ? 64 * 1024 : length - out.length(), -1);
            if (chunk == null) break;
            out.append(chunk);
        }
        if (length != null && length > 0 && out.length() == 0) return ctx.nil;
        return fill(ctx, args.length > 1 ? args[1] : ctx.nil, out);
    }

    @JRubyMethod(name = "readpartial", required = 1, optional = 1)
    public IRubyObject readpartial(ThreadContext ctx, IRubyObject[] args) throws InterruptedException {
        byte[] chunk = readChunk((int) args[0].convertToInteger().getLongValue(), -1);
        if (chunk == null) throw ctx.runtime.newEOFError();
        return fill(ctx, args.length > 1 ? args[1] : ctx.nil, new ByteList(chunk, false));
    }

    @JRubyMethod(name = "read_nonblock", required = 1, optional = 2)
    public IRubyObject readNonblock(ThreadContext ctx, IRubyObject[] args) throws InterruptedException {
        boolean raise = exceptionOption(ctx, args);
        IRubyObject buffer = args.length > 1 && !(args[1] instanceof RubyHash) ? args[1] : ctx.nil;
        byte[] chunk = readChunk((int) args[0].convertToInteger().getLongValue(), 0);
        if (chunk == null) {
            if (raise) throw ctx.runtime.newEOFError();
            return ctx.nil;
        }
        if (chunk.length == 0) {
            if (!raise) return ctx.runtime.newSymbol("wait_readable");
            RubyClass wait = (RubyClass) ctx.runtime.getIO().getConstant("EAGAINWaitReadable");
            throw RaiseException.from(ctx.runtime, wait, "Resource temporarily unavailable - read would block");
        }
        return fill(ctx, buffer, new ByteList(chunk, false));
    }

    @JRubyMethod(name = "wait_readable", optional = 1)
    public IRubyObject waitReadable(ThreadContext ctx, IRubyObject[] args) throws InterruptedException {
        long millis = args.length == 0 || args[0].isNil() ? -1 : (long) (args[0].convertToFloat().getDoubleValue() * 1000);
        long deadline = System.currentTimeMillis() + millis;
        while (!connection.readable()) {
            if (millis >= 0 && System.currentTimeMillis() >= deadline) return ctx.nil;
            Thread.sleep(millis < 0 ? 10 : Math.min(10, Math.max(1, deadline - System.currentTimeMillis())));
        }
        return this;
    }

    @JRubyMethod(name = {"write", "syswrite"}, rest = true)
    public IRubyObject write(ThreadContext ctx, IRubyObject[] args) {
        long total = 0;
        for (IRubyObject arg : args) {
            ByteList bytes = arg.asString().getByteList();
            if (closed || !connection.write(bytes.unsafeBytes(), bytes.begin(), bytes.realSize())) {
                throw ctx.runtime.newErrnoEPIPEError();
            }
            total += bytes.realSize();
        }
        return ctx.runtime.newFixnum(total);
    }

    @JRubyMethod(name = "write_nonblock", required = 1, optional = 1)
    public IRubyObject writeNonblock(ThreadContext ctx, IRubyObject[] args) {
        return write(ctx, new IRubyObject[] {args[0]});
    }

    @JRubyMethod(name = "<<")
    public IRubyObject append(ThreadContext ctx, IRubyObject data) {
        write(ctx, new IRubyObject[] {data});
        return this;
    }

    @JRubyMethod(name = "flush")
    public IRubyObject flush(ThreadContext ctx) {
        return this;
    }

    @JRubyMethod(name = "sync")
    public IRubyObject sync(ThreadContext ctx) {
        return ctx.tru;
    }

    @JRubyMethod(name = "sync=")
    public IRubyObject setSync(ThreadContext ctx, IRubyObject value) {
        return value;
    }

    @JRubyMethod(name = "close_write")
    public IRubyObject closeWrite(ThreadContext ctx) {
        connection.shutdownOutput();
        return ctx.nil;
    }

    @JRubyMethod(name = "close_read")
    public IRubyObject closeRead(ThreadContext ctx) {
        readClosed = true;
        return ctx.nil;
    }

    @JRubyMethod(name = "close")
    public IRubyObject close(ThreadContext ctx) {
        closed = true;
        connection.close();
        return ctx.nil;
    }

    @JRubyMethod(name = "closed?")
    public IRubyObject isClosed(ThreadContext ctx) {
        return ctx.runtime.newBoolean(closed || !connection.isOpen());
    }

    private byte[] readChunk(int max, long timeoutMillis) throws InterruptedException {
        if (readClosed || max <= 0) return readClosed ? null : new byte[0];
        return connection.read(max, timeoutMillis);
    }

    private static boolean exceptionOption(ThreadContext ctx, IRubyObject[] args) {
        IRubyObject last = args[args.length - 1];
        if (last instanceof RubyHash opts) {
            IRubyObject v = opts.fastARef(ctx.runtime.newSymbol("exception"));
            return v == null || v.isTrue();
        }
        return true;
    }

    private static IRubyObject fill(ThreadContext ctx, IRubyObject buffer, ByteList bytes) {
        if (buffer instanceof RubyString s) {
            s.replace(RubyString.newString(ctx.runtime, bytes));
            return s;
        }
        return RubyString.newString(ctx.runtime, bytes);
    }
}

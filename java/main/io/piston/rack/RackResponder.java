package io.piston.rack;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.piston.http.HttpExchange;
import io.piston.http.ResponseHead;
import io.piston.log.Log;
import java.io.File;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyString;
import org.jruby.exceptions.RaiseException;
import org.jruby.runtime.Block;
import org.jruby.runtime.CallBlock19;
import org.jruby.runtime.Signature;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.ByteList;

/**
 * Writes an app's [status, headers, body] to the exchange, on the worker thread serving it:
 * Array bodies in one write; to_path bodies zero-copy from the file; each bodies chunk by chunk
 * as produced (waiting while the client is not reading); rack 3 streaming bodies (call(stream))
 * and partial hijack on the raw connection. body.close is always called.
 */
public final class RackResponder {
    /** The app returned something that is not a Rack response. */
    public static final class InvalidResponseException extends RuntimeException {
        InvalidResponseException(String message) {
            super(message, null, false, false);
        }
    }

    private final Ruby runtime;
    private final boolean splitHeaderLines;
    private final RawBodyIO rawBody;

    public RackResponder(Ruby runtime, boolean rack2, RawBodyIO rawBody) {
        this.runtime = runtime;
        this.splitHeaderLines = rack2;
        this.rawBody = rawBody;
    }

    public void respond(ThreadContext ctx, HttpExchange exchange, IRubyObject response) {
        if (!(response instanceof RubyArray triple) || triple.size() != 3) {
            closeBody(ctx, response);
            throw new InvalidResponseException("app returned " + describe(ctx, response) + ", not [status, headers, body]");
        }
        IRubyObject body = triple.eltInternal(2);
        try {
            int status = status(ctx, triple.eltInternal(0));
            if (body instanceof RubyArray parts && exchange.takesReadyMade(status)
                    && respondReadyMade(ctx, exchange, status, triple.eltInternal(1), parts)) {
                return;
            }
            RackHeaders.Result headers = RackHeaders.convert(ctx, triple.eltInternal(1), splitHeaderLines);
            if (headers.hijack != null) {
                exchange.beginRaw(status, headers.headers);
                headers.hijack.callMethod(ctx, "call", rawBody.afterHeaders(ctx, exchange));
            } else if (body instanceof RubyArray parts) {
                exchange.respond(status, headers.headers, concat(exchange.channel().alloc(), parts, SMALL_BODY),
                        headers.contentLength);
            } else if (body.respondsTo("to_path") && sendFile(ctx, exchange, status, headers, body)) {
                exchange.end();
            } else if (body.respondsTo("each")) {
                exchange.begin(status, headers.headers);
                body.callMethod(ctx, "each", IRubyObject.NULL_ARRAY, chunkWriter(ctx, exchange));
                exchange.end();
            } else if (body.respondsTo("call")) {
                exchange.beginRaw(status, headers.headers);
                body.callMethod(ctx, "call", rawBody.stream(ctx, exchange));
            } else {
                throw new InvalidResponseException("body " + describe(ctx, body) + " responds to none of each, to_path, call");
            }
        } finally {
            closeBody(ctx, body);
        }
    }

    /**
     * The common response, an Array body with plain headers, as a head the worker writes and the
     * IO thread only sends. False (nothing sent) when the headers need the general path: a
     * partial hijack, a Connection or Transfer-Encoding header.
     */
    private boolean respondReadyMade(ThreadContext ctx, HttpExchange exchange, int status, IRubyObject headers,
                                     RubyArray parts) {
        ResponseHead head = new ResponseHead(status);
        RackHeaders.Result result = RackHeaders.encode(ctx, headers, splitHeaderLines, head);
        if (result.hijack != null || head.needsGeneralPath()) return false;
        exchange.respond(head, concat(exchange.channel().alloc(), parts, ResponseHead.MERGE_BODY));
        return true;
    }

    /** Calls body.close when the body has it; a failure there is logged, not raised. */
    public void closeBody(ThreadContext ctx, IRubyObject response) {
        IRubyObject body = response;
        if (response instanceof RubyArray triple && triple.size() == 3) body = triple.eltInternal(2);
        if (body == null || body instanceof RubyArray || !body.respondsTo("close")) return;
        try {
            body.callMethod(ctx, "close");
        } catch (RaiseException e) {
            Log.error("body.close raised: " + RubyErrors.describe(ctx, e), null);
        }
    }

    private boolean sendFile(ThreadContext ctx, HttpExchange exchange, int status, RackHeaders.Result headers,
                             IRubyObject body) {
        File file = new File(body.callMethod(ctx, "to_path").asJavaString());
        if (!file.isFile() || !file.canRead()) return false;
        long length = file.length();
        if (!headers.headers.contains(HttpHeaderNames.CONTENT_LENGTH)) headers.headers.set(HttpHeaderNames.CONTENT_LENGTH, length);
        else length = Math.min(length, parseLength(headers.headers.get(HttpHeaderNames.CONTENT_LENGTH), length));
        exchange.begin(status, headers.headers);
        exchange.sendFile(file, 0, length);
        return true;
    }

    private static long parseLength(String value, long fallback) {
        try {
            return Long.parseLong(value.trim());
        } catch (NumberFormatException e) {
            return fallback;
        }
    }

    private Block chunkWriter(ThreadContext ctx, HttpExchange exchange) {
        return CallBlock19.newCallClosure(runtime.getTopSelf(), runtime.getObject(), Signature.ONE_ARGUMENT,
                (c, args, blk) -> {
                    if (args.length > 0) {
                        ByteList bytes = args[0].asString().getByteList();
                        ByteBuf buf = exchange.channel().alloc().buffer(bytes.realSize());
                        buf.writeBytes(bytes.unsafeBytes(), bytes.begin(), bytes.realSize());
                        exchange.write(buf);
                    }
                    return c.nil;
                }, ctx);
    }

    /**
     * Netty's response encoder copies a body of 128 bytes or less into the buffer it encodes the
     * head into (larger ones too when that buffer has room), so a small body goes in a plain
     * array: a pooled direct buffer would cost more to take and give back than the copy.
     */
    private static final int SMALL_BODY = 128;

    /** The parts in one buffer: a plain array up to {@code heapUpTo} bytes, a pooled one above. */
    private static ByteBuf concat(ByteBufAllocator alloc, RubyArray parts, int heapUpTo) {
        int n = parts.size();
        int total = 0;
        for (int i = 0; i < n; i++) total += part(parts.eltInternal(i)).realSize();
        if (total == 0) return Unpooled.EMPTY_BUFFER;
        ByteBuf buf = total <= heapUpTo ? Unpooled.wrappedBuffer(new byte[total]).clear() : alloc.buffer(total);
        for (int i = 0; i < n; i++) {
            ByteList b = part(parts.eltInternal(i));
            buf.writeBytes(b.unsafeBytes(), b.begin(), b.realSize());
        }
        return buf;
    }

    private static ByteList part(IRubyObject o) {
        if (o instanceof RubyString s) return s.getByteList();
        throw new InvalidResponseException("body parts must be Strings, got " + o.getMetaClass().getName());
    }

    private static int status(ThreadContext ctx, IRubyObject value) {
        int status;
        try {
            status = (int) value.convertToInteger().getLongValue();
        } catch (RaiseException e) {
            status = (int) value.callMethod(ctx, "to_i").convertToInteger().getLongValue();
        }
        if (status < 100 || status > 999) throw new InvalidResponseException("invalid status " + status);
        return status;
    }

    private static String describe(ThreadContext ctx, IRubyObject o) {
        if (o == null) return "nothing";
        String s = o.callMethod(ctx, "inspect").asJavaString();
        return s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }

}

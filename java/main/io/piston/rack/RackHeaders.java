package io.piston.rack;

import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.netty.util.concurrent.FastThreadLocal;
import io.piston.http.ResponseHead;
import org.jruby.RubyArray;
import org.jruby.RubyHash;
import org.jruby.RubyString;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.ByteList;

/**
 * Turns an app's response headers (a Hash; values a String, "\n"-joined for rack 2, or an Array
 * for rack 3) into Netty headers or into a ready-made {@link ResponseHead}, refusing any name or
 * value that would break the response apart (CR, LF, NUL). Runs on the worker thread serving
 * the request.
 */
public final class RackHeaders {
    private static final DefaultHttpHeadersFactory FACTORY =
            DefaultHttpHeadersFactory.headersFactory().withValidation(false);

    /** A header the app returned that would inject bytes into the response. */
    public static final class InvalidHeaderException extends RuntimeException {
        InvalidHeaderException(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * What the headers were converted into (Netty headers, or the lines of a response head), and
     * what the conversion noticed on the way: a partial-hijack callable, a Content-Length.
     */
    public static final class Result {
        /** The Netty headers, from {@link #convert}; null from {@link #encode}. */
        public final HttpHeaders headers;
        private final ResponseHead head;
        public IRubyObject hijack;
        /** Whether the app gave a Content-Length (so the exchange need not look for one). */
        public boolean contentLength;

        private Result(HttpHeaders headers, ResponseHead head) {
            this.headers = headers;
            this.head = head;
        }

        private void add(AsciiString name, byte[] value, int start, int count) {
            if (head != null) head.add(name, value, start, count);
            else headers.add(name, new AsciiString(value, start, count, true));
        }
    }

    /**
     * Header names each thread converted lately, found by the identity of the app's frozen
     * String key: from one response to the next the keys are mostly the same objects (literals,
     * constants), so they are checked and copied once. Pairs of slots: key, name.
     */
    private static final int RECENT = 32;
    private static final FastThreadLocal<Object[]> RECENT_NAMES = new FastThreadLocal<>() {
        @Override
        protected Object[] initialValue() {
            return new Object[2 * RECENT];
        }
    };

    private RackHeaders() {}

    /** The headers as Netty headers, for the exchange's general path. */
    public static Result convert(ThreadContext ctx, IRubyObject source, boolean splitLines) {
        return walk(ctx, source, splitLines, new Result(FACTORY.newHeaders(), null));
    }

    /** The headers as lines of {@code head}, for a ready-made response; {@code headers} is then null. */
    public static Result encode(ThreadContext ctx, IRubyObject source, boolean splitLines, ResponseHead head) {
        return walk(ctx, source, splitLines, new Result(null, head));
    }

    private static Result walk(ThreadContext ctx, IRubyObject source, boolean splitLines, Result result) {
        if (source.isNil()) return result;
        if (!(source instanceof RubyHash)) source = source.callMethod(ctx, "to_hash");
        if (!(source instanceof RubyHash hash)) throw new InvalidHeaderException("headers must be a Hash");
        hash.visitAll(ctx, new RubyHash.VisitorWithState<Result>() {
            @Override
            public void visit(ThreadContext c, RubyHash h, IRubyObject key, IRubyObject value, int index, Result state) {
                add(c, state, key, value, splitLines);
            }
        }, result);
        return result;
    }

    private static void add(ThreadContext ctx, Result result, IRubyObject key, IRubyObject value, boolean splitLines) {
        Object[] recent = RECENT_NAMES.get();
        int slot = (System.identityHashCode(key) & (RECENT - 1)) << 1;
        AsciiString headerName;
        if (recent[slot] == key) {
            headerName = (AsciiString) recent[slot + 1];
        } else {
            ByteList name = key.asString().getByteList();
            if (name.length() > 5 && name.startsWith(RACK_PREFIX)) {
                if (name.equal(RACK_HIJACK)) result.hijack = value;
                return;
            }
            checkName(name);
            headerName = ascii(name);
            if (key instanceof RubyString && key.isFrozen()) { // its bytes cannot change
                recent[slot] = key;
                recent[slot + 1] = headerName;
            }
        }
        boolean added = false;
        if (value instanceof RubyArray array) {
            for (int i = 0; i < array.size(); i++) {
                addValue(result, headerName, array.eltInternal(i).asString().getByteList(), false);
                added = true;
            }
        } else if (!value.isNil()) {
            addValue(result, headerName, value.asString().getByteList(), splitLines);
            added = true;
        }
        if (added && headerName.length() == CONTENT_LENGTH_SIZE && headerName.contentEqualsIgnoreCase(HttpHeaderNames.CONTENT_LENGTH)) {
            result.contentLength = true;
        }
    }

    private static void addValue(Result result, AsciiString name, ByteList value, boolean splitLines) {
        byte[] b = value.unsafeBytes();
        int start = value.begin();
        int end = start + value.realSize();
        int partStart = start;
        for (int i = start; i < end; i++) {
            byte c = b[i];
            if (c == '\n' && splitLines) {
                result.add(name, b, partStart, i - partStart);
                partStart = i + 1;
            } else if (c == '\r' || c == '\n' || c == 0) {
                throw new InvalidHeaderException("response header " + name + " has a CR, LF or NUL in its value");
            }
        }
        result.add(name, b, partStart, end - partStart);
    }

    private static void checkName(ByteList name) {
        if (name.realSize() == 0) throw new InvalidHeaderException("empty response header name");
        byte[] b = name.unsafeBytes();
        for (int i = name.begin(), end = name.begin() + name.realSize(); i < end; i++) {
            byte c = b[i];
            if (c == '\r' || c == '\n' || c == 0 || c == ':' || c == ' ' || c == '\t') {
                throw new InvalidHeaderException("response header name " + name + " has a forbidden character");
            }
        }
    }

    private static AsciiString ascii(ByteList bytes) {
        return new AsciiString(bytes.unsafeBytes(), bytes.begin(), bytes.realSize(), true);
    }

    private static final int CONTENT_LENGTH_SIZE = HttpHeaderNames.CONTENT_LENGTH.length();
    private static final ByteList RACK_PREFIX = new ByteList("rack.".getBytes(), false);
    private static final ByteList RACK_HIJACK = new ByteList("rack.hijack".getBytes(), false);

}

package io.piston.rack;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.util.AsciiString;
import io.piston.http.HttpExchange;
import io.piston.http.RequestBody;
import io.piston.http.RequestRules;
import io.piston.upgrade.Protocol;
import io.piston.upgrade.UpgradeDetector;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Iterator;
import java.util.Map;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyClass;
import org.jruby.RubyHash;
import org.jruby.RubyString;
import org.jruby.runtime.Block;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.ByteList;

/**
 * Builds the Rack env (a plain Ruby Hash) for one request, per the Rack SPEC of rack 2.2 and 3.x.
 * Runs on the worker thread that serves the request; keys and constant values are shared frozen
 * strings from {@link EnvKeys}.
 */
public final class RackEnvBuilder {
    private final Ruby runtime;
    private final EnvKeys keys;
    private final boolean rack2;
    private final boolean multithread;
    private final RubyClass stringIO;
    private final RubyClass fileClass;
    private final IRubyObject rackVersionValue;
    private final RubyHash template;
    private final IRubyObject emptyInput;
    private final IRubyObject websocketSymbol;
    private final IRubyObject sseSymbol;

    public RackEnvBuilder(Ruby runtime, EnvKeys keys, boolean rack2, boolean multithread) {
        this.runtime = runtime;
        this.keys = keys;
        this.rack2 = rack2;
        this.multithread = multithread;
        this.stringIO = runtime.getClass("StringIO");
        this.fileClass = runtime.getFile();
        RubyArray version = RubyArray.newArray(runtime, runtime.newFixnum(1), runtime.newFixnum(rack2 ? 6 : 3));
        version.setFrozen(true);
        this.rackVersionValue = version;
        this.emptyInput = runtime.getModule("Piston").getConstantAt("EmptyInput");
        this.websocketSymbol = runtime.newSymbol(Protocol.WEBSOCKET.rackName());
        this.sseSymbol = runtime.newSymbol(Protocol.SSE.rackName());
        if (emptyInput == null) throw new IllegalStateException("Piston::EmptyInput is not loaded (require \"piston\")");
        this.template = template(rack2, multithread);
        if (stringIO == null) throw new IllegalStateException("StringIO is not loaded (require \"stringio\" first)");
    }

    /**
     * The entries every env has with the same value, in a Hash that each request copies (a copy
     * clones the table; inserting them one by one would hash every key again). Sized for the
     * whole env so the copy does not grow as the per-request entries go in.
     */
    private RubyHash template(boolean rack2, boolean multithread) {
        RubyHash t = new RubyHash(runtime, 64);
        t.fastASet(keys.scriptName, keys.empty);
        t.fastASet(keys.rackUrlScheme, keys.http);
        t.fastASet(keys.rackErrors, runtime.getGlobalVariables().get("$stderr"));
        t.fastASet(keys.rackMultithread, runtime.newBoolean(multithread));
        t.fastASet(keys.rackMultiprocess, runtime.getFalse());
        t.fastASet(keys.rackRunOnce, runtime.getFalse());
        t.fastASet(keys.serverSoftware, keys.serverSoftwareValue);
        t.fastASet(keys.rackHijackP, runtime.getTrue());
        if (rack2) t.fastASet(keys.rackVersion, rackVersionValue);
        return t;
    }

    public RubyHash build(ThreadContext ctx, HttpExchange exchange) {
        HttpRequest request = exchange.request();
        RubyHash env = template.dupFast(ctx);
        env.fastASet(keys.requestMethod, keys.method(request.method()));
        setPathAndQuery(env, request.uri());
        env.fastASet(keys.serverProtocol,
                request.protocolVersion().equals(HttpVersion.HTTP_1_0) ? keys.http10 : keys.http11);
        env.fastASet(keys.remoteAddr, remoteAddr(exchange));
        AsciiString host = setHeaders(env, request, exchange.body());
        String authority = RequestRules.authorityOf(request.uri());
        if (authority != null) {
            // An absolute-form target's authority wins over Host (RFC 9112 §3.2.2).
            host = AsciiString.of(authority);
            env.fastASet(keys.httpHost, binary(host));
        }
        setServerNameAndPort(env, host, exchange);
        env.fastASet(keys.rackInput, input(ctx, exchange));
        // empty until a callback is added: most requests add none
        env.fastASet(keys.rackResponseFinished, RubyArray.newEmptyArray(runtime));
        env.fastASet(keys.rackAfterReply, RubyArray.newEmptyArray(runtime));
        // rack.upgrade?: :websocket for a WebSocket handshake, :sse when Accept lists text/event-stream
        Protocol upgrade = UpgradeDetector.detect(request);
        if (upgrade == Protocol.WEBSOCKET) env.fastASet(keys.rackUpgradeP, websocketSymbol);
        else if (upgrade == Protocol.SSE) env.fastASet(keys.rackUpgradeP, sseSymbol);
        return env;
    }

    /** REMOTE_ADDR, looked up once per connection. */
    private RubyString remoteAddr(HttpExchange exchange) {
        if (exchange.connectionAttachment() instanceof RubyString known) return known;
        InetSocketAddress remote = exchange.remoteAddress();
        RubyString addr = remote == null ? keys.empty : keys.address(remote.getAddress());
        exchange.attachToConnection(addr);
        return addr;
    }

    private void setPathAndQuery(RubyHash env, String uri) {
        int start = 0;
        if (!uri.isEmpty() && uri.charAt(0) != '/' && uri.charAt(0) != '*') {
            // absolute-form (http://host/path): Rack wants only the path
            int scheme = uri.indexOf("://");
            if (scheme > 0) {
                int slash = uri.indexOf('/', scheme + 3);
                int q = uri.indexOf('?', scheme + 3);
                start = slash < 0 ? (q < 0 ? uri.length() : q) : (q >= 0 && q < slash ? q : slash);
            }
        }
        int q = uri.indexOf('?', start);
        String path = q < 0 ? uri.substring(start) : uri.substring(start, q);
        if (path.isEmpty()) path = "/";
        env.fastASet(keys.pathInfo, binary(path));
        env.fastASet(keys.queryString, q < 0 ? keys.empty : binary(uri.substring(q + 1)));
    }

    /** Adds the HTTP_* entries (and CONTENT_*); returns the Host header, or null. */
    private AsciiString setHeaders(RubyHash env, HttpRequest request, RequestBody body) {
        Iterator<Map.Entry<CharSequence, CharSequence>> it = request.headers().iteratorCharSequence();
        boolean chunked = false;
        AsciiString host = null;
        while (it.hasNext()) {
            Map.Entry<CharSequence, CharSequence> header = it.next();
            CharSequence name = header.getKey();
            RubyString key;
            if (AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.CONTENT_TYPE)) {
                key = keys.contentType;
            } else if (AsciiString.contentEqualsIgnoreCase(name, HttpHeaderNames.CONTENT_LENGTH)) {
                key = keys.contentLength;
            } else if (AsciiString.indexOf(name, '_', 0) >= 0) {
                // X_Forwarded_For would read as X-Forwarded-For: drop it so a client cannot spoof one
                continue;
            } else {
                key = keys.headerKey(name);
                if (key == keys.httpTransferEncoding) chunked = true;
                else if (key == keys.httpHost && host == null) host = AsciiString.of(header.getValue());
            }
            RubyString value = binary(header.getValue());
            IRubyObject previous = env.fastARef(key);
            if (previous == null) {
                env.fastASet(key, value);
            } else {
                RubyString joined = ((RubyString) previous).strDup(runtime);
                joined.cat(key == keys.httpCookie ? "; ".getBytes(StandardCharsets.US_ASCII) : ", ".getBytes(StandardCharsets.US_ASCII));
                joined.cat(value.getByteList());
                env.fastASet(key, joined);
            }
        }
        if (chunked) {
            // the body arrives decoded and complete: describe it by its length
            env.delete(runtime.getCurrentContext(), keys.httpTransferEncoding, Block.NULL_BLOCK);
            env.fastASet(keys.contentLength, RubyString.newString(runtime, Long.toString(body.size())));
        }
        return host;
    }

    private void setServerNameAndPort(RubyHash env, AsciiString host, HttpExchange exchange) {
        RubyString[] nameAndPort;
        if (host == null || host.isEmpty()) {
            // No Host (HTTP/1.0) or an empty one: the address the connection came in on. That is a
            // lookup on the channel, so only these requests make it, and it is not cached: a
            // server bound to every interface has more than one address.
            nameAndPort = local(exchange.localAddress());
        } else {
            nameAndPort = keys.hostCache.get(host);
            if (nameAndPort == null) {
                nameAndPort = splitHost(host.toString());
                keys.hostCache.put(host, nameAndPort);
            }
        }
        env.fastASet(keys.serverName, nameAndPort[0]);
        env.fastASet(keys.serverPort, nameAndPort[1]);
    }

    /** SERVER_NAME and SERVER_PORT of the address a connection came in on; localhost:80 without one. */
    private RubyString[] local(InetSocketAddress local) {
        if (local == null) return new RubyString[] {keys.localhost, keys.key("80")};
        return new RubyString[] {keys.address(local.getAddress()), keys.key(Integer.toString(local.getPort()))};
    }

    /** SERVER_NAME and SERVER_PORT from a Host header ("example.com:8080", "[::1]:3000"); the port defaults to 80. */
    private RubyString[] splitHost(String host) {
        String name;
        String port = null;
        if (host.charAt(0) == '[') {
            int close = host.indexOf(']');
            name = close < 0 ? host : host.substring(0, close + 1);
            if (close >= 0 && close + 1 < host.length() && host.charAt(close + 1) == ':') port = host.substring(close + 2);
        } else {
            int colon = host.lastIndexOf(':');
            name = colon < 0 ? host : host.substring(0, colon);
            if (colon >= 0) port = host.substring(colon + 1);
        }
        if (port == null || port.isEmpty() || !isDigits(port)) port = "80";
        return new RubyString[] {keys.key(name), keys.key(port)};
    }

    private static boolean isDigits(String s) {
        for (int i = 0; i < s.length(); i++) if (s.charAt(i) < '0' || s.charAt(i) > '9') return false;
        return true;
    }

    private IRubyObject input(ThreadContext ctx, HttpExchange exchange) {
        RequestBody body = exchange.body();
        if (!body.inMemory()) {
            IRubyObject file = fileClass.callMethod(ctx, "open", new IRubyObject[] {
                    RubyString.newString(runtime, body.file().toString()), RubyString.newString(runtime, "rb")});
            exchange.onFinished(() -> file.callMethod(runtime.getCurrentContext(), "close"));
            return file;
        }
        if (body.size() == 0) return emptyInput;
        RubyString content = RubyString.newStringNoCopy(runtime, body.bytes(), 0, (int) body.size());
        return stringIO.newInstance(ctx, content, Block.NULL_BLOCK);
    }

    /** Header and path bytes as a binary (ASCII-8BIT) string, as Rack servers hand them over. */
    private RubyString binary(CharSequence s) {
        int n = s.length();
        byte[] bytes;
        if (s instanceof AsciiString a) {
            bytes = a.toByteArray();
        } else {
            bytes = new byte[n];
            for (int i = 0; i < n; i++) bytes[i] = (byte) s.charAt(i);
        }
        return RubyString.newString(runtime, new ByteList(bytes, false));
    }
}

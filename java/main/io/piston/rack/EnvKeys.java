package io.piston.rack;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.util.AsciiString;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.jruby.Ruby;
import org.jruby.RubyString;

/**
 * The Rack env's key strings and constant values, created once per runtime, frozen and
 * deduplicated, so building an env allocates only what differs per request. Read from worker
 * threads; the header-name cache fills concurrently and is bounded against random names.
 */
public final class EnvKeys {
    /** Bound of each cache below, so random header names or hosts cannot grow memory. */
    static final int MAX_CACHED = 512;

    final Ruby runtime;
    public final RubyString requestMethod, scriptName, pathInfo, queryString, serverName, serverPort, serverProtocol,
            remoteAddr, contentType, contentLength, rackVersion, rackUrlScheme, rackInput, rackErrors,
            rackMultithread, rackMultiprocess, rackRunOnce, rackHijackP, rackHijack, rackHijackIo, rackEarlyHints,
            rackResponseFinished, rackAfterReply, serverSoftware, rackUpgradeP, rackUpgrade, httpHost,
            httpTransferEncoding, httpCookie;
    final RubyString empty, http, http10, http11, localhost;
    /** The common methods' strings; read-only after construction. */
    private final Map<HttpMethod, RubyString> methods = new HashMap<>();
    /**
     * Every string made while constructing, so that a header key built later for a known name
     * (HTTP_HOST...) is the same object and can be compared by identity. Read-only once sealed.
     */
    private final HashMap<String, RubyString> constants = new HashMap<>();
    private final boolean sealed;
    private final NameCache<RubyString> headerKeys = new NameCache<>(256);
    private final ConcurrentHashMap<InetAddress, RubyString> addresses = new ConcurrentHashMap<>();
    /** Host header value to frozen [SERVER_NAME, SERVER_PORT]. */
    final NameCache<RubyString[]> hostCache = new NameCache<>(64);

    public EnvKeys(Ruby runtime, String software) {
        this.runtime = runtime;
        requestMethod = key("REQUEST_METHOD");
        scriptName = key("SCRIPT_NAME");
        pathInfo = key("PATH_INFO");
        queryString = key("QUERY_STRING");
        serverName = key("SERVER_NAME");
        serverPort = key("SERVER_PORT");
        serverProtocol = key("SERVER_PROTOCOL");
        remoteAddr = key("REMOTE_ADDR");
        contentType = key("CONTENT_TYPE");
        contentLength = key("CONTENT_LENGTH");
        rackVersion = key("rack.version");
        rackUrlScheme = key("rack.url_scheme");
        rackInput = key("rack.input");
        rackErrors = key("rack.errors");
        rackMultithread = key("rack.multithread");
        rackMultiprocess = key("rack.multiprocess");
        rackRunOnce = key("rack.run_once");
        rackHijackP = key("rack.hijack?");
        rackHijack = key("rack.hijack");
        rackHijackIo = key("rack.hijack_io");
        rackEarlyHints = key("rack.early_hints");
        rackResponseFinished = key("rack.response_finished");
        rackAfterReply = key("rack.after_reply");
        serverSoftware = key("SERVER_SOFTWARE");
        rackUpgradeP = key("rack.upgrade?");
        rackUpgrade = key("rack.upgrade");
        httpHost = key("HTTP_HOST");
        httpTransferEncoding = key("HTTP_TRANSFER_ENCODING");
        httpCookie = key("HTTP_COOKIE");
        empty = key("");
        http = key("http");
        http10 = key("HTTP/1.0");
        http11 = key("HTTP/1.1");
        localhost = key("localhost");
        for (HttpMethod m : new HttpMethod[] {HttpMethod.GET, HttpMethod.POST, HttpMethod.PUT, HttpMethod.DELETE,
                HttpMethod.HEAD, HttpMethod.PATCH, HttpMethod.OPTIONS}) {
            methods.put(m, key(m.name()));
        }
        software = software == null ? "Piston" : software;
        serverSoftwareValue = key(software);
        sealed = true;
    }

    final RubyString serverSoftwareValue;

    /** A frozen binary string with its hash cached; the same object for a name made while constructing. */
    RubyString key(String s) {
        RubyString known = constants.get(s);
        if (known != null) return known;
        RubyString str = new EnvKey(runtime, s.getBytes(StandardCharsets.ISO_8859_1));
        if (!sealed) constants.put(s, str);
        return str;
    }

    /** The method as a shared frozen string when it is a common one. */
    RubyString method(HttpMethod method) {
        RubyString common = methods.get(method);
        return common != null ? common : key(method.name());
    }

    /** REMOTE_ADDR for a client address, frozen and cached. */
    RubyString address(InetAddress address) {
        RubyString cached = addresses.get(address);
        if (cached != null) return cached;
        RubyString s = key(address.getHostAddress());
        if (addresses.size() < MAX_CACHED) addresses.put(address, s);
        return s;
    }

    /**
     * The env key for a request header ({@code X-Forwarded-For} becomes {@code HTTP_X_FORWARDED_FOR}),
     * cached for names seen often.
     */
    RubyString headerKey(CharSequence name) {
        AsciiString ascii = name instanceof AsciiString a ? a : new AsciiString(name);
        RubyString cached = headerKeys.get(ascii);
        if (cached != null) return cached;
        StringBuilder sb = new StringBuilder(name.length() + 5).append("HTTP_");
        for (int i = 0; i < name.length(); i++) {
            char c = name.charAt(i);
            if (c == '-') sb.append('_');
            else if (c >= 'a' && c <= 'z') sb.append((char) (c - 32));
            else sb.append(c);
        }
        RubyString k = key(sb.toString());
        headerKeys.put(ascii, k);
        return k;
    }
}

package io.piston.http;

import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpVersion;
import java.util.Iterator;

/**
 * The rules of RFC 9112 that a request head must keep before it may reach the app, checked
 * where the decoder leaves off: the HTTP version, the request target, Host and
 * Transfer-Encoding. A request that breaks one is answered with the status the RFC gives and
 * its connection closed. Stateless; called on the connection's IO thread.
 */
public final class RequestRules {
    /** Why a request is refused: the status to answer and the reason to log. */
    record Violation(int status, String reason) {}

    private RequestRules() {}

    /** The first rule {@code request} breaks, or null when it keeps them all. */
    static Violation check(HttpRequest request) {
        HttpVersion version = request.protocolVersion();
        if (version.majorVersion() != 1 || version.minorVersion() > 1) {
            // Also the HTTP/2 connection preface ("PRI * HTTP/2.0"), sent to an HTTP/1.1 port.
            return new Violation(505, "HTTP version " + version.text() + " not supported");
        }
        String target = request.uri();
        if (!isPrintable(target)) return new Violation(400, "control character in the request target");
        HttpHeaders headers = request.headers();
        Violation host = checkHost(headers, version, target);
        if (host != null) return host;
        String codings = headers.get(HttpHeaderNames.TRANSFER_ENCODING);
        return codings == null ? null : checkTransferEncoding(headers);
    }

    /**
     * The authority of an absolute-form target ("http://example.com:8080/path" gives
     * "example.com:8080"), which stands in for the Host header; null for any other form.
     */
    public static String authorityOf(String target) {
        if (target.isEmpty() || target.charAt(0) == '/' || target.charAt(0) == '*') return null;
        int scheme = target.indexOf("://");
        if (scheme <= 0) return null;
        int start = scheme + 3;
        int end = start;
        while (end < target.length() && "/?#".indexOf(target.charAt(end)) < 0) end++;
        String authority = target.substring(start, end);
        int userinfo = authority.lastIndexOf('@');
        return userinfo < 0 ? authority : authority.substring(userinfo + 1);
    }

    /** An HTTP/1.1 request has exactly one Host (HTTP/1.0 at most one), and it must be a valid host[:port]. */
    private static Violation checkHost(HttpHeaders headers, HttpVersion version, String target) {
        Iterator<? extends CharSequence> hosts = headers.valueCharSequenceIterator(HttpHeaderNames.HOST);
        if (!hosts.hasNext()) {
            return version.minorVersion() == 0 ? null : new Violation(400, "HTTP/1.1 request without a Host header");
        }
        CharSequence host = hosts.next();
        if (hosts.hasNext()) return new Violation(400, "more than one Host header");
        if (!isValidHost(host)) return new Violation(400, "invalid Host header");
        String authority = authorityOf(target);
        if (authority != null && !isValidHost(authority)) return new Violation(400, "invalid authority in the request target");
        return null;
    }

    /**
     * Transfer-Encoding (present) must end in chunked, which may appear only once (else the
     * body's end is unknown: 400); any other coding is one Piston does not implement (501).
     */
    private static Violation checkTransferEncoding(HttpHeaders headers) {
        int chunked = 0;
        String last = null;
        boolean other = false;
        for (String field : headers.getAll(HttpHeaderNames.TRANSFER_ENCODING)) {
            for (String coding : field.split(",")) {
                String name = coding.trim();
                if (name.isEmpty()) continue;
                last = name;
                if (name.equalsIgnoreCase("chunked")) chunked++;
                else other = true;
            }
        }
        if (last == null || !last.equalsIgnoreCase("chunked") || chunked > 1) {
            return new Violation(400, "Transfer-Encoding must end in chunked, once");
        }
        return other ? new Violation(501, "unsupported transfer coding in Transfer-Encoding") : null;
    }

    /**
     * host [":" port] of RFC 3986: a reg-name, an IPv4 address or a bracketed IP literal, then
     * optional digits. Empty is valid (a request whose target has no authority sends it so).
     */
    static boolean isValidHost(CharSequence host) {
        int n = host.length();
        int i = 0;
        if (n > 0 && host.charAt(0) == '[') {
            for (i = 1; i < n && host.charAt(i) != ']'; i++) {
                char c = host.charAt(i);
                if (!(isAlphanumeric(c) || c == ':' || c == '.' || c == '%' || c == '-' || c == '_' || c == '~')) return false;
            }
            if (i == n) return false; // no closing bracket
            i++;
        } else {
            for (; i < n && host.charAt(i) != ':'; i++) {
                char c = host.charAt(i);
                if (!(isAlphanumeric(c) || "-._~!$&'()*+,;=%".indexOf(c) >= 0)) return false;
            }
        }
        if (i == n) return true;
        if (host.charAt(i) != ':') return false;
        for (i++; i < n; i++) {
            if (host.charAt(i) < '0' || host.charAt(i) > '9') return false;
        }
        return true;
    }

    private static boolean isAlphanumeric(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }

    /** No space, control character or DEL (a NUL would end the path early in some C library below an app). */
    private static boolean isPrintable(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c <= 0x20 || c == 0x7f) return false;
        }
        return true;
    }
}

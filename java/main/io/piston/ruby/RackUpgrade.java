package io.piston.ruby;

import io.netty.handler.codec.http.HttpHeaders;
import io.piston.http.HttpExchange;
import io.piston.rack.RackHeaders;
import io.piston.upgrade.Protocol;
import io.piston.upgrade.UpgradeAcceptor;
import io.piston.upgrade.UpgradeDetector;
import java.nio.charset.StandardCharsets;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyHash;
import org.jruby.RubyInteger;
import org.jruby.RubyString;
import org.jruby.RubySymbol;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.util.ByteList;

/**
 * rack.upgrade as the app asks for it: after the app returned, on the worker that served the
 * request, reads env['rack.upgrade?'] and the response, and when the upgrade can happen hands the
 * connection to the {@link UpgradeAcceptor} with the app's handler and a Piston::Connection for it.
 */
final class RackUpgrade {
    private final Ruby runtime;
    final UpgradeAcceptor acceptor;
    private final RubyString upgradeQueryKey;
    private final RubySymbol websocket;
    private final RubySymbol sse;

    RackUpgrade(Ruby runtime, UpgradeAcceptor acceptor) {
        this.runtime = runtime;
        this.acceptor = acceptor;
        this.upgradeQueryKey = runtime.freezeAndDedupString(RubyString.newString(runtime,
                new ByteList("rack.upgrade?".getBytes(StandardCharsets.ISO_8859_1), false)));
        this.websocket = runtime.newSymbol(Protocol.WEBSOCKET.rackName());
        this.sse = runtime.newSymbol(Protocol.SSE.rackName());
    }

    /**
     * Worker thread: takes the connection when the app asked for an upgrade that can happen
     * ({@code given} is env['rack.upgrade'], which the caller found set). Returns the
     * connection's client object when it took it: the caller must then close the body and send
     * nothing. Null: answer the response as usual (status 300 or more, or a request that cannot
     * be upgraded).
     */
    RubyClient tryUpgrade(ThreadContext ctx, HttpExchange exchange, RubyHash env, IRubyObject given, IRubyObject response) {
        if (!(response instanceof RubyArray triple) || triple.size() != 3) return null;
        IRubyObject status = triple.eltInternal(0);
        if (!(status instanceof RubyInteger)) {
            if (!status.respondsTo("to_int")) return null;
            status = status.convertToInteger();
        }
        if (((RubyInteger) status).getLongValue() >= 300) return null;
        Protocol protocol = protocol(env.fastARef(upgradeQueryKey));
        if (protocol == Protocol.WEBSOCKET && !UpgradeDetector.isWebSocket(exchange.request())) return null;
        if (protocol == null) return null;

        HttpHeaders headers = RackHeaders.convert(ctx, triple.eltInternal(1), true).headers;
        RubyHandler handler = RubyHandler.of(ctx, given);
        RubyClient[] client = new RubyClient[1];
        acceptor.accept(exchange, protocol, handler, headers,
                connection -> client[0] = RubyClient.create(runtime, connection, env));
        return client[0];
    }

    private Protocol protocol(IRubyObject value) {
        if (value == null || value.isNil()) return null;
        if (value == websocket) return Protocol.WEBSOCKET;
        if (value == sse) return Protocol.SSE;
        String name = value.toString();
        if (name.equals(Protocol.WEBSOCKET.rackName())) return Protocol.WEBSOCKET;
        if (name.equals(Protocol.SSE.rackName())) return Protocol.SSE;
        return null;
    }
}

package io.piston.ruby;

import io.netty.util.concurrent.FastThreadLocal;
import io.piston.http.Application;
import io.piston.http.ClientGoneException;
import io.piston.http.HttpExchange;
import io.piston.log.Log;
import io.piston.rack.EnvKeys;
import io.piston.rack.RackEnvBuilder;
import io.piston.rack.RackHeaders;
import io.piston.rack.RackResponder;
import io.piston.rack.RubyErrors;
import io.piston.upgrade.UpgradeAcceptor;
import org.jruby.Ruby;
import org.jruby.RubyArray;
import org.jruby.RubyClass;
import org.jruby.RubyHash;
import org.jruby.RubyModule;
import org.jruby.exceptions.RaiseException;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;
import org.jruby.runtime.callsite.CachingCallSite;
import org.jruby.runtime.callsite.FunctionalCachingCallSite;

/**
 * A config.ru app as the HTTP layer sees it; Piston::Server makes one around the app.
 * The env comes from {@link RackEnvBuilder}, the response goes out through {@link RackResponder}. {@link #serve} runs on a worker thread: build the
 * env, call the app, write its response, then run rack.response_finished and rack.after_reply.
 * Every call into Ruby here is guarded: an exception becomes a 500 and a log line.
 */
public final class RackApplication implements Application {
    private final Ruby runtime;
    private final IRubyObject app;
    private final EnvKeys keys;
    private final RackEnvBuilder envBuilder;
    private final RackResponder responder;
    private final CachingCallSite callSite = new FunctionalCachingCallSite("call");
    /**
     * Each worker's ThreadContext, found by index on the worker's FastThreadLocalThread rather
     * than through JRuby's ThreadLocal map on every request.
     */
    private final FastThreadLocal<ThreadContext> contexts = new FastThreadLocal<>() {
        @Override
        protected ThreadContext initialValue() {
            return runtime.getCurrentContext();
        }
    };
    private final RubyClass hijackClass;
    private final RubyClass earlyHintsClass;
    private volatile RackUpgrade upgrades;

    public RackApplication(Ruby runtime, IRubyObject app, boolean rack2, boolean multithread, String software) {
        PistonLibrary.load(runtime);
        this.runtime = runtime;
        this.app = app;
        this.keys = new EnvKeys(runtime, software);
        this.envBuilder = new RackEnvBuilder(runtime, keys, rack2, multithread);
        this.responder = new RackResponder(runtime, rack2, AppSocket.INSTANCE);
        RubyModule piston = runtime.getModule("Piston");
        this.hijackClass = (RubyClass) piston.getConstantAt("HijackCall");
        this.earlyHintsClass = (RubyClass) piston.getConstantAt("EarlyHints");
    }

    /** Takes rack.upgrade connections (WebSocket, SSE); without it rack.upgrade is ignored. */
    public void setUpgrades(UpgradeAcceptor acceptor) {
        this.upgrades = new RackUpgrade(runtime, acceptor);
    }

    @Override
    public void serve(HttpExchange exchange) {
        ThreadContext ctx = contexts.get();
        RubyHash env = null;
        HijackCall hijack = null;
        EarlyHints hints = null;
        RubyClient upgraded = null;
        IRubyObject response = null;
        IRubyObject error = ctx.nil;
        try {
            // an invalid WebSocket handshake is answered by the server and never reaches the app
            RackUpgrade upgrade = upgrades;
            if (upgrade != null && upgrade.acceptor.refuseInvalidHandshake(exchange)) return;
            env = envBuilder.build(ctx, exchange);
            hijack = HijackCall.create(runtime, hijackClass, exchange, env, keys.rackHijackIo);
            env.fastASet(keys.rackHijack, hijack);
            hints = EarlyHints.create(runtime, earlyHintsClass, exchange);
            env.fastASet(keys.rackEarlyHints, hints);
            response = callSite.call(ctx, app, app, env);
            if (hijack.used()) {
                responder.closeBody(ctx, response);
                return;
            }
            // Most responses are not upgrades: one lookup with the env key's cached hash tells.
            IRubyObject handler = env.fastARef(keys.rackUpgrade);
            if (handler != null && !handler.isNil() && upgrade != null) {
                upgraded = upgrade.tryUpgrade(ctx, exchange, env, handler, response);
                if (upgraded != null) {
                    responder.closeBody(ctx, response);
                    return;
                }
            }
            responder.respond(ctx, exchange, response);
        } catch (ClientGoneException e) {
            exchange.fail();
        } catch (RaiseException e) {
            error = e.getException();
            Log.error("app raised while serving " + exchange.request().method() + " " + exchange.request().uri() + ": "
                    + RubyErrors.describe(ctx, e), null);
            exchange.fail();
        } catch (RackHeaders.InvalidHeaderException | RackResponder.InvalidResponseException e) {
            Log.error("refused the app's response to " + exchange.request().method() + " " + exchange.request().uri()
                    + ": " + e.getMessage(), null);
            exchange.fail();
        } catch (RuntimeException e) {
            Log.error("failed serving " + exchange.request().method() + " " + exchange.request().uri(), e);
            exchange.fail();
        } finally {
            if (env != null) afterResponse(ctx, env, exchange, response, error);
            // The env can outlive the request (an upgraded connection keeps it for client.env): it
            // lets go of the exchange, and the connection keeps it packed.
            if (hijack != null) hijack.requestOver();
            if (hints != null) hints.requestOver();
            if (upgraded != null) upgraded.requestOver();
        }
    }

    /** rack.response_finished (env, status, headers, error) then rack.after_reply (no arguments). */
    private void afterResponse(ThreadContext ctx, RubyHash env, HttpExchange exchange, IRubyObject response,
                               IRubyObject error) {
        IRubyObject finished = env.fastARef(keys.rackResponseFinished);
        if (finished instanceof RubyArray callbacks && callbacks.size() > 0) {
            IRubyObject status = exchange.isStarted() ? runtime.newFixnum(exchange.status()) : ctx.nil;
            IRubyObject headers = response instanceof RubyArray a && a.size() == 3 ? a.eltInternal(1) : ctx.nil;
            for (int i = 0; i < callbacks.size(); i++) {
                invokeSafely(ctx, callbacks.eltInternal(i), "rack.response_finished", env, status, headers, error);
            }
        }
        IRubyObject afterReply = env.fastARef(keys.rackAfterReply);
        if (afterReply instanceof RubyArray callbacks) {
            for (int i = 0; i < callbacks.size(); i++) invokeSafely(ctx, callbacks.eltInternal(i), "rack.after_reply");
        }
    }

    private void invokeSafely(ThreadContext ctx, IRubyObject callable, String what, IRubyObject... args) {
        try {
            callable.callMethod(ctx, "call", args);
        } catch (RaiseException e) {
            Log.error(what + " callback raised: " + RubyErrors.describe(ctx, e), null);
        }
    }
}

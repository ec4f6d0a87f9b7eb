package io.piston.ruby;

import io.piston.pubsub.Subscription;
import io.piston.pubsub.SubscriptionSet;
import io.piston.upgrade.CallbackPool;
import org.jruby.anno.JRubyMethod;
import org.jruby.runtime.Block;
import org.jruby.runtime.ThreadContext;
import org.jruby.runtime.builtin.IRubyObject;

/**
 * Piston.publish, Piston.subscribe and Piston.unsubscribe: pub/sub for code that is not a
 * connection (jobs, timers, other requests). Any Ruby thread; the blocks of global subscriptions
 * run one message at a time per subscription, on Piston's pub/sub threads.
 */
public final class RubyPubSub {
    private static final SubscriptionSet GLOBAL = new SubscriptionSet();

    private RubyPubSub() {}

    /** Piston.publish(channel, message): to every subscriber of the channel. */
    @JRubyMethod(name = "publish", meta = true, required = 2, optional = 1)
    public static IRubyObject publish(ThreadContext ctx, IRubyObject self, IRubyObject[] args) {
        return RubyClient.publishMessage(ctx, args);
    }

    /** Piston.subscribe(channel, match: nil) { |channel, message| }: subscribing again replaces the block. */
    @JRubyMethod(name = "subscribe", meta = true, required = 1, optional = 1)
    public static IRubyObject subscribe(ThreadContext ctx, IRubyObject self, IRubyObject[] args, Block block) {
        if (!block.isGiven()) throw ctx.runtime.newArgumentError("Piston.subscribe needs a block");
        String channel = RubyClient.channelName(ctx, args[0]);
        boolean pattern = RubyClient.patternOption(ctx, args);
        Subscription s = Subscription.listening(channel, pattern,
                RubyClient.blockListener(ctx.runtime, block, "global subscription to " + channel), CallbackPool.newSerialQueue());
        GLOBAL.add(s);
        return ctx.tru;
    }

    /** Piston.unsubscribe(channel, match: nil): true when there was such a subscription. */
    @JRubyMethod(name = "unsubscribe", meta = true, required = 1, optional = 1)
    public static IRubyObject unsubscribe(ThreadContext ctx, IRubyObject self, IRubyObject[] args) {
        return ctx.runtime.newBoolean(GLOBAL.remove(RubyClient.channelName(ctx, args[0]), RubyClient.patternOption(ctx, args)));
    }
}

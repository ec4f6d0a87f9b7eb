package io.piston.pubsub;

import io.netty.buffer.ByteBuf;
import io.netty.channel.EventLoop;
import io.piston.log.Log;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;

/**
 * This process's channels and their subscribers. A publish goes to the engine; what the engine
 * delivers here is fanned out without a Ruby call per subscriber: the message is encoded once per
 * protocol, each IO thread that serves direct subscribers gets one task that writes a retained
 * duplicate of the shared buffer to each of its connections (each write still counted against
 * that connection's outbound bounds), and only subscriptions with a block go through a callback
 * queue. Subscriber lists are copy-on-write snapshots, so delivering takes no lock. The engine
 * hears of a channel's first subscriber and of its last one leaving under the channel's lock, so
 * it sees them in order. One broker per process ({@link #get}); any thread.
 */
public final class PubSubBroker {
    private static final Subscription[] NONE = new Subscription[0];
    private static final PubSubBroker INSTANCE = new PubSubBroker();

    private final ConcurrentHashMap<String, Topic> channels = new ConcurrentHashMap<>();
    private final Topic patterns = new Topic();
    private volatile PubSubEngine engine = new LocalEngine(this);

    /** The subscribers of one channel (or all pattern subscriptions), as an immutable snapshot. */
    private static final class Topic {
        volatile Snapshot snapshot = Snapshot.EMPTY;
    }

    /**
     * The subscriptions, and for direct delivery the event loops they live on and the wire formats
     * they use. Loops and formats may be a superset of what the subscriptions need (a removal
     * keeps them, so it costs no rescan); delivery skips what no subscription uses. Immutable, but
     * for the grouping of direct subscribers by loop and format, which the first delivery works out.
     */
    private static final class Snapshot {
        static final Snapshot EMPTY = new Snapshot(new Subscription[0], new EventLoop[0], new WireFormat[0]);

        final Subscription[] subs;
        final EventLoop[] loops;
        final WireFormat[] formats;
        /** [i][f]: the subscribers of the direct subscriptions on loops[i] that use formats[f]. */
        private volatile Subscriber[][][] byLoop;

        Snapshot(Subscription[] subs, EventLoop[] loops, WireFormat[] formats) {
            this.subs = subs;
            this.loops = loops;
            this.formats = formats;
        }

        /** This snapshot plus one subscription, without rescanning the others. */
        Snapshot plus(Subscription s) {
            Subscription[] more = append(subs, s);
            if (!s.direct()) return new Snapshot(more, loops, formats);
            return new Snapshot(more, with(loops, s.loop), with(formats, s.subscriber.wireFormat()));
        }

        /** This snapshot without some subscriptions; loops and formats stay a superset. */
        Snapshot minus(Subscription[] left) {
            return left.length == 0 ? EMPTY : new Snapshot(left, loops, formats);
        }

        static Snapshot of(Subscription[] subs) {
            EventLoop[] loops = EMPTY.loops;
            WireFormat[] formats = EMPTY.formats;
            for (Subscription s : subs) {
                if (!s.direct()) continue;
                loops = with(loops, s.loop);
                formats = with(formats, s.subscriber.wireFormat());
            }
            return new Snapshot(subs, loops, formats);
        }

        /** The subscribers of each loop by format, so a loop's fan-out task reads only its own. */
        Subscriber[][][] byLoop() {
            Subscriber[][][] groups = byLoop;
            if (groups != null) return groups;
            groups = new Subscriber[loops.length][formats.length][];
            for (int i = 0; i < loops.length; i++) {
                for (int f = 0; f < formats.length; f++) {
                    List<Subscriber> mine = new ArrayList<>();
                    for (Subscription s : subs) {
                        if (s.direct() && s.loop == loops[i] && s.subscriber.wireFormat() == formats[f]) mine.add(s.subscriber);
                    }
                    groups[i][f] = mine.toArray(new Subscriber[0]);
                }
            }
            byLoop = groups; // two threads may both work it out; the results are equal
            return groups;
        }

        /** {@code known} plus {@code item} when it is not there yet (compared by identity). */
        private static <T> T[] with(T[] known, T item) {
            for (T k : known) if (k == item) return known;
            T[] more = Arrays.copyOf(known, known.length + 1);
            more[known.length] = item;
            return more;
        }
    }

    public static PubSubBroker get() {
        return INSTANCE;
    }

    public PubSubEngine engine() {
        return engine;
    }

    /**
     * Replaces the engine (e.g. with one that reaches other processes): the new one hears of every
     * channel and pattern that has subscribers now, the old one is closed. Returns the old one.
     */
    public PubSubEngine engine(PubSubEngine next) {
        if (next == null) next = new LocalEngine(this);
        PubSubEngine old;
        synchronized (this) {
            old = engine;
            if (old == next) return old;
            engine = next;
        }
        for (Topic topic : channels.values()) {
            synchronized (topic) {
                Subscription[] subs = topic.snapshot.subs;
                if (subs.length > 0) next.subscribed(subs[0].channel, false);
            }
        }
        synchronized (patterns) {
            for (String p : patternNames()) next.subscribed(p, true);
        }
        try {
            old.close();
        } catch (RuntimeException e) {
            Log.error("closing the pub/sub engine " + old.describe() + " failed", e);
        }
        return old;
    }

    /** Puts the in-process engine back if {@code current} is still the engine. */
    public void resetEngine(PubSubEngine current) {
        synchronized (this) {
            if (engine != current) return;
        }
        engine(new LocalEngine(this));
    }

    /** Publishes through the engine. */
    public void publish(String channel, byte[] message, boolean binary) {
        engine.publish(channel, message, binary);
    }

    /** Adds a subscription; the engine hears of its channel if it is the first. */
    public void add(Subscription s) {
        if (s.pattern) {
            boolean first;
            synchronized (patterns) {
                first = !hasPattern(s.channel);
                patterns.snapshot = patterns.snapshot.plus(s);
                if (first) engine.subscribed(s.channel, true);
            }
            return;
        }
        Topic topic = channels.computeIfAbsent(s.channel, k -> new Topic());
        boolean first;
        synchronized (topic) {
            if (channels.get(s.channel) != topic) {
                // removed while empty between lookup and lock: start over
                add(s);
                return;
            }
            first = topic.snapshot.subs.length == 0;
            topic.snapshot = topic.snapshot.plus(s);
            if (first) engine.subscribed(s.channel, false);
        }
    }

    /** Ends a subscription; the engine hears of its channel if it was the last. */
    public void remove(Subscription s) {
        s.active = false;
        if (s.pattern) {
            boolean last;
            synchronized (patterns) {
                Subscription[] left = without(patterns.snapshot.subs, s);
                if (left == null) return;
                patterns.snapshot = patterns.snapshot.minus(left);
                last = !hasPattern(s.channel);
                if (last) engine.unsubscribed(s.channel, true);
            }
            return;
        }
        Topic topic = channels.get(s.channel);
        if (topic == null) return;
        boolean last;
        synchronized (topic) {
            Subscription[] left = without(topic.snapshot.subs, s);
            if (left == null) return;
            topic.snapshot = topic.snapshot.minus(left);
            last = left.length == 0;
            if (last) {
                channels.remove(s.channel, topic);
                engine.unsubscribed(s.channel, false);
            }
        }
    }

    /** Number of subscriptions to exactly this channel (patterns not counted). */
    public int subscribers(String channel) {
        Topic t = channels.get(channel);
        return t == null ? 0 : t.snapshot.subs.length;
    }

    /** Subscriptions to exactly this pattern. */
    public int patternSubscribers(String pattern) {
        int n = 0;
        for (Subscription s : patterns.snapshot.subs) if (s.channel.equals(pattern)) n++;
        return n;
    }

    /**
     * Delivers one message to this process's subscribers of {@code channel} and of every pattern
     * that matches it: the in-process engine calls this. Any thread.
     */
    public void deliver(String channel, byte[] data, boolean binary) {
        PubSubMessage message = new PubSubMessage(channel, data, binary);
        try {
            Topic topic = channels.get(channel);
            if (topic != null) deliver(message, topic.snapshot);
            Subscription[] pats = patterns.snapshot.subs;
            if (pats.length > 0) {
                List<Subscription> matched = null;
                for (Subscription s : pats) {
                    if (s.glob.matches(channel)) {
                        if (matched == null) matched = new ArrayList<>(4);
                        matched.add(s);
                    }
                }
                if (matched != null) deliver(message, Snapshot.of(matched.toArray(NONE)));
            }
        } finally {
            message.release();
        }
    }

    /**
     * Delivers one message to the subscribers of exactly {@code channel} (not to patterns): an
     * engine that receives a message server's channel messages calls this. Any thread.
     */
    public void deliverChannel(String channel, byte[] data, boolean binary) {
        Topic topic = channels.get(channel);
        if (topic == null) return;
        PubSubMessage message = new PubSubMessage(channel, data, binary);
        try {
            deliver(message, topic.snapshot);
        } finally {
            message.release();
        }
    }

    /**
     * Delivers one message published to {@code channel} to the subscribers of the pattern
     * {@code pattern} only (a message server sends one such message per matching pattern). Any thread.
     */
    public void deliverPattern(String pattern, String channel, byte[] data, boolean binary) {
        List<Subscription> matched = null;
        for (Subscription s : patterns.snapshot.subs) {
            if (s.channel.equals(pattern)) {
                if (matched == null) matched = new ArrayList<>(2);
                matched.add(s);
            }
        }
        if (matched == null) return;
        PubSubMessage message = new PubSubMessage(channel, data, binary);
        try {
            deliver(message, Snapshot.of(matched.toArray(NONE)));
        } finally {
            message.release();
        }
    }

    /** The patterns that have subscribers now (a snapshot). */
    public List<String> patternNames() {
        List<String> out = new ArrayList<>();
        for (Subscription s : patterns.snapshot.subs) if (!out.contains(s.channel)) out.add(s.channel);
        return out;
    }

    private static void deliver(PubSubMessage message, Snapshot snap) {
        if (snap.loops.length > 0) {
            ByteBuf[] framed = new ByteBuf[snap.formats.length];
            for (int f = 0; f < framed.length; f++) framed[f] = message.encoded(snap.formats[f]);
            Subscriber[][][] byLoop = snap.byLoop();
            for (int i = 0; i < byLoop.length; i++) {
                Subscriber[][] mine = byLoop[i];
                if (!retainUsed(framed, mine)) continue;
                Runnable fanOut = () -> {
                    try {
                        long now = System.nanoTime();
                        // A subscription removed since the snapshot was taken may still get this
                        // message: it was published before the removal took effect.
                        for (int f = 0; f < mine.length; f++) {
                            for (Subscriber s : mine[f]) s.deliver(framed[f], now);
                        }
                    } finally {
                        releaseUsed(framed, mine);
                    }
                };
                try {
                    snap.loops[i].execute(fanOut);
                } catch (RejectedExecutionException e) {
                    releaseUsed(framed, mine);
                }
            }
        }
        for (Subscription s : snap.subs) {
            if (!s.direct() && s.active) s.enqueue(message);
        }
    }

    /** Retains, for one loop's fan-out task, each frame some of its subscribers use; false when none does. */
    private static boolean retainUsed(ByteBuf[] framed, Subscriber[][] byFormat) {
        boolean any = false;
        for (int f = 0; f < framed.length; f++) {
            if (byFormat[f].length == 0) continue;
            framed[f].retain();
            any = true;
        }
        return any;
    }

    private static void releaseUsed(ByteBuf[] framed, Subscriber[][] byFormat) {
        for (int f = 0; f < framed.length; f++) if (byFormat[f].length > 0) framed[f].release();
    }

    private boolean hasPattern(String pattern) {
        for (Subscription s : patterns.snapshot.subs) if (s.channel.equals(pattern)) return true;
        return false;
    }

    private static Subscription[] append(Subscription[] subs, Subscription s) {
        Subscription[] out = Arrays.copyOf(subs, subs.length + 1);
        out[subs.length] = s;
        return out;
    }

    /** {@code subs} without {@code s}, or null when it was not there. */
    private static Subscription[] without(Subscription[] subs, Subscription s) {
        for (int i = 0; i < subs.length; i++) {
            if (subs[i] == s) {
                Subscription[] out = new Subscription[subs.length - 1];
                System.arraycopy(subs, 0, out, 0, i);
                System.arraycopy(subs, i + 1, out, i, subs.length - i - 1);
                return out;
            }
        }
        return null;
    }
}

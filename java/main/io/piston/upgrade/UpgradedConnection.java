package io.piston.upgrade;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufHolder;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOutboundBuffer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.ChannelPromise;
import io.netty.channel.EventLoop;
import io.netty.channel.VoidChannelPromise;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.FastThreadLocal;
import io.piston.log.Log;
import io.piston.pubsub.MessageListener;
import io.piston.pubsub.PubSubBroker;
import io.piston.pubsub.Subscriber;
import io.piston.pubsub.Subscription;
import java.net.SocketAddress;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;

/**
 * One upgraded connection, WebSocket or SSE: its state, the bounds and accounting of its outbound
 * queue, its idle timer, its subscriptions and its callback queue. It is also the last handler of
 * the channel's pipeline: the Netty methods run on the channel's IO thread. {@link #send},
 * {@link #close}, the accessors and the subscription methods may be called from any thread (the
 * Ruby client object calls them from workers and app threads).
 *
 * <p>Writes from other threads go through an outbox that one task on the IO thread empties: a
 * worker writing many messages costs the event loop one task, one flush and one completion, not
 * one of each per message. The IO thread frames small messages one after another into one buffer.
 *
 * <p>Reading from the peer pauses when it sends while the channel is unwritable (it does not read
 * what it is sent) and while too many of its messages wait for their callback.
 */
public abstract class UpgradedConnection extends ChannelInboundHandlerAdapter implements ChannelFutureListener, Subscriber {
    static final int NEW = 0;
    static final int OPEN = 1;
    static final int CLOSING = 2;
    static final int CLOSED = 3;

    private static final AtomicIntegerFieldUpdater<UpgradedConnection> STATE =
            AtomicIntegerFieldUpdater.newUpdater(UpgradedConnection.class, "state");
    private static final AtomicIntegerFieldUpdater<UpgradedConnection> PENDING =
            AtomicIntegerFieldUpdater.newUpdater(UpgradedConnection.class, "pending");
    private static final AtomicIntegerFieldUpdater<UpgradedConnection> INBOUND =
            AtomicIntegerFieldUpdater.newUpdater(UpgradedConnection.class, "inbound");
    private static final AtomicIntegerFieldUpdater<UpgradedConnection> SLOW =
            AtomicIntegerFieldUpdater.newUpdater(UpgradedConnection.class, "slowClosed");
    private static final AtomicReferenceFieldUpdater<UpgradedConnection, Outgoing> OUTBOX =
            AtomicReferenceFieldUpdater.newUpdater(UpgradedConnection.class, Outgoing.class, "outbox");
    /** Larger messages are framed into a buffer of their own by the thread that writes them. */
    private static final int COPY_LIMIT = 8 * 1024;
    private static final int GATHER_SIZE = 64 * 1024;
    /**
     * IO thread: where emptyOutbox frames small messages (with array copies, cheap for a few dozen
     * bytes) before one copy moves them into a buffer for the socket.
     */
    private static final FastThreadLocal<byte[]> GATHER = new FastThreadLocal<>() {
        @Override
        protected byte[] initialValue() {
            return new byte[GATHER_SIZE];
        }
    };

    final UpgradeConfig config;
    final Channel channel;
    final CallbackQueue callbacks;
    private final Set<UpgradedConnection> live;
    private volatile UpgradeHandler handler;
    private volatile Object attachment;
    ChannelHandlerContext ctx;
    boolean closeSent; // IO thread: the protocol's close went out; writes that come after it are dropped
    private volatile int state = NEW;
    private volatile int pending;
    private volatile int inbound;
    private volatile boolean inboundFull; // written on the IO thread: reading paused for the callbacks to catch up
    private boolean backlogged; // IO thread: reading paused because the peer sends but does not read
    private volatile boolean drainArmed;
    private volatile int slowClosed; // 1 once closed as a slow client (logged once)
    private volatile Outgoing outbox; // the newest write from another thread, or null; a task empties it
    /** Bytes of the batch the IO thread is moving from the outbox to the channel, so the bounds still see them. */
    private volatile long moving;
    private final Runnable emptyOutbox = this::emptyOutbox;
    private final ChannelPromise quiet; // for writes whose completion another write's promise reports
    private final ChannelFutureListener markerDone = f -> markerDone();
    private ChannelPromise marker; // IO thread: the promise that reports published messages up to its write
    private int markerCovers;      // IO thread: the messages the marker reports
    private int unmarked;          // IO thread: published messages written after the marker
    private ChannelOutboundBuffer outbound; // the channel's, kept from install: the bounds read it on every write
    private volatile int timeoutSeconds;
    volatile long lastWriteNanos;
    long lastReadNanos;
    private ScheduledFuture<?> idleTimer;
    private HashMap<String, Subscription> subscriptions;

    UpgradedConnection(Channel channel, Executor workers, UpgradeConfig config, UpgradeHandler handler, Set<UpgradedConnection> live) {
        this.channel = channel;
        this.config = config;
        this.handler = handler;
        this.live = live;
        this.callbacks = new CallbackQueue(this, workers);
        this.timeoutSeconds = (int) config.pingInterval.getSeconds();
        this.quiet = new VoidChannelPromise(channel, false);
    }

    /**
     * One write in the outbox: a framed message (a buffer or a frame), or the bytes of a small one
     * that the IO thread frames together with its neighbours. Until the IO thread takes them, they
     * form a stack.
     */
    private static final class Outgoing {
        final Object message; // null when data holds a message to frame
        final byte[] data;
        final int offset;
        final int length;
        final boolean binary;
        final int bytes; // framed
        Outgoing next; // the write queued before this one; after the IO thread reverses them, the one after
        long stacked;  // bytes of this write and of those below it in the stack: the outbox's size

        Outgoing(Object message, int bytes) {
            this(message, null, 0, 0, false, bytes);
        }

        Outgoing(Object message, byte[] data, int offset, int length, boolean binary, int bytes) {
            this.message = message;
            this.data = data;
            this.offset = offset;
            this.length = length;
            this.binary = binary;
            this.bytes = bytes;
        }
    }

    public abstract Protocol protocol();

    /** Worker thread: the response head that accepts the upgrade; adds to the app's headers. */
    abstract HttpResponse handshake(HttpRequest request, HttpHeaders headers);

    /** IO thread: adds this protocol's handlers, ending with this one. */
    abstract void addHandlers(ChannelPipeline pipeline);

    /** Any thread: one message of the app, framed for this protocol. */
    abstract Object encode(byte[] data, int offset, int length, boolean binary);

    /**
     * IO thread: the context to write framed buffers from, past the handlers that would only
     * pass them on (with many connections, each handler visited is a cache miss).
     */
    ChannelHandlerContext framedWrites() {
        return ctx;
    }

    /**
     * Any thread: the size of one small message framed by {@link #frameInto}, or -1 when this
     * connection needs each message as its own write ({@link #encode}).
     */
    abstract int frameSize(byte[] data, int offset, int length, boolean binary);

    /** IO thread: frames one small message into {@code out} at {@code at}; {@code size} is its {@link #frameSize}. */
    abstract void frameInto(byte[] out, int at, byte[] data, int offset, int length, boolean binary, int size);

    /** IO thread: the close the app asked for, after the writes queued before it. */
    abstract void closeGracefully(int code);

    /** IO thread: the idle timer fired; {@code interval} is the idle timeout in nanoseconds. */
    abstract void idle(long interval);

    /** IO thread: the channel closed; release what the protocol holds. */
    void released() {}

    /**
     * IO thread: the HTTP side sent the handshake response and left the pipeline; from here on the
     * connection is this protocol's. Queues on_open (or on_close when the peer is already gone).
     */
    public final void install(ChannelPipeline pipeline) {
        addHandlers(pipeline);
        if (!channel.isActive()) {
            finish();
            return;
        }
        lastReadNanos = lastWriteNanos = System.nanoTime();
        outbound = channel.unsafe().outboundBuffer(); // published to other threads by the write of state
        state = OPEN;
        live.add(this);
        armIdle();
        callbacks.add(() -> {
            if (!handler.open(this)) close(1011);
        });
    }

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        finish();
        ctx.fireChannelInactive();
    }

    /** Reading that {@link #sentWhileBacklogged} paused resumes once the peer has read its backlog. */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (!channel.isWritable()) drainArmed = true;
        else if (backlogged) {
            backlogged = false;
            updateReading();
        }
        ctx.fireChannelWritabilityChanged();
    }

    /**
     * IO thread, for each frame the peer sends: one that sends while it does not read what it is
     * sent (pings, whose pongs pile up) waits on TCP until it reads. Only a peer that sends while
     * backlogged pays for the pause: the many that only receive (SSE, fan-out) never do.
     */
    final void sentWhileBacklogged() {
        if (!backlogged && !channel.isWritable()) {
            backlogged = true;
            updateReading();
        }
    }

    /** IO thread: reads while the peer reads what it is sent and the callbacks keep up with what it sends. */
    private void updateReading() {
        boolean read = !backlogged && !inboundFull && channel.isActive();
        if (channel.config().isAutoRead() != read) channel.config().setAutoRead(read);
    }

    // ---- any thread -----------------------------------------------------------------------------

    public final boolean isOpen() {
        return state == OPEN;
    }

    public final UpgradeHandler handler() {
        return handler;
    }

    /** The object the layer above keeps with this connection (the Ruby client). */
    public final Object attachment() {
        return attachment;
    }

    public final void attach(Object value) {
        attachment = value;
    }

    /** The IO thread of this connection's channel. */
    @Override
    public final EventLoop eventLoop() {
        return channel.eventLoop();
    }

    public final SocketAddress remoteAddress() {
        return channel.remoteAddress();
    }

    /** Writes queued and not yet handed to the socket; -1 once closed. */
    public final int pending() {
        if (state == CLOSED || state == NEW) return -1;
        int n = pending;
        if (n > 0) drainArmed = true;
        return n;
    }

    public final int timeout() {
        return timeoutSeconds;
    }

    /** Idle seconds before a ping (0 turns the timer off). */
    public final void timeout(int seconds) {
        timeoutSeconds = Math.max(0, seconds);
        onLoop(this::armIdle);
    }

    /**
     * Queues one message of the app: text or binary (WebSocket), a data event (SSE). When
     * {@code stable}, the bytes stay unchanged until written (a frozen or copy-on-write Ruby
     * String) and are not copied.
     */
    public final boolean sendMessage(byte[] data, int offset, int length, boolean binary, boolean stable) {
        if (state != OPEN) return false;
        int size;
        if (length > COPY_LIMIT || channel.eventLoop().inEventLoop()
                || (size = frameSize(data, offset, length, binary)) < 0 || size > GATHER_SIZE) {
            return send(encode(data, offset, length, binary));
        }
        if (!admit(size)) return false;
        if (!stable || !keepable(data.length, length)) {
            data = Arrays.copyOfRange(data, offset, offset + length);
            offset = 0;
        }
        enqueue(new Outgoing(null, data, offset, length, binary, size));
        return true;
    }

    /**
     * Whether a message of {@code length} bytes in an array of {@code arrayLength} may be queued
     * by reference: only when it is most of the array, so that what the queue holds is about what
     * its bounds count.
     */
    public static boolean keepable(int arrayLength, int length) {
        return length <= COPY_LIMIT && arrayLength <= 2 * length + 64;
    }

    /**
     * Queues one framed message (a buffer or a frame; ownership passes here). False when the
     * connection is closed, or when the write would pass the bounds of the outbound queue: the
     * client is then too slow and is closed.
     */
    public final boolean send(Object msg) {
        if (state != OPEN) {
            ReferenceCountUtil.release(msg);
            return false;
        }
        int bytes = msg instanceof ByteBuf b ? b.readableBytes() : msg instanceof ByteBufHolder h ? h.content().readableBytes() : 0;
        if (!admit(bytes)) {
            ReferenceCountUtil.release(msg);
            return false;
        }
        if (channel.eventLoop().inEventLoop()) {
            if (outbox != null) emptyOutbox(); // what other threads wrote before goes first
            lastWriteNanos = System.nanoTime();
            ctx.writeAndFlush(msg, ctx.newPromise().addListener(this));
        } else {
            enqueue(new Outgoing(msg, bytes));
        }
        return true;
    }

    /**
     * IO thread: one published message, already framed and shared by every subscriber of this IO
     * thread (a fan-out task); {@code now} is the task's time, read once for all of them.
     * A burst costs one promise per connection and socket write, not one per message: while a
     * marker promise is out, messages go with no promise and the next marker reports them.
     */
    @Override
    public final void deliver(ByteBuf shared, long now) {
        if (state != OPEN || !admit(shared.readableBytes())) return;
        lastWriteNanos = now;
        if (outbox != null) emptyOutbox(); // what other threads wrote before goes first
        ChannelHandlerContext out = framedWrites();
        if (marker != null) {
            unmarked++;
            out.writeAndFlush(shared.retainedDuplicate(), quiet);
            return;
        }
        markerCovers = 1;
        marker = out.newPromise().addListener(markerDone);
        out.writeAndFlush(shared.retainedDuplicate(), marker);
    }

    /**
     * IO thread: the marker's write left (or failed); a channel completes writes in order, so the
     * messages before it did too. Messages written since get an empty write as their marker.
     */
    private void markerDone() {
        int done = markerCovers;
        marker = null;
        markerCovers = 0;
        if (unmarked > 0) {
            markerCovers = unmarked;
            unmarked = 0;
            marker = ctx.newPromise().addListener(markerDone);
            ctx.writeAndFlush(Unpooled.EMPTY_BUFFER, marker);
        }
        written(done);
    }

    /**
     * Counts one more write, or closes the client as slow when it would pass the bounds. (The
     * time of the last write, for idle pings, is taken on the IO thread as it writes.)
     */
    private boolean admit(int bytes) {
        int n = PENDING.incrementAndGet(this);
        if (n > config.maxOutboundMessages || queuedBytes() + bytes > config.maxOutboundBytes) {
            PENDING.decrementAndGet(this);
            slow(n);
            return false;
        }
        if (!outbound.isWritable()) drainArmed = true;
        return true;
    }

    /** Pushes one write; the push that finds the outbox empty schedules the task that empties it. */
    private void enqueue(Outgoing o) {
        Outgoing top;
        do {
            top = outbox;
            o.next = top;
            o.stacked = top == null ? o.bytes : top.stacked + o.bytes;
        } while (!OUTBOX.compareAndSet(this, top, o));
        if (top == null) scheduleOutbox();
    }

    private void scheduleOutbox() {
        try {
            channel.eventLoop().execute(emptyOutbox);
        } catch (RejectedExecutionException e) {
            // the IO thread is gone (server stopping): nothing will write these
            int dropped = 0;
            for (Outgoing o = OUTBOX.getAndSet(this, null); o != null; o = o.next) {
                ReferenceCountUtil.release(o.message);
                dropped++;
            }
            written(dropped);
            channel.close();
        }
    }

    /**
     * IO thread: writes what other threads queued, in their order, and flushes once. Small
     * messages are framed into the gather array; only the last write has a promise, which reports
     * the whole batch (a channel completes its writes in order).
     */
    private void emptyOutbox() {
        Outgoing top = outbox;
        if (top == null) return;
        moving = top.stacked; // before the outbox empties: counted twice for a moment rather than not at all
        Outgoing newest = OUTBOX.getAndSet(this, null);
        if (newest == null) { // a writer took the stack: its IO thread refused the task (shutting down)
            moving = 0;
            return;
        }
        moving = newest.stacked;
        try {
            writeBatch(newest);
        } finally {
            moving = 0;
        }
    }

    /** IO thread: writes one batch taken from the outbox (newest first). */
    private void writeBatch(Outgoing newest) {
        Outgoing first = null;
        int count = 0;
        while (newest != null) { // the stack holds the newest first: reverse it
            Outgoing next = newest.next;
            newest.next = first;
            first = newest;
            newest = next;
            count++;
        }
        if (closeSent) { // written as the close went out: nothing may follow a close
            drop(first, null, count);
            return;
        }
        lastWriteNanos = System.nanoTime();
        byte[] gather = null;
        int gathered = 0;
        Object held = null; // written when the next one is known, so the last one can carry the promise
        Outgoing o = first;
        try {
            for (; o != null; o = o.next) {
                Object item = o.message;
                if (item == null) {
                    int size = o.bytes; // at most GATHER_SIZE (sendMessage)
                    if (gather == null) {
                        gather = GATHER.get();
                    } else if (gathered + size > gather.length) {
                        held = hold(held, gathered(gather, gathered));
                        gathered = 0;
                    }
                    frameInto(gather, gathered, o.data, o.offset, o.length, o.binary, size);
                    gathered += size;
                    continue;
                }
                if (gathered > 0) {
                    held = hold(held, gathered(gather, gathered));
                    gathered = 0;
                }
                held = hold(held, item);
            }
            if (gathered > 0) held = hold(held, gathered(gather, gathered));
        } catch (RuntimeException | OutOfMemoryError e) {
            // out of direct memory, or bytes that changed after they were queued: the rest cannot go out whole
            Log.error("closing " + channel.remoteAddress() + ": its queued writes failed", e);
            drop(o, held, count);
            channel.close();
            return;
        }
        int batch = count;
        ctx.write(held, ctx.newPromise().addListener(f -> written(batch)));
        moving = 0; // the whole batch is in the channel's outbound buffer now
        ctx.flush();
    }

    /** IO thread: releases the writes from {@code o} on and {@code held}, and counts all {@code count} of the batch as done. */
    private void drop(Outgoing o, Object held, int count) {
        ReferenceCountUtil.safeRelease(held);
        for (; o != null; o = o.next) {
            if (o.message != null && o.message != held) ReferenceCountUtil.safeRelease(o.message);
        }
        written(count);
    }

    private ByteBuf gathered(byte[] gather, int length) {
        return ctx.alloc().directBuffer(length).writeBytes(gather, 0, length);
    }

    private Object hold(Object previous, Object next) {
        if (previous != null) {
            long size = sizeOf(previous);
            ctx.write(previous, quiet);
            moving -= size; // counted in the channel's outbound buffer from now on
        }
        return next;
    }

    private static long sizeOf(Object message) {
        if (message instanceof ByteBuf b) return b.readableBytes();
        if (message instanceof ByteBufHolder h) return h.content().readableBytes();
        return 0;
    }

    /** IO thread or the thread that wrote: one queued write left (or failed to leave) for the socket. */
    @Override
    public final void operationComplete(ChannelFuture future) {
        written(1);
    }

    /** {@code n} queued writes left (or failed to leave) for the socket; on_drained when none are left. */
    private void written(int n) {
        if (n > 0 && PENDING.addAndGet(this, -n) == 0 && drainArmed && state == OPEN) {
            drainArmed = false;
            UpgradeHandler h = handler;
            if (h.wantsDrained()) callbacks.add(() -> handler.drained(this));
        }
    }

    /** Closes normally (1000 for WebSocket) after the writes queued so far. */
    public final void close() {
        close(1000);
    }

    final void close(int code) {
        if (!STATE.compareAndSet(this, OPEN, CLOSING)) return;
        onLoop(() -> {
            emptyOutbox(); // the writes accepted before the close go out before it
            closeGracefully(code);
        });
    }

    /** Server stopping: on_shutdown, then a close with 1001 (going away). */
    final void shutdown() {
        callbacks.add(() -> {
            if (state == OPEN) handler.shutdown(this);
            close(1001);
        });
    }

    /** Any thread: switches handlers in callback order: the old one's on_close, then the new one's on_open. */
    public final void handler(UpgradeHandler next) {
        Runnable swap = () -> {
            UpgradeHandler old = handler;
            old.close(this);
            handler = next;
            if (state == OPEN && !next.open(this)) close(1011);
        };
        if (callbacks.isCurrent()) swap.run();
        else callbacks.add(swap);
    }

    /** The queue whose callback runs on this thread, if it belongs to a connection. */
    public static UpgradedConnection current() {
        CallbackQueue q = CallbackQueue.current();
        return q != null && q.owner instanceof UpgradedConnection c ? c : null;
    }

    // ---- subscriptions (any thread) ----------------------------------------------------------------

    /**
     * Subscribes to {@code channel} (a glob pattern when {@code pattern}), replacing a subscription
     * of this connection to the same channel; false when closed. Without a listener, messages go
     * straight to the client; with one, they run through this connection's callbacks.
     */
    public final boolean subscribe(String channel, boolean pattern, MessageListener listener) {
        Subscription s = listener == null ? Subscription.direct(this, channel, pattern)
                : Subscription.listening(channel, pattern, listener, callbacks);
        synchronized (this) {
            if (state == CLOSED) return false;
            if (subscriptions == null) subscriptions = new HashMap<>(4);
            Subscription old = subscriptions.put(s.key(), s);
            if (old != null) PubSubBroker.get().remove(old);
            PubSubBroker.get().add(s);
        }
        return true;
    }

    /** Ends this connection's subscription to {@code channel} (a pattern when {@code pattern}). */
    public final boolean unsubscribe(String channel, boolean pattern) {
        synchronized (this) {
            Subscription old = subscriptions == null ? null : subscriptions.remove(Subscription.key(channel, pattern));
            if (old == null) return false;
            PubSubBroker.get().remove(old);
        }
        return true;
    }

    private void unsubscribeAll() {
        List<Subscription> all;
        synchronized (this) {
            if (subscriptions == null) return;
            all = new ArrayList<>(subscriptions.values());
            subscriptions = null;
            for (Subscription s : all) PubSubBroker.get().remove(s);
        }
    }

    // ---- internals ----------------------------------------------------------------------------------

    /** IO thread: one complete inbound message; reading pauses while too many wait for their callback. */
    final void dispatch(byte[] data, boolean binary) {
        if (INBOUND.incrementAndGet(this) >= config.maxInboundMessages && !inboundFull) {
            inboundFull = true;
            updateReading();
        }
        callbacks.add(() -> {
            try {
                handler.message(this, data, binary);
            } finally {
                if (INBOUND.decrementAndGet(this) <= config.maxInboundMessages / 2 && inboundFull) onLoop(this::inboundDrained);
            }
        });
    }

    /** IO thread: the callbacks caught up; reading resumes unless the peer is not reading either. */
    private void inboundDrained() {
        if (!inboundFull || inbound > config.maxInboundMessages / 2) return;
        inboundFull = false;
        updateReading();
    }

    /**
     * IO thread: whether a frame the server writes on its own (a pong, a ping, a Close, an SSE
     * ping) fits the outbound limit; when it does not, the peer is closed as a slow client and the
     * frame must not be written. Netty counts each queued write as at least 96 bytes, so the byte
     * limit also bounds how many of them can wait.
     */
    final boolean roomFor(int bytes) {
        if (fits(bytes)) return true;
        if (channel.isActive()) {
            closeSlow("it does not read what it is answered; " + queuedBytes() + " bytes queued (limit "
                    + config.maxOutboundBytes + ")");
        }
        return false;
    }

    /** Any thread: whether {@code bytes} more fit the outbound byte limit. */
    final boolean fits(int bytes) {
        return queuedBytes() + bytes <= config.maxOutboundBytes;
    }

    /** Any thread: closes a peer that does not read, with one log line whichever bound it hit first. */
    final void closeSlow(String why) {
        if (!SLOW.compareAndSet(this, 0, 1)) return;
        closing();
        Log.warn("closing slow client " + channel.remoteAddress() + ": " + why);
        channel.close();
    }

    /** IO thread: the channel closed: no more writes, subscriptions end, on_close is queued last. */
    final void finish() {
        if (STATE.getAndSet(this, CLOSED) == CLOSED && callbacks.hasEnded()) return;
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
        released();
        unsubscribeAll();
        callbacks.addLast(() -> {
            try {
                handler.close(this);
            } finally {
                live.remove(this);
            }
        });
    }

    /** Moves an open connection to closing (no more writes); false when it was not open. */
    final boolean closing() {
        return STATE.compareAndSet(this, OPEN, CLOSING);
    }

    final boolean isClosed() {
        return state == CLOSED;
    }

    /**
     * Bytes waiting for the socket: in the outbox, in the batch the IO thread is moving from the
     * outbox to the channel (less what it already handed to the channel), and in the channel's
     * outbound buffer. For an instant as a write changes place it counts in both: the bounds err
     * towards less memory.
     */
    final long queuedBytes() {
        Outgoing top = outbox;
        long inMotion = moving;
        ChannelOutboundBuffer out = outbound; // null until install
        return (top == null ? 0 : top.stacked) + inMotion + (out == null ? 0 : out.totalPendingWriteBytes());
    }

    private void slow(int messages) {
        if (state != OPEN) return;
        closeSlow("it does not read; " + messages + " writes / " + queuedBytes() + " bytes queued (limits "
                + config.maxOutboundMessages + " / " + config.maxOutboundBytes + ")");
    }

    private void armIdle() {
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
        int t = timeoutSeconds;
        if (t <= 0 || state == CLOSED || state == NEW) return;
        idleTimer = channel.eventLoop().schedule(() -> {
            idleTimer = null;
            if (state == CLOSED) return;
            idle(TimeUnit.SECONDS.toNanos(timeoutSeconds));
            armIdle();
        }, t, TimeUnit.SECONDS);
    }

    private void onLoop(Runnable task) {
        if (channel.eventLoop().inEventLoop()) {
            task.run();
            return;
        }
        try {
            channel.eventLoop().execute(task);
        } catch (RejectedExecutionException e) {
            channel.close();
        }
    }
}

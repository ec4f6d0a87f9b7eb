package io.piston.upgrade;

import io.netty.channel.Channel;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.piston.pubsub.MessageListener;
import io.piston.pubsub.Subscriber;
import io.piston.pubsub.Subscription;
import io.piston.pubsub.SubscriptionSet;
import java.net.SocketAddress;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;

/**
 * One upgraded connection, WebSocket or SSE: its state (new, open, closing, closed), its callback
 * queue and handler, its idle timer, its subscriptions and the flow control of what the peer
 * sends; what it writes goes through the {@link Outbox} it extends. It is also the last handler of
 * the channel's pipeline: the Netty methods run on the channel's IO thread. {@link #close}, the
 * accessors, the writes and the subscription methods may be called from any thread (the Ruby
 * client object calls them from workers and app threads).
 *
 * <p>Reading from the peer pauses when it sends while the channel is unwritable (it does not read
 * what it is sent) and while too many of its messages wait for their callback.
 */
public abstract class UpgradedConnection extends Outbox implements Subscriber {
    static final int NEW = 0;
    static final int OPEN = 1;
    static final int CLOSING = 2;
    static final int CLOSED = 3;

    private static final AtomicIntegerFieldUpdater<UpgradedConnection> STATE =
            AtomicIntegerFieldUpdater.newUpdater(UpgradedConnection.class, "state");
    private static final AtomicIntegerFieldUpdater<UpgradedConnection> INBOUND =
            AtomicIntegerFieldUpdater.newUpdater(UpgradedConnection.class, "inbound");
    final CallbackQueue callbacks;
    private final Set<UpgradedConnection> live;
    private volatile UpgradeHandler handler;
    private volatile Object attachment;
    private volatile int state = NEW;
    private volatile int inbound;
    private volatile boolean inboundFull; // written on the IO thread: reading paused for the callbacks to catch up
    private boolean backlogged; // IO thread: reading paused because the peer sends but does not read
    private volatile int timeoutSeconds;
    long lastReadNanos;
    private ScheduledFuture<?> idleTimer;
    private final SubscriptionSet subscriptions = new SubscriptionSet();

    UpgradedConnection(Channel channel, Executor workers, UpgradeConfig config, UpgradeHandler handler, Set<UpgradedConnection> live) {
        super(channel, config);
        this.handler = handler;
        this.live = live;
        this.callbacks = new CallbackQueue(this, workers);
        this.timeoutSeconds = (int) config.pingInterval.getSeconds();
    }

    public abstract Protocol protocol();

    /** Worker thread: the response head that accepts the upgrade; adds to the app's headers. */
    abstract HttpResponse handshake(HttpRequest request, HttpHeaders headers);

    /** IO thread: adds this protocol's handlers, ending with this one. */
    abstract void addHandlers(ChannelPipeline pipeline);

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
        if (!channel.eventLoop().inEventLoop()) throw new IllegalStateException("install off the IO thread");
        addHandlers(pipeline);
        if (!channel.isActive()) {
            finish();
            return;
        }
        lastReadNanos = System.nanoTime();
        openOutbox();
        state = OPEN;
        live.add(this);
        armIdle();
        callbacks.add(() -> {
            if (!handler.open(this)) close(1011);
        });
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        finish();
        ctx.fireChannelInactive();
    }

    /** Reading that {@link #sentWhileBacklogged} paused resumes once the peer has read its backlog. */
    @Override
    public void channelWritabilityChanged(ChannelHandlerContext ctx) {
        if (!channel.isWritable()) armDrained();
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
        assert channel.eventLoop().inEventLoop();
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

    @Override
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
        return queuedWrites();
    }

    public final int timeout() {
        return timeoutSeconds;
    }

    /** Idle seconds before a ping (0 turns the timer off). */
    public final void timeout(int seconds) {
        timeoutSeconds = Math.max(0, seconds);
        onLoop(this::armIdle);
    }

    @Override
    final void drained() {
        UpgradeHandler h = handler;
        if (h.wantsDrained()) callbacks.add(() -> handler.drained(this));
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
        synchronized (subscriptions) {
            if (state == CLOSED) return false;
            subscriptions.add(s);
        }
        return true;
    }

    /** Ends this connection's subscription to {@code channel} (a pattern when {@code pattern}). */
    public final boolean unsubscribe(String channel, boolean pattern) {
        return subscriptions.remove(channel, pattern);
    }

    // ---- internals ----------------------------------------------------------------------------------

    /** IO thread: one complete inbound message; reading pauses while too many wait for their callback. */
    final void dispatch(byte[] data, boolean binary) {
        assert channel.eventLoop().inEventLoop();
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

    /** IO thread: the channel closed: no more writes, subscriptions end, on_close is queued last. */
    final void finish() {
        assert channel.eventLoop().inEventLoop();
        if (STATE.getAndSet(this, CLOSED) == CLOSED && callbacks.hasEnded()) return;
        if (idleTimer != null) {
            idleTimer.cancel(false);
            idleTimer = null;
        }
        released();
        subscriptions.clear();
        callbacks.addLast(() -> {
            try {
                handler.close(this);
            } finally {
                live.remove(this);
            }
        });
    }

    @Override
    final boolean closing() {
        return STATE.compareAndSet(this, OPEN, CLOSING);
    }

    final boolean isClosed() {
        return state == CLOSED;
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

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
import io.netty.channel.ChannelPromise;
import io.netty.channel.VoidChannelPromise;
import io.netty.util.ReferenceCountUtil;
import io.netty.util.concurrent.FastThreadLocal;
import io.piston.log.Log;
import java.util.Arrays;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.atomic.AtomicReferenceFieldUpdater;

/**
 * The outbound side of an upgraded connection: what the app and the broker write to one client,
 * on its way to the socket. The base class of {@link UpgradedConnection} rather than an object of
 * its own, so that a fan-out to thousands of clients reads one object per client, not two.
 *
 * <p>Writes from other threads ({@link #sendMessage}, {@link #send}: workers and app threads) go
 * through a lock-free stack that one task on the IO thread empties: a worker writing many
 * messages costs the event loop one task, one flush and one completion, not one of each per
 * message, and the IO thread frames small messages one after another into one buffer. Writes on
 * the IO thread go straight out, after what other threads queued before them. Published messages
 * ({@link #deliver}, IO thread) share one framed buffer; while a marker promise is out, a burst of
 * them costs one promise per connection and socket write, not one per message.
 *
 * <p>Every write counts against the bounds (maxOutboundMessages, maxOutboundBytes): a client that
 * would pass them does not read and is closed as a slow client. When the count falls back to zero
 * after the app saw a backlog, {@link #drained} tells the connection.
 */
abstract class Outbox extends ChannelInboundHandlerAdapter implements ChannelFutureListener {
    private static final AtomicIntegerFieldUpdater<Outbox> PENDING =
            AtomicIntegerFieldUpdater.newUpdater(Outbox.class, "pending");
    private static final AtomicIntegerFieldUpdater<Outbox> SLOW =
            AtomicIntegerFieldUpdater.newUpdater(Outbox.class, "slowClosed");
    private static final AtomicReferenceFieldUpdater<Outbox, Outgoing> OUTBOX =
            AtomicReferenceFieldUpdater.newUpdater(Outbox.class, Outgoing.class, "outbox");
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
    ChannelHandlerContext ctx;
    boolean closeSent; // IO thread: the protocol's close went out; writes that come after it are dropped
    volatile long lastWriteNanos;
    private volatile int pending;
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
    private ChannelOutboundBuffer outbound; // the channel's, kept from openOutbox: the bounds read it on every write

    Outbox(Channel channel, UpgradeConfig config) {
        this.channel = channel;
        this.config = config;
        this.quiet = new VoidChannelPromise(channel, false);
    }

    /** Any thread: whether writes are taken (the connection is open). */
    public abstract boolean isOpen();

    /** Any thread: moves an open connection to closing (no more writes); false when it was not open. */
    abstract boolean closing();

    /** Any thread: the queue emptied after the app was told it was not empty (on_drained). */
    abstract void drained();

    @Override
    public void handlerAdded(ChannelHandlerContext ctx) {
        this.ctx = ctx;
    }

    /** IO thread, once this handler is in the pipeline and before the connection opens: writes may start. */
    final void openOutbox() {
        if (!channel.eventLoop().inEventLoop()) throw new IllegalStateException("openOutbox off the IO thread");
        lastWriteNanos = System.nanoTime();
        outbound = channel.unsafe().outboundBuffer(); // published to other threads by the write that opens the connection
    }

    /** Any thread: writes queued and not yet handed to the socket; asking arms on_drained when there are some. */
    final int queuedWrites() {
        int n = pending;
        if (n > 0) drainArmed = true;
        return n;
    }

    /** IO thread: the peer stopped reading what it is sent (on_drained once it caught up). */
    final void armDrained() {
        drainArmed = true;
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

    /**
     * Queues one message of the app: text or binary (WebSocket), a data event (SSE). When
     * {@code stable}, the bytes stay unchanged until written (a frozen or copy-on-write Ruby
     * String) and are not copied.
     */
    public final boolean sendMessage(byte[] data, int offset, int length, boolean binary, boolean stable) {
        if (!isOpen()) return false;
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
        if (!isOpen()) {
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
    public final void deliver(ByteBuf shared, long now) {
        assert channel.eventLoop().inEventLoop();
        if (!isOpen() || !admit(shared.readableBytes())) return;
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
        assert channel.eventLoop().inEventLoop();
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
    final void emptyOutbox() {
        assert channel.eventLoop().inEventLoop();
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
        assert channel.eventLoop().inEventLoop();
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
        if (n > 0 && PENDING.addAndGet(this, -n) == 0 && drainArmed && isOpen()) {
            drainArmed = false;
            drained();
        }
    }

    /**
     * IO thread: whether a frame the server writes on its own (a pong, a ping, a Close, an SSE
     * ping) fits the outbound limit; when it does not, the peer is closed as a slow client and the
     * frame must not be written. Netty counts each queued write as at least 96 bytes, so the byte
     * limit also bounds how many of them can wait.
     */
    final boolean roomFor(int bytes) {
        assert channel.eventLoop().inEventLoop();
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
        if (!isOpen()) return;
        closeSlow("it does not read; " + messages + " writes / " + queuedBytes() + " bytes queued (limits "
                + config.maxOutboundMessages + " / " + config.maxOutboundBytes + ")");
    }
}

package io.piston.http;

import io.netty.buffer.ByteBuf;
import io.netty.channel.Channel;
import io.netty.channel.socket.DuplexChannel;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;

/**
 * A connection taken over by the app (rack.hijack). The IO thread fills it with the raw bytes
 * that arrive; an app thread reads them (blocking, with a timeout) and writes raw bytes back.
 * Reading pauses on the socket when the app falls behind by more than {@link #MAX_BUFFERED} bytes.
 */
public final class HijackedStream {
    static final int MAX_BUFFERED = 256 * 1024;

    private final Channel channel;
    private final ArrayDeque<byte[]> inbound = new ArrayDeque<>();
    private int buffered;
    private boolean eof;

    HijackedStream(Channel channel) {
        this.channel = channel;
    }

    /** IO thread: bytes from the client. Takes ownership of {@code data}. */
    void received(ByteBuf data) {
        byte[] bytes = new byte[data.readableBytes()];
        data.readBytes(bytes);
        data.release();
        synchronized (this) {
            if (bytes.length > 0) inbound.add(bytes);
            buffered += bytes.length;
            if (buffered > MAX_BUFFERED) channel.config().setAutoRead(false);
            notifyAll();
        }
    }

    /** IO thread: the client closed its side. */
    synchronized void closedByPeer() {
        eof = true;
        notifyAll();
    }

    /**
     * App thread: the next bytes, at most {@code max}; an empty array on timeout, null at end of
     * stream.
     */
    public byte[] read(int max, long timeoutMillis) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        synchronized (this) {
            while (inbound.isEmpty() && !eof) {
                long left = deadline - System.nanoTime();
                if (timeoutMillis >= 0 && left <= 0) return new byte[0];
                if (timeoutMillis < 0) wait(); else TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            if (inbound.isEmpty()) return null;
            byte[] head = inbound.poll();
            if (head.length > max) {
                byte[] rest = Arrays.copyOfRange(head, max, head.length);
                inbound.addFirst(rest);
                head = Arrays.copyOf(head, max);
            }
            buffered -= head.length;
            if (buffered <= MAX_BUFFERED / 2 && !channel.config().isAutoRead() && channel.isActive()) {
                channel.config().setAutoRead(true);
            }
            return head;
        }
    }

    /** App thread: true when bytes are waiting to be read (or the stream ended). */
    public synchronized boolean readable() {
        return !inbound.isEmpty() || eof;
    }

    /** App thread: writes raw bytes; false when the connection is closed. */
    public boolean write(byte[] bytes, int offset, int length) {
        if (!channel.isActive()) return false;
        ByteBuf buf = channel.alloc().buffer(length).writeBytes(bytes, offset, length);
        channel.writeAndFlush(buf);
        return true;
    }

    public boolean isOpen() {
        return channel.isActive();
    }

    /** Closes the write side only (half-close), as IO#close_write does. */
    public void shutdownOutput() {
        if (channel instanceof DuplexChannel duplex) duplex.shutdownOutput();
        else channel.close();
    }

    public void close() {
        channel.close();
    }
}

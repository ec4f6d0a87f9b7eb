package io.piston.bench;

import io.netty.buffer.ByteBuf;
import java.util.Arrays;

/**
 * The messages of the real-time benchmarks: ASCII, {@code size} bytes, starting with the
 * publisher's {@code System.nanoTime()} as 19 digits, a space, the sequence number as 8 digits and
 * a space, padded with {@code x}. (On Linux System.nanoTime is CLOCK_MONOTONIC, the same clock in
 * every process, so a receiver in another process can compute the delivery latency.)
 * bench/pubsub.ru builds the same layout in Ruby.
 */
final class Payload {
    static final int MIN_SIZE = 29;

    private Payload() {}

    /** A message of {@code size} bytes with a zero timestamp and sequence. */
    static byte[] filler(int size) {
        byte[] data = new byte[Math.max(size, MIN_SIZE)];
        Arrays.fill(data, (byte) 'x');
        stamp(data, 0, 0);
        return data;
    }

    static void stamp(byte[] data, long nanos, int seq) {
        digits(data, 0, 19, nanos);
        data[19] = ' ';
        digits(data, 20, 8, seq);
        data[28] = ' ';
        for (int i = MIN_SIZE; i < data.length; i++) data[i] = 'x';
    }

    private static void digits(byte[] data, int at, int n, long v) {
        for (int i = at + n - 1; i >= at; i--) {
            data[i] = (byte) ('0' + (v % 10));
            v /= 10;
        }
    }

    /** The timestamp of a message whose payload starts at {@code at}; -1 when it has none. */
    static long nanos(ByteBuf buf, int at, int length) {
        if (length < 19) return -1;
        long v = 0;
        for (int i = 0; i < 19; i++) {
            int c = buf.getByte(at + i) - '0';
            if (c < 0 || c > 9) return -1;
            v = v * 10 + c;
        }
        return v;
    }
}

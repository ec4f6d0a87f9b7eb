package io.piston.bench;

/**
 * Nanosecond latencies in log-linear buckets: exact below 1,024 ns, then 512 buckets per power of
 * two (under 0.2 % error), up to about 18 minutes. Not thread-safe: one per event loop, merged at
 * the end. Fixed size, no allocation when recording.
 */
final class LatencyHistogram {
    private static final int LINEAR = 1024;
    private static final int SUB_BITS = 9;
    private static final int SUB = 1 << SUB_BITS;
    private static final int MAX_EXP = 40;
    private final long[] counts = new long[LINEAR + (MAX_EXP - 9) * SUB];
    private long total;
    private long max;

    void record(long nanos) {
        if (nanos < 0) nanos = 0;
        counts[index(nanos)]++;
        total++;
        if (nanos > max) max = nanos;
    }

    private static int index(long v) {
        if (v < LINEAR) return (int) v;
        int exp = 63 - Long.numberOfLeadingZeros(v);
        if (exp > MAX_EXP) return LINEAR + (MAX_EXP - 10) * SUB + SUB - 1;
        int sub = (int) ((v >>> (exp - SUB_BITS)) & (SUB - 1));
        return LINEAR + (exp - 10) * SUB + sub;
    }

    /** The upper bound of a bucket. */
    private static long value(int index) {
        if (index < LINEAR) return index;
        int exp = (index - LINEAR) / SUB + 10;
        int sub = (index - LINEAR) % SUB;
        return ((long) (SUB + sub + 1) << (exp - SUB_BITS)) - 1;
    }

    long count() {
        return total;
    }

    /** The largest value recorded, exact; 0 when empty. */
    long max() {
        return max;
    }

    void reset() {
        java.util.Arrays.fill(counts, 0);
        total = 0;
        max = 0;
    }

    void add(LatencyHistogram other) {
        for (int i = 0; i < counts.length; i++) counts[i] += other.counts[i];
        total += other.total;
        max = Math.max(max, other.max);
    }

    /** The latency below which {@code fraction} of the recorded values fall; 0 when empty. */
    long percentile(double fraction) {
        if (total == 0) return 0;
        long rank = Math.max(1, (long) Math.ceil(fraction * total));
        long seen = 0;
        for (int i = 0; i < counts.length; i++) {
            seen += counts[i];
            if (seen >= rank) return value(i);
        }
        return value(counts.length - 1);
    }
}

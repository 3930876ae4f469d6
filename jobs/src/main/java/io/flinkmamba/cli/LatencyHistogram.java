package io.flinkmamba.cli;

import java.util.concurrent.atomic.AtomicLongArray;

/**
 * A fixed-size, thread-safe histogram of non-negative nanosecond values, HdrHistogram-like: exact below 128,
 * then 64 linear sub-buckets per power of two, so a reported quantile is within 1/64 (1.6%) of the value.
 * Covers the whole positive long range in about 3.7k counters; recording is one atomic increment.
 */
final class LatencyHistogram {
    private static final int SUB_BITS = 6;
    private static final int SUB = 1 << SUB_BITS;
    private static final int EXACT = 2 * SUB;

    private final AtomicLongArray counts = new AtomicLongArray(EXACT + (63 - SUB_BITS - 1) * SUB);

    void record(long nanos) {
        counts.incrementAndGet(index(Math.max(0, nanos)));
    }

    long count() {
        long total = 0;
        for (int i = 0; i < counts.length(); i++) {
            total += counts.get(i);
        }
        return total;
    }

    /** The value at quantile {@code q} (0..1): the middle of the bucket holding it; 0 when empty. */
    long quantile(double q) {
        long total = count();
        if (total == 0) {
            return 0;
        }
        long rank = Math.max(1, (long) Math.ceil(q * total));
        long seen = 0;
        for (int i = 0; i < counts.length(); i++) {
            seen += counts.get(i);
            if (seen >= rank) {
                return lowerBound(i) + (width(i) - 1) / 2;
            }
        }
        return lowerBound(counts.length() - 1);
    }

    static int index(long v) {
        if (v < EXACT) {
            return (int) v;
        }
        int exp = 63 - Long.numberOfLeadingZeros(v); // >= SUB_BITS + 1
        int sub = (int) (v >>> (exp - SUB_BITS)) - SUB; // 0..SUB-1
        return EXACT + (exp - SUB_BITS - 1) * SUB + sub;
    }

    static long lowerBound(int index) {
        if (index < EXACT) {
            return index;
        }
        int k = index - EXACT;
        int exp = k / SUB + SUB_BITS + 1;
        return (long) (SUB + k % SUB) << (exp - SUB_BITS);
    }

    static long width(int index) {
        if (index < EXACT) {
            return 1;
        }
        int exp = (index - EXACT) / SUB + SUB_BITS + 1;
        return 1L << (exp - SUB_BITS);
    }
}

package io.flinkmamba.operator.internal;

import org.apache.flink.annotation.Internal;
import org.apache.flink.metrics.Counter;
import org.apache.flink.metrics.Gauge;
import org.apache.flink.metrics.Histogram;
import org.apache.flink.metrics.MetricGroup;
import org.apache.flink.runtime.metrics.DescriptiveStatisticsHistogram;

/**
 * The Mamba operator's metrics, registered on its metric group under names that dashboards already use
 * ({@code eventsIn}, {@code stateResetsSessionGap}, {@code cacheHitRatio}, ...). One place owns the names, so
 * the classes that count (the buffer, the hold, the key-state store, the steppers) only say what happened.
 */
@Internal
public final class OperatorMetrics {
    private final Counter eventsIn;
    private final Counter eventsOut;
    private final Counter eventsRejected;
    private final Counter eventsLate;
    private final Counter resetsSession;
    private final Counter resetsTtl;
    private final Counter resetsModelMismatch;
    private final Counter stateBytesRead;
    private final Counter stateBytesWritten;
    private final Counter cacheHits;
    private final Counter cacheMisses;
    private final Histogram bundleSizes;
    private final Histogram engineMicros;

    public OperatorMetrics(MetricGroup group) {
        eventsIn = group.counter("eventsIn");
        eventsOut = group.counter("eventsOut");
        eventsRejected = group.counter("eventsRejected");
        eventsLate = group.counter("eventsLate");
        resetsSession = group.counter("stateResetsSessionGap");
        resetsTtl = group.counter("stateResetsTtl");
        resetsModelMismatch = group.counter("stateResetsModelMismatch");
        stateBytesRead = group.counter("stateBytesRead");
        stateBytesWritten = group.counter("stateBytesWritten");
        cacheHits = group.counter("cacheHits");
        cacheMisses = group.counter("cacheMisses");
        bundleSizes = group.histogram("bundleSize", new DescriptiveStatisticsHistogram(1000));
        engineMicros = group.histogram("engineMicrosPerBundle", new DescriptiveStatisticsHistogram(1000));
        group.gauge("cacheHitRatio", (Gauge<Double>) () -> {
            long total = cacheHits.getCount() + cacheMisses.getCount();
            return total == 0 ? 0.0 : (double) cacheHits.getCount() / total;
        });
    }

    public void eventIn() {
        eventsIn.inc();
    }

    public void eventOut() {
        eventsOut.inc();
    }

    public void eventRejected() {
        eventsRejected.inc();
    }

    public void eventLate() {
        eventsLate.inc();
    }

    public void sessionGapReset() {
        resetsSession.inc();
    }

    public void ttlReset() {
        resetsTtl.inc();
    }

    public void modelMismatchReset() {
        resetsModelMismatch.inc();
    }

    public void stateRead(int bytes) {
        stateBytesRead.inc(bytes);
    }

    public void stateWritten(int bytes) {
        stateBytesWritten.inc(bytes);
    }

    public void cacheHit() {
        cacheHits.inc();
    }

    public void cacheMiss() {
        cacheMisses.inc();
    }

    public void bundle(int events) {
        bundleSizes.update(events);
    }

    /** The engine time of one bundle (its steps and scoring), from {@code startNanos} of {@link System#nanoTime}. */
    public void engineTimeSince(long startNanos) {
        engineMicros.update((System.nanoTime() - startNanos) / 1000);
    }
}

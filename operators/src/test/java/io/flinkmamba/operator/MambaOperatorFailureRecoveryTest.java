package io.flinkmamba.operator;

import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.operator.OperatorFixture.Result;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.CheckpointListener;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.java.tuple.Tuple2;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.StateChangelogOptions;
import org.apache.flink.core.execution.CheckpointingMode;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.state.FunctionInitializationContext;
import org.apache.flink.runtime.state.FunctionSnapshotContext;
import org.apache.flink.runtime.testutils.MiniClusterResourceConfiguration;
import org.apache.flink.streaming.api.checkpoint.CheckpointedFunction;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.sink.v2.DiscardingSink;
import org.apache.flink.test.junit5.MiniClusterExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The operator in a MiniCluster job on RocksDB with checkpoints, a failure injected mid-stream and a restart
 * from the last completed checkpoint: every key ends in the state (eventsSeen) and last output of the
 * failure-free run, no event's output is lost, and every output, replayed or not, is bit-equal to stepping
 * the key alone.
 *
 * <p>The source is a checkpointed {@code fromSequence} at parallelism 1 (so each key's events arrive in index
 * order, as in the reference) mapped index -> event; the operator and everything after it run at parallelism
 * 2. A map after the operator throws once, after half of the events have gone through it and a checkpoint
 * that covers some events has completed; the first attempt's source side is throttled so that checkpoints
 * complete mid-stream. Nothing blocks a task: the throttle only sleeps a millisecond or two per record, so
 * barriers keep flowing.
 *
 * <p>Outputs that the subtask that threw emits after it threw come after the last checkpoint, so an
 * exactly-once sink never commits them. When the failure is thrown inside a bundle flushed by the
 * operator's processing-time timer, Flink reports it asynchronously and the task runs on until cancelled;
 * the operator then refuses to step anything (the keys of the broken bundle lost their live state), so any
 * such output must still be right: the test checks that none is wrong.
 *
 * <p>The functions talk to the test through static fields: the MiniCluster runs in this JVM and, with no user
 * jars, loads the job's classes through the test's class loader.
 */
class MambaOperatorFailureRecoveryTest {
    private static final int KEYS = 40;
    private static final int EVENTS = 3000;
    private static final long SEED = 11;
    private static final int FAIL_AFTER = EVENTS / 2;
    private static final Duration JOB_TIMEOUT = Duration.ofSeconds(60);

    @RegisterExtension
    static final MiniClusterExtension MINI_CLUSTER = new MiniClusterExtension(
            new MiniClusterResourceConfiguration.Builder()
                    .setNumberTaskManagers(1)
                    .setNumberSlotsPerTaskManager(2)
                    .build());

    /** Every result that reached the sink, from every attempt, in the order the sink saw them. */
    private static final ConcurrentLinkedQueue<Seen> SEEN = new ConcurrentLinkedQueue<>();
    private static final AtomicLong SEEN_COUNT = new AtomicLong();
    /** Whether to inject the failure in the current job. */
    private static final AtomicBoolean INJECT = new AtomicBoolean();
    /** Set by the map that threw. */
    private static final AtomicBoolean FAILED = new AtomicBoolean();
    /** How many results the sink had seen when the failure was thrown, and the subtask that threw it. */
    private static final AtomicLong SEEN_BEFORE_FAILURE = new AtomicLong(-1);
    private static final AtomicLong FAILED_SUBTASK = new AtomicLong(-1);
    /** Results that went through the failure injector (both subtasks, all attempts). */
    private static final AtomicLong THROUGH_INJECTOR = new AtomicLong();
    /** Checkpoint id -> the last source index its barrier followed (snapshotted on the source side). */
    private static final Map<Long, Long> SNAPSHOT_INDEX = new ConcurrentHashMap<>();
    /** Completed checkpoints, and the highest source index a completed one covers (-1: none). */
    private static final AtomicLong CHECKPOINTS_COMPLETED = new AtomicLong();
    private static final AtomicLong COMPLETED_INDEX = new AtomicLong(-1);
    /** How many checkpoints had completed, and the index they covered, when the failure was thrown. */
    private static final AtomicLong CHECKPOINTS_BEFORE_FAILURE = new AtomicLong(-1);
    private static final AtomicLong COVERED_BEFORE_FAILURE = new AtomicLong(-1);
    /** The first source index read by a restarted attempt (Long.MAX_VALUE: none). */
    private static final AtomicLong RESUMED_AT = new AtomicLong(Long.MAX_VALUE);

    @TempDir
    Path dir;

    @Test
    void failureMidStreamRestartsFromTheCheckpointAndEndsInTheFailureFreeState() throws Exception {
        long started = System.nanoTime();
        OperatorFixture f = new OperatorFixture(dir, LayerType.MAMBA1);
        List<Tuple2<String, Integer>> events = OperatorFixture.events(KEYS, EVENTS, SEED);
        Map<String, List<float[]>> reference = f.reference(events);

        // The failure-free run: every event exactly once, per key in order, bit-equal to the reference.
        List<Result> clean = runJob(f, false, dir.resolve("checkpoints-clean")).stream().map(Seen::result).toList();
        assertEquals(EVENTS, clean.size(), "no failure: every event exactly once");
        Map<String, List<Result>> cleanByKey = OperatorFixture.byKey(clean);
        assertEquals(reference.keySet(), cleanByKey.keySet());
        for (Map.Entry<String, List<float[]>> e : reference.entrySet()) {
            List<Result> results = cleanByKey.get(e.getKey());
            assertEquals(e.getValue().size(), results.size(), "events of " + e.getKey());
            for (int i = 0; i < results.size(); i++) {
                assertEquals(i + 1, results.get(i).eventsSeen(), e.getKey() + " event " + i);
                assertArrayEquals(e.getValue().get(i), results.get(i).hidden(),
                        "failure-free run: " + e.getKey() + " event " + i);
            }
        }

        // The same job with a failure injected mid-stream.
        List<Seen> all = runJob(f, true, dir.resolve("checkpoints-failure"));
        assertTrue(FAILED.get(), "the failure was never injected (completed checkpoints: "
                + CHECKPOINTS_COMPLETED.get() + ", highest source index one covers: " + COMPLETED_INDEX.get() + ")");
        assertTrue(CHECKPOINTS_BEFORE_FAILURE.get() >= 1, "a checkpoint completed before the failure");
        assertTrue(COVERED_BEFORE_FAILURE.get() >= 0, "a completed checkpoint covered events before the failure");
        long resumedAt = RESUMED_AT.get();
        assertTrue(resumedAt > COVERED_BEFORE_FAILURE.get() && resumedAt < EVENTS,
                "the restarted source resumes after the checkpoint, not from the start: resumed at " + resumedAt
                        + ", a checkpoint covering index " + COVERED_BEFORE_FAILURE.get() + " had completed");

        // The outputs that count: all but those of the subtask that threw, after it threw.
        List<Seen> recovered = new ArrayList<>();
        int afterFailure = 0;
        int wrongAfterFailure = 0;
        for (Seen seen : all) {
            if (seen.attempt() == 0 && seen.subtask() == FAILED_SUBTASK.get()
                    && seen.seq() > SEEN_BEFORE_FAILURE.get()) {
                afterFailure++;
                Result r = seen.result();
                List<float[]> expected = reference.get(r.key());
                if (expected == null || r.eventsSeen() < 1 || r.eventsSeen() > expected.size()
                        || !Arrays.equals(expected.get((int) r.eventsSeen() - 1), r.hidden())) {
                    wrongAfterFailure++;
                }
            } else {
                recovered.add(seen);
            }
        }
        assertEquals(0, wrongAfterFailure, "no wrong output after the failure, even before the task is cancelled");
        assertTrue(recovered.stream().anyMatch(s -> s.attempt() > 0), "the restarted attempt emitted results");

        // Every output, replayed or not, equals the reference at its position in the key's sequence
        // (eventsSeen); no position is missing; each key's last output is the failure-free run's last output.
        Map<String, Map<Long, Integer>> timesSeen = new HashMap<>();
        Map<String, Result> last = new HashMap<>();
        for (Seen seen : recovered) {
            Result r = seen.result();
            List<float[]> expected = reference.get(r.key());
            assertNotNull(expected, "unknown key " + r.key());
            assertTrue(r.eventsSeen() >= 1 && r.eventsSeen() <= expected.size(),
                    r.key() + " eventsSeen " + r.eventsSeen() + " of " + expected.size());
            assertArrayEquals(expected.get((int) r.eventsSeen() - 1), r.hidden(), "attempt " + seen.attempt()
                    + ", subtask " + seen.subtask() + ": " + r.key() + " event " + (r.eventsSeen() - 1));
            timesSeen.computeIfAbsent(r.key(), k -> new HashMap<>()).merge(r.eventsSeen(), 1, Integer::sum);
            last.merge(r.key(), r, (a, b) -> b.eventsSeen() > a.eventsSeen() ? b : a);
        }
        long replayed = 0;
        for (Map.Entry<String, List<Result>> e : cleanByKey.entrySet()) {
            String key = e.getKey();
            List<Result> expected = e.getValue();
            Map<Long, Integer> seen = timesSeen.get(key);
            assertNotNull(seen, "no output for " + key);
            for (long n = 1; n <= expected.size(); n++) {
                assertTrue(seen.containsKey(n), key + ": no output with eventsSeen " + n);
                replayed += seen.get(n) - 1;
            }
            Result cleanLast = expected.get(expected.size() - 1);
            Result recoveredLast = last.get(key);
            assertEquals(expected.size(), recoveredLast.eventsSeen(), key + " final eventsSeen");
            assertEquals(cleanLast.token(), recoveredLast.token(), key + " last token");
            assertEquals(cleanLast.sessionStart(), recoveredLast.sessionStart(), key + " last sessionStart");
            assertArrayEquals(cleanLast.hidden(), recoveredLast.hidden(), key + " last hidden");
            assertEquals(Double.doubleToRawLongBits(cleanLast.score()),
                    Double.doubleToRawLongBits(recoveredLast.score()), key + " last score");
        }
        assertEquals(EVENTS + replayed, recovered.size(), "outputs beyond one per event are replays");
        System.out.printf("failure injected after %d results; %d checkpoint(s) had completed, the latest covering "
                        + "source index %d; the restarted source resumed at index %d; %d output(s) replayed; "
                        + "the subtask that threw emitted %d output(s) after it, %d of them wrong; "
                        + "%.1f s in all%n", FAIL_AFTER, CHECKPOINTS_BEFORE_FAILURE.get(),
                COVERED_BEFORE_FAILURE.get(), resumedAt, replayed, afterFailure, wrongAfterFailure,
                (System.nanoTime() - started) / 1e9);
    }

    /** Runs the job to its end and returns every result its sink saw, in order, with where it came from. */
    private static List<Seen> runJob(OperatorFixture f, boolean injectFailure, Path checkpoints)
            throws Exception {
        SEEN.clear();
        SEEN_COUNT.set(0);
        INJECT.set(injectFailure);
        FAILED.set(false);
        SEEN_BEFORE_FAILURE.set(-1);
        FAILED_SUBTASK.set(-1);
        THROUGH_INJECTOR.set(0);
        SNAPSHOT_INDEX.clear();
        CHECKPOINTS_COMPLETED.set(0);
        COMPLETED_INDEX.set(-1);
        CHECKPOINTS_BEFORE_FAILURE.set(-1);
        COVERED_BEFORE_FAILURE.set(-1);
        RESUMED_AT.set(Long.MAX_VALUE);

        Configuration config = new Configuration();
        config.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
        config.set(StateChangelogOptions.ENABLE_STATE_CHANGE_LOG, false);
        config.set(CheckpointingOptions.CHECKPOINT_STORAGE, "filesystem");
        config.set(CheckpointingOptions.CHECKPOINTS_DIRECTORY, checkpoints.toUri().toString());
        config.set(CheckpointingOptions.CHECKPOINTING_INTERVAL, Duration.ofMillis(100));
        config.set(CheckpointingOptions.CHECKPOINTING_CONSISTENCY_MODE, CheckpointingMode.EXACTLY_ONCE);
        config.set(CheckpointingOptions.ENABLE_UNALIGNED, false);
        config.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
        config.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, 3);
        config.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(100));
        StreamExecutionEnvironment env = StreamExecutionEnvironment.getExecutionEnvironment(config);
        env.setParallelism(2);

        DataStream<Tuple2<String, Integer>> input = env.fromSequence(0, EVENTS - 1)
                .setParallelism(1)
                .map(new IndexToEvent(KEYS, EVENTS, SEED))
                .returns(OperatorFixture.EVENT_TYPE)
                .setParallelism(1)
                .name("index -> event");
        MambaStream<Tuple2<String, Integer>, Result> scored = f.builder()
                .bundleSize(16)
                .cacheSize(4)
                .maxBundleDelay(Duration.ofMillis(20))
                .applyTo(input.keyBy(e -> e.f0, Types.STRING));
        scored.results()
                .map(new FailOnce()).returns(scored.results().getType()).name("failure injector")
                .map(new Record()).returns(scored.results().getType()).name("record")
                .sinkTo(new DiscardingSink<>());
        JobClient job = env.executeAsync(injectFailure ? "mamba with a failure" : "mamba without failure");
        try {
            job.getJobExecutionResult().get(JOB_TIMEOUT.toSeconds(), TimeUnit.SECONDS);
        } catch (TimeoutException e) {
            job.cancel();
            throw new AssertionError("the job did not finish within " + JOB_TIMEOUT, e);
        }
        return new ArrayList<>(SEEN);
    }

    /**
     * Index -> the fixture's event at that index. In the first attempt of the job with a failure it sleeps a
     * millisecond per record (two past the failure point), so that checkpoints complete mid-stream; it records
     * which source index each checkpoint covers and, in a restarted attempt, the first index it reads.
     */
    private static final class IndexToEvent extends RichMapFunction<Long, Tuple2<String, Integer>>
            implements CheckpointedFunction, CheckpointListener {
        private final int keys;
        private final int count;
        private final long seed;
        private transient List<Tuple2<String, Integer>> events;
        private transient long lastIndex;
        private transient boolean restarted;
        private transient boolean first;

        IndexToEvent(int keys, int count, long seed) {
            this.keys = keys;
            this.count = count;
            this.seed = seed;
        }

        @Override
        public void open(OpenContext context) {
            events = OperatorFixture.events(keys, count, seed);
            lastIndex = -1;
            restarted = getRuntimeContext().getTaskInfo().getAttemptNumber() > 0;
            first = true;
        }

        @Override
        public Tuple2<String, Integer> map(Long index) throws Exception {
            if (first && restarted) {
                RESUMED_AT.accumulateAndGet(index, Math::min);
            }
            first = false;
            lastIndex = index;
            if (INJECT.get() && !restarted) {
                Thread.sleep(index < FAIL_AFTER ? 1 : 2);
            }
            return events.get(Math.toIntExact(index));
        }

        @Override
        public void snapshotState(FunctionSnapshotContext context) {
            SNAPSHOT_INDEX.put(context.getCheckpointId(), lastIndex);
        }

        @Override
        public void initializeState(FunctionInitializationContext context) {}

        @Override
        public void notifyCheckpointComplete(long checkpointId) {
            CHECKPOINTS_COMPLETED.incrementAndGet();
            Long index = SNAPSHOT_INDEX.get(checkpointId);
            if (index != null) {
                COMPLETED_INDEX.accumulateAndGet(index, Math::max);
            }
        }
    }

    /**
     * Throws once, on the first result after {@link #FAIL_AFTER} results have gone through it and a completed
     * checkpoint covers some events. It never waits, so barriers are never held up.
     */
    private static final class FailOnce extends RichMapFunction<Result, Result> {
        @Override
        public Result map(Result r) {
            long through = THROUGH_INJECTOR.incrementAndGet();
            if (INJECT.get() && through > FAIL_AFTER && COMPLETED_INDEX.get() >= 0
                    && FAILED.compareAndSet(false, true)) {
                SEEN_BEFORE_FAILURE.set(SEEN_COUNT.get());
                FAILED_SUBTASK.set(getRuntimeContext().getTaskInfo().getIndexOfThisSubtask());
                CHECKPOINTS_BEFORE_FAILURE.set(CHECKPOINTS_COMPLETED.get());
                COVERED_BEFORE_FAILURE.set(COMPLETED_INDEX.get());
                throw new RuntimeException("injected failure after " + through + " results");
            }
            return r;
        }
    }

    /** A result as the sink saw it: its place in the sink's order, and the subtask and attempt that emitted it. */
    private record Seen(long seq, int subtask, int attempt, Result result) {}

    /** The sink side: keeps every result in {@link #SEEN}. */
    private static final class Record extends RichMapFunction<Result, Result> {
        @Override
        public Result map(Result r) {
            int subtask = getRuntimeContext().getTaskInfo().getIndexOfThisSubtask();
            int attempt = getRuntimeContext().getTaskInfo().getAttemptNumber();
            synchronized (SEEN) {
                SEEN.add(new Seen(SEEN_COUNT.incrementAndGet(), subtask, attempt, r));
            }
            return r;
        }
    }
}

package io.flinkmamba.jobs.anomaly;

import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.JobRuns;
import io.flinkmamba.jobs.KafkaTestSupport;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.jobs.common.SourceEvent;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.configuration.CheckpointingOptions;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.ExternalizedCheckpointRetention;
import org.apache.flink.configuration.StateRecoveryOptions;
import org.apache.flink.core.execution.JobClient;
import org.apache.flink.runtime.execution.SuppressRestartsException;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.ExceptionUtils;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A job restored from a checkpoint of another model with mamba.state.on-model-mismatch: FAIL fails once, with
 * the message, although its restart strategy allows restarts: every restart would restore the same state.
 */
class AnomalyJobModelMismatchTest {
    @RegisterExtension
    static final KafkaTestSupport KAFKA = new KafkaTestSupport();
    static final long BASE = 1_700_000_000_000L;

    @TempDir
    static Path tmp;

    private static List<String[]> events(int from, int to) {
        List<String[]> records = new ArrayList<>();
        for (int t = from; t < to; t++) {
            records.add(new String[] {"h", String.format(Locale.ROOT, "{\"host\":\"h\",\"ts\":%d,\"cpu\":%d,\"mem\":1}",
                    BASE + t * 1000L, t % 3)});
        }
        return records;
    }

    @Test
    void aModelMismatchWithFailFailsTheJobOnceWithoutRestarts() throws Exception {
        Path modelA = tmp.resolve("model-a");
        Path modelB = tmp.resolve("model-b");
        EventModels.random(EventSchema.numeric("cpu", "mem"), 8, 1, 4, 1, modelA);
        EventModels.random(EventSchema.numeric("cpu", "mem"), 8, 1, 4, 2, modelB);
        String topics = KAFKA.topics("mismatch", 1);
        KAFKA.produce(topics + "-in", events(0, 20));

        // Model A scores key h; its checkpoint (retained on cancel) holds h's state.
        JobConfig first = AnomalyJob.configure(JobRuns.with(JobRuns.settings(KAFKA, topics, modelA),
                "kafka.bounded", "false", "mapping.key-field", "host", "mapping.timestamp-field", "ts",
                "mapping.numeric-fields", "cpu;mem", "watermarks.idleness", "0s"));
        Configuration retain = new Configuration();
        retain.set(CheckpointingOptions.EXTERNALIZED_CHECKPOINT_RETENTION, ExternalizedCheckpointRetention.RETAIN_ON_CANCELLATION);
        Path checkpoints = tmp.resolve("cp-a");
        StreamExecutionEnvironment envA = JobRuns.environment(first, checkpoints, 0, retain);
        AnomalyJob.build(envA, first, s -> s);
        JobClient jobA = envA.executeAsync();
        KAFKA.consume(topics + "-out", r -> r.size() >= 10, Duration.ofSeconds(120));
        jobA.cancel().get(60, TimeUnit.SECONDS);
        Path checkpoint;
        try (Stream<Path> files = Files.walk(checkpoints)) {
            checkpoint = files.filter(p -> p.getFileName().toString().equals("_metadata")).map(Path::getParent)
                    .max(Comparator.comparingInt(p -> Integer.parseInt(p.getFileName().toString().substring(4))))
                    .orElseThrow();
        }

        // Model B from that checkpoint, with FAIL and up to 3 restarts allowed.
        KAFKA.produce(topics + "-in", events(20, 30));
        JobConfig second = AnomalyJob.configure(JobRuns.with(first.configuration().toMap(), "mamba.model-dir",
                modelB.toString(), "mamba.state.on-model-mismatch", "FAIL"));
        Configuration restore = new Configuration();
        restore.set(StateRecoveryOptions.SAVEPOINT_PATH, checkpoint.toUri().toString());
        StreamExecutionEnvironment envB = JobRuns.environment(second, tmp.resolve("cp-b"), 3, restore);
        Attempts.SEEN.clear();
        AnomalyJob.build(envB, second, events -> events.map(new Attempts()).returns(SourceEvent.class));
        JobClient jobB = envB.executeAsync();

        ExecutionException failure = assertThrows(ExecutionException.class,
                () -> jobB.getJobExecutionResult().get(180, TimeUnit.SECONDS));
        assertTrue(ExceptionUtils.findThrowable(failure, SuppressRestartsException.class).isPresent(), failure.toString());
        assertTrue(ExceptionUtils.findThrowableWithMessage(failure,
                "set mamba.state.on-model-mismatch=RESET to start such keys afresh").isPresent(), failure.toString());
        assertEquals(Set.of(0), Attempts.SEEN, "the job ran once, no restart");
    }

    /** Records the attempt number of every task start (the MiniCluster runs in this JVM). */
    static final class Attempts extends RichMapFunction<SourceEvent, SourceEvent> {
        static final Set<Integer> SEEN = ConcurrentHashMap.newKeySet();

        @Override
        public void open(OpenContext context) {
            SEEN.add(getRuntimeContext().getTaskInfo().getAttemptNumber());
        }

        @Override
        public SourceEvent map(SourceEvent event) {
            return event;
        }
    }
}

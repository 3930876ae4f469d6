package io.flinkmamba.jobs;

import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.jobs.common.KafkaPipeline;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;

import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/** Settings and local environments for the job tests. */
public final class JobRuns {
    private JobRuns() {}

    /** The settings every test job shares: the broker, its topics (prefix-in/-out/-dead), bounded input. */
    public static Map<String, String> settings(KafkaTestSupport kafka, String topics, Path model) {
        Map<String, String> settings = new HashMap<>();
        settings.put("job.name", topics);
        settings.put("kafka.bootstrap-servers", kafka.bootstrapServers());
        settings.put("kafka.input-topic", topics + "-in");
        settings.put("kafka.output-topic", topics + "-out");
        settings.put("kafka.dead-letter-topic", topics + "-dead");
        settings.put("kafka.bounded", "true");
        settings.put("checkpoints.interval", "500ms");
        settings.put("mamba.model-dir", model.toString());
        settings.put("mamba.bundle.max-delay", "20ms");
        return settings;
    }

    /** A local environment with the job's Flink settings and at most {@code restarts} restarts. */
    public static StreamExecutionEnvironment environment(JobConfig config, Path checkpoints, int restarts) {
        return environment(config, checkpoints, restarts, new Configuration());
    }

    /** As {@link #environment(JobConfig, Path, int)}, with further Flink settings. */
    public static StreamExecutionEnvironment environment(JobConfig config, Path checkpoints, int restarts,
                                                         Configuration extra) {
        Configuration flink = KafkaPipeline.flinkConfiguration(config, checkpoints);
        flink.addAll(extra);
        flink.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.ofMebiBytes(128));
        if (restarts == 0) {
            flink.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        } else {
            flink.set(RestartStrategyOptions.RESTART_STRATEGY, "fixed-delay");
            flink.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_ATTEMPTS, restarts);
            flink.set(RestartStrategyOptions.RESTART_STRATEGY_FIXED_DELAY_DELAY, Duration.ofMillis(200));
        }
        return StreamExecutionEnvironment.createLocalEnvironment(flink);
    }

    public static Map<String, String> with(Map<String, String> settings, String... keyValues) {
        Map<String, String> copy = new HashMap<>(settings);
        for (int i = 0; i < keyValues.length; i += 2) {
            copy.put(keyValues[i], keyValues[i + 1]);
        }
        return copy;
    }
}

package io.flinkmamba.cli;

import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.KafkaTestSupport;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code run anomaly --config FILE} against the embedded broker, and its refusal of bad configurations. */
class RunCommandTest {
    @RegisterExtension
    static final KafkaTestSupport KAFKA = new KafkaTestSupport();

    @Test
    void runsTheAnomalyJobFromAYamlFileWithOverridesAndPrintsProgress(@TempDir Path tmp) throws Exception {
        Path model = tmp.resolve("model");
        EventModels.random(EventSchema.numeric("cpu"), 8, 1, 4, 5, model);
        String topics = KAFKA.topics("run", 1);
        List<String[]> records = new ArrayList<>();
        for (int t = 0; t < 50; t++) {
            records.add(new String[] {"h" + t % 2, String.format(Locale.ROOT, "{\"host\":\"h%d\",\"ts\":%.3f,\"cpu\":%d}",
                    t % 2, 1_700_000_000.0 + t, t % 5)});
        }
        KAFKA.produce(topics + "-in", records);
        Path config = tmp.resolve("anomaly.yaml");
        Files.writeString(config, """
                kafka:
                  bootstrap-servers: %s
                  input-topic: %s-in
                  output-topic: %s-out
                  dead-letter-topic: wrong
                  bounded: true
                mapping:
                  key-field: host
                  timestamp-field: ts
                  timestamp-format: epoch-seconds
                  numeric-fields: [cpu]
                mamba.model-dir: %s
                checkpoints.interval: 1s
                """.formatted(KAFKA.bootstrapServers(), topics, topics, model));
        CliRun run = CliRun.of("run", "anomaly", "--config", config.toString(), "--set", "kafka.dead-letter-topic=" + topics + "-dead",
                "--progress-every", "1s");
        assertEquals(0, run.exit(), run.out() + run.err());
        assertTrue(run.out().contains("records 50 (results 50, dead letters 0)"), run.out());
        assertTrue(run.out().lines().filter(line -> line.startsWith("records ")).allMatch(line -> line.matches(".*  restarts [?0]  .*")),
                run.out());
        assertTrue(run.out().contains("run: job finished"), run.out());
        assertEquals(50, KAFKA.consumeAll(topics + "-out").size());
    }

    @Test
    void refusesABadConfigurationWithOneLinePerProblem(@TempDir Path tmp) throws Exception {
        Path config = tmp.resolve("bad.yaml");
        Files.writeString(config, """
                kafka:
                  bootstrap-servers: localhost:1
                  input-topic: in
                  output-topic: out
                mapping:
                  key-field: host
                  timestamp-field: ts
                  numeric-fields: [cpu]
                mamba.model-dir: %s
                checkpoints.interval: soon
                """.formatted(tmp));
        CliRun run = CliRun.of("run", "anomaly", "--config", config.toString(), "--set", "kafka.colour=blue");
        assertEquals(2, run.exit(), run.out() + run.err());
        List<String> lines = run.err().strip().lines().toList();
        assertEquals(3, lines.size(), run.err());
        assertTrue(lines.contains("run: unknown setting 'kafka.colour'"), run.err());
        assertTrue(lines.contains("run: missing required setting 'kafka.dead-letter-topic'"), run.err());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("run: setting 'checkpoints.interval': cannot read 'soon'")), run.err());
    }
}

package io.flinkmamba.cli;

import io.flinkmamba.demo.SyntheticSessions;
import io.flinkmamba.engine.cuda.CudaEngine;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.common.ConfigException;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.jobs.common.KafkaPipeline;
import io.flinkmamba.kafka.EmbeddedKafka;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.TimeUtils;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.NewTopic;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.Callable;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * The real Kafka job end to end against an anchor that is the same job without the model
 * ({@link JobBenchAnchor}), on one pre-filled topic (throughput of bounded runs, RUNNING to FINISHED) and
 * then on live input at a fixed rate (latency from sending an event to its result being visible to a
 * read_committed consumer). Checks that every input event has exactly one result, in every run.
 */
@Command(name = "job",
        mixinStandardHelpOptions = true,
        description = {
                "Events/s and end-to-end latency of a real Kafka job (anomaly or session: Kafka -> parse -> keyBy ->"
                        + " Mamba operator on RocksDB -> JSON -> exactly-once Kafka sink) against an anchor: the same"
                        + " source, parsing, keyBy and sinks around a KeyedProcessFunction that reads and writes a"
                        + " byte[] state of the operator's size per event. Both run bounded over one pre-filled topic"
                        + " (throughput), then on live input at --rate (latency). Local MiniCluster, embedded broker"
                        + " unless --bootstrap.",
                "Exit 0 when every input event of every run has exactly one result, 1 when not, 2 on bad options."
                        + " The last line is `bench-job job=<j> keys=<k> events=<n> engine=<e> real_eps=<x>"
                        + " anchor_eps=<y> real_p50_ms=<a> real_p99_ms=<b> ratio=<real/anchor>`."})
final class JobBenchCommand implements Callable<Integer> {
    static final long MODEL_SEED = 42;

    @Option(names = "--job", defaultValue = "anomaly", description = "The real job: ${COMPLETION-CANDIDATES} (default ${DEFAULT-VALUE}).")
    KafkaJobs job;

    @Option(names = "--events", defaultValue = "100000", description = "Events in the pre-filled topic (default ${DEFAULT-VALUE}).")
    int events;

    @Option(names = "--keys", defaultValue = "1000", description = "Distinct keys (default ${DEFAULT-VALUE}).")
    int keys;

    @Option(names = "--zipf", description = "Zipf(1.1) key popularity instead of uniform.")
    boolean zipf;

    @Option(names = "--model", paramLabel = "DIR", description = "An event model to run (default: a random one of --d-model, --layers, --d-state).")
    Path model;

    @Option(names = "--d-model", defaultValue = "32", description = "Random model width (default ${DEFAULT-VALUE}, the demo's).")
    int dModel;

    @Option(names = "--layers", defaultValue = "1", description = "Random model layers (default ${DEFAULT-VALUE}, the demo's).")
    int layers;

    @Option(names = "--d-state", defaultValue = "16", description = "Random model SSM state size (default ${DEFAULT-VALUE}, the demo's).")
    int dState;

    @Option(names = "--engine", defaultValue = "cpu", description = "Engine of the real job: cpu, cuda or auto (default ${DEFAULT-VALUE}).")
    String engine;

    @Option(names = "--parallelism", defaultValue = "2", description = "Job parallelism and input partitions (default ${DEFAULT-VALUE}).")
    int parallelism;

    @Option(names = "--checkpoint-interval", defaultValue = "10s",
            description = "Checkpoint interval; exactly-once results become visible at checkpoints (default ${DEFAULT-VALUE}).")
    String checkpointInterval;

    @Option(names = "--out-of-orderness", defaultValue = "200ms",
            description = "Watermark out-of-orderness; the real job holds each event until the watermark passes it (default ${DEFAULT-VALUE}).")
    String outOfOrderness;

    @Option(names = "--rate", description = "Events/s of the latency phase (default: half the real job's measured events/s).")
    Double rate;

    @Option(names = "--latency-seconds", defaultValue = "30", description = "Length of the latency phase per job; 0 skips it (default ${DEFAULT-VALUE}).")
    double latencySeconds;

    @Option(names = "--warmup-events", defaultValue = "2000",
            description = "Events of an unreported bounded run of both jobs first, so that neither pays for loading classes and native code (default ${DEFAULT-VALUE}; 0: none).")
    int warmupEvents;

    @Option(names = "--no-anchor", description = "Run the real job only (e.g. to profile it); anchor_eps and ratio print as nan.")
    boolean noAnchor;

    @Option(names = "--bootstrap", paramLabel = "HOST:PORT", description = "A Kafka broker to use instead of an embedded one (topics are created and deleted).")
    String bootstrap;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the input (default ${DEFAULT-VALUE}).")
    long seed;

    /** Builds a job into an environment: the real one or the anchor. */
    @FunctionalInterface
    private interface JobBuilder {
        void build(StreamExecutionEnvironment env, JobConfig config) throws IOException;
    }

    /** What one run measured. */
    private record Measured(String phase, String name, long events, double seconds, JobBenchResults.Check check,
                            JobBenchResults.Latency latency) {}

    private Duration interval;
    private EventSchema schema;
    private Path modelDir;
    private Path root;
    private Properties client;
    private String prefix;
    private int stateBytes;

    @Override
    public Integer call() {
        String problem = validate();
        if (problem != null) {
            System.err.println("bench job: " + problem);
            return 2;
        }
        try {
            root = Files.createTempDirectory("flink-mamba-bench-job");
            return run();
        } catch (ConfigException e) {
            e.problems().forEach(p -> System.err.println("bench job: " + p));
            return 2;
        } catch (Exception e) {
            System.err.println("bench job: " + JobBenchRun.rootCause(e));
            return 1;
        } finally {
            try {
                if (root != null) {
                    FileTrees.delete(root);
                }
            } catch (IOException | java.io.UncheckedIOException ignored) {
                // best effort: a temp folder
            }
        }
    }

    private String validate() {
        if (events < 1 || keys < 1 || dModel < 1 || layers < 1 || dState < 1 || parallelism < 1 || warmupEvents < 0
                || !(latencySeconds >= 0) || (rate != null && !(rate > 0))) {
            return "--events, --keys, --d-model, --layers, --d-state and --parallelism must be positive, --rate above 0,"
                    + " --latency-seconds and --warmup-events not negative";
        }
        if (!List.of("cpu", "cuda", "auto").contains(engine)) {
            return "unknown engine '" + engine + "' (available: cpu, cuda, auto)";
        }
        if (engine.equals("cuda") && !CudaEngine.available()) {
            return "--engine cuda: no CUDA device, driver or kernels here";
        }
        try {
            interval = TimeUtils.parseDuration(checkpointInterval);
            TimeUtils.parseDuration(outOfOrderness);
        } catch (IllegalArgumentException e) {
            return "--checkpoint-interval and --out-of-orderness take durations such as 10s or 200ms: " + e.getMessage();
        }
        if (model != null && !EventModel.isEventModel(model)) {
            return "--model " + model + " is not an event model (no " + EventModel.FILE + ")";
        }
        return null;
    }

    private int run() throws Exception {
        if (model != null) {
            modelDir = model;
            schema = EventModel.load(model).schema();
        } else {
            modelDir = root.resolve("model");
            schema = job == KafkaJobs.session ? new EventSchema(List.of(), "action", SyntheticSessions.ACTIONS)
                    : EventSchema.numeric("cpu", "load");
            EventModels.random(schema, dModel, layers, dState, MODEL_SEED, modelDir);
        }
        prefix = "bench-job-" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 40);
        try (EmbeddedKafka kafka = bootstrap == null ? EmbeddedKafka.start() : null) {
            client = new Properties();
            client.put("bootstrap.servers", kafka != null ? kafka.bootstrapServers() : bootstrap);
            try {
                return measure();
            } finally {
                if (kafka == null) {
                    deleteTopics();
                }
            }
        }
    }

    private int measure() throws Exception {
        stateBytes = JobBenchAnchor.storedStateBytes(configure("real", "input", true));
        printHeader();
        if (warmupEvents > 0) {
            JobBenchInput warm = prefilled("warmup-input", warmupEvents, seed + 7);
            Measured real = bounded("warmup-real", "warmup-input", warm, this::buildRealJob);
            if (!noAnchor) {
                int resultBytes = (int) Math.round(real.check().meanResultBytes());
                bounded("warmup-anchor", "warmup-input", warm, anchorBuilder(resultBytes));
            }
        }
        long filling = System.nanoTime();
        JobBenchInput input = prefilled("input", events, seed);
        System.out.printf(Locale.ROOT, "input: %d events written to %s-input in %.1f s%n", events, prefix,
                (System.nanoTime() - filling) / 1e9);

        List<Measured> rows = new ArrayList<>();
        Measured real = bounded("real", "input", input, this::buildRealJob);
        rows.add(real);
        Measured anchor = null;
        int resultBytes = (int) Math.round(real.check().meanResultBytes());
        if (!noAnchor) {
            anchor = bounded("anchor", "input", input, anchorBuilder(resultBytes));
            rows.add(anchor);
        }
        double realEps = real.events() / real.seconds();
        double liveRate = rate != null ? rate : realEps / 2;
        Measured realLive = null;
        if (latencySeconds > 0) {
            realLive = live("real", liveRate, this::buildRealJob);
            rows.add(realLive);
            if (!noAnchor) {
                rows.add(live("anchor", liveRate, anchorBuilder(resultBytes)));
            }
        }
        printTable(rows, liveRate);

        boolean ok = true;
        for (Measured row : rows) {
            if (!row.check().ok()) {
                System.err.println("bench job: " + row.phase() + " " + row.name() + ": " + row.check().problems());
                ok = false;
            }
        }
        System.out.printf(Locale.ROOT, "bench-job job=%s keys=%d events=%d engine=%s real_eps=%.0f anchor_eps=%s"
                        + " real_p50_ms=%s real_p99_ms=%s ratio=%s%n", job, keys, events, engine, realEps,
                anchor == null ? "nan" : String.format(Locale.ROOT, "%.0f", anchor.events() / anchor.seconds()),
                realLive == null ? "nan" : realLive.latency().p50Millis(),
                realLive == null ? "nan" : realLive.latency().p99Millis(),
                anchor == null ? "nan" : String.format(Locale.ROOT, "%.3f", realEps / (anchor.events() / anchor.seconds())));
        return ok ? 0 : 1;
    }

    /** The real job, built by the product's own code (the same call as `run`). */
    private void buildRealJob(StreamExecutionEnvironment env, JobConfig config) throws IOException {
        job.build(env, config, stream -> stream);
    }

    private JobBuilder anchorBuilder(int resultBytes) {
        return (env, config) -> JobBenchAnchor.build(env, config, schema, stateBytes, resultBytes);
    }

    private JobBenchInput prefilled(String topic, int count, long inputSeed) {
        createTopics(topic);
        try (JobBenchInput input = new JobBenchInput(client, prefix + "-" + topic, parallelism, schema, keys, zipf, inputSeed)) {
            input.prefill(count);
            return input;
        }
    }

    /** A bounded run over the whole topic: seconds from RUNNING to FINISHED, then every result read and checked. */
    private Measured bounded(String name, String inputTopic, JobBenchInput input, JobBuilder builder) throws Exception {
        createTopics(name + "-out", name + "-dead-letters");
        JobConfig config = configure(name, inputTopic, true);
        StreamExecutionEnvironment env = environment(config, name);
        builder.build(env, config);
        double seconds = JobBenchRun.start(env, config.jobName()).awaitFinished(Duration.ofHours(2));
        JobBenchResults results = new JobBenchResults();
        try (JobBenchReader reader = new JobBenchReader(client, prefix + "-" + name + "-out", results)) {
            reader.awaitComplete(input.sent(), Duration.ofSeconds(30));
        }
        return new Measured("throughput", name, input.sent(), seconds, results.check(input.identities()), null);
    }

    /**
     * A run on live input at {@code eventsPerSecond} for --latency-seconds, then stopped with a drain (the
     * held events released, the last transactions committed) and every result read.
     */
    private Measured live(String name, double eventsPerSecond, JobBuilder builder) throws Exception {
        String run = "live-" + name;
        createTopics(run + "-input", run + "-out", run + "-dead-letters");
        JobConfig config = configure(run, run + "-input", false);
        StreamExecutionEnvironment env = environment(config, run);
        builder.build(env, config);
        JobBenchResults results = new JobBenchResults();
        JobBenchRun job = JobBenchRun.start(env, config.jobName());
        try (JobBenchInput input = new JobBenchInput(client, prefix + "-" + run + "-input", parallelism, schema, keys, zipf, seed + 1);
             JobBenchReader reader = new JobBenchReader(client, prefix + "-" + run + "-out", results)) {
            long started = System.nanoTime();
            input.paced(eventsPerSecond, latencySeconds);
            double seconds = (System.nanoTime() - started) / 1e9;
            long steadyUntil = System.currentTimeMillis() - interval.toMillis();
            job.stopWithDrain(root.resolve("savepoints-" + run));
            reader.awaitComplete(input.sent(), Duration.ofSeconds(30));
            return new Measured("latency", name, input.sent(), seconds, results.check(input.identities()),
                    results.latencies(input::sentMillis, steadyUntil));
        }
    }

    private JobConfig configure(String name, String inputTopic, boolean bounded) throws ConfigException {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("job.name", prefix + "-" + name);
        settings.put("job.parallelism", String.valueOf(parallelism));
        settings.put("kafka.bootstrap-servers", client.getProperty("bootstrap.servers"));
        settings.put("kafka.input-topic", prefix + "-" + inputTopic);
        settings.put("kafka.output-topic", prefix + "-" + name + "-out");
        settings.put("kafka.dead-letter-topic", prefix + "-" + name + "-dead-letters");
        settings.put("kafka.starting-offsets", "earliest");
        settings.put("kafka.bounded", String.valueOf(bounded));
        settings.put("checkpoints.interval", checkpointInterval);
        settings.put("watermarks.out-of-orderness", outOfOrderness);
        // A partition quiet for a second (Zipf keys at a low rate) must not hold back the others.
        settings.put("watermarks.idleness", "1s");
        settings.put("mapping.key-field", JobBenchInput.KEY_FIELD);
        settings.put("mapping.timestamp-field", JobBenchInput.TIME_FIELD);
        if (!schema.numericFields().isEmpty()) {
            settings.put("mapping.numeric-fields", String.join(";", schema.numericFields()));
        }
        if (schema.hasCategory()) {
            settings.put("mapping.categorical-field", schema.categoricalField());
        }
        settings.put("mamba.model-dir", modelDir.toString());
        settings.put("mamba.engine", engine);
        if (job == KafkaJobs.session) {
            settings.put("mamba.session.gap", "30min");
        }
        return job.configure(settings);
    }

    /** The product's Flink settings (RocksDB, exactly-once checkpoints); no restarts, so a failure ends the run. */
    private StreamExecutionEnvironment environment(JobConfig config, String name) {
        Configuration flink = KafkaPipeline.flinkConfiguration(config, root.resolve("checkpoints-" + name));
        flink.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        return StreamExecutionEnvironment.createLocalEnvironment(flink);
    }

    private void createTopics(String... names) {
        List<NewTopic> topics = new ArrayList<>();
        for (String name : names) {
            topics.add(new NewTopic(prefix + "-" + name, Optional.of(parallelism), Optional.empty()));
        }
        try (Admin admin = Admin.create(client)) {
            admin.createTopics(topics).all().get(1, TimeUnit.MINUTES);
        } catch (Exception e) {
            throw new IllegalStateException("could not create topics " + List.of(names) + ": " + JobBenchRun.rootCause(e), e);
        }
    }

    private void deleteTopics() {
        try (Admin admin = Admin.create(client)) {
            List<String> ours = admin.listTopics().names().get(1, TimeUnit.MINUTES).stream()
                    .filter(t -> t.startsWith(prefix + "-")).toList();
            admin.deleteTopics(ours).all().get(1, TimeUnit.MINUTES);
        } catch (Exception e) {
            System.err.println("bench job: could not delete the topics " + prefix + "-*: " + JobBenchRun.rootCause(e));
        }
    }

    private void printHeader() {
        System.out.printf(Locale.ROOT, "bench job: %s job, %d events, %d keys (%s), model %s, engine %s, parallelism %d,"
                        + " RocksDB, exactly-once, checkpoints every %s, watermark out-of-orderness %s, broker %s%n",
                job, events, keys, zipf ? "Zipf 1.1" : "uniform",
                model != null ? model.toString() : String.format(Locale.ROOT, "random d_model %d, %d layer(s), d_state %d",
                        dModel, layers, dState), engine, parallelism, checkpointInterval, outOfOrderness,
                bootstrap != null ? bootstrap : "embedded");
        System.out.printf(Locale.ROOT, "anchor: the same source, parsing, keyBy and exactly-once sinks around a"
                + " KeyedProcessFunction with a ValueState<byte[]> of %d bytes per key (the operator's stored key"
                + " state), results padded to the real job's mean size%n", stateBytes);
    }

    private void printTable(List<Measured> rows, double liveRate) {
        System.out.printf(Locale.ROOT, "%-10s %-6s %8s %8s %9s %8s %5s %7s %6s %7s %7s %7s %7s%n", "phase", "job",
                "events", "seconds", "events/s", "results", "dups", "missing", "other", "bytes", "p50_ms", "p99_ms",
                "max_ms");
        for (Measured m : rows) {
            JobBenchResults.Check c = m.check();
            JobBenchResults.Latency l = m.latency();
            System.out.printf(Locale.ROOT, "%-10s %-6s %8d %8.2f %9.0f %8d %5d %7d %6d %7.0f %7s %7s %7s%n", m.phase(),
                    m.name(), m.events(), m.seconds(), m.events() / m.seconds(), c.results(), c.duplicates(),
                    c.missing() + c.unexpected(), c.otherRecords(), c.meanResultBytes(),
                    l == null ? "" : l.p50Millis(), l == null ? "" : l.p99Millis(), l == null ? "" : l.maxMillis());
        }
        System.out.println("throughput: events over the time from the job's RUNNING to FINISHED (a bounded run over the"
                + " whole topic, including the final checkpoint); other: records that are not an event's result"
                + " (session_end); bytes: mean result size");
        for (Measured m : rows) {
            if (m.latency() != null) {
                System.out.printf(Locale.ROOT, "latency %s: %.0f events/s for %.0f s; from sending an event to its result"
                                + " being visible to a read_committed consumer, over the %d of %d events sent after the first"
                                + " result was visible and a checkpoint interval or more before the input stopped; it includes the wait for a checkpoint (every %s) and the"
                                + " event-time hold (out-of-orderness %s, real job only)%n", m.name(), liveRate,
                        latencySeconds, m.latency().measured(), m.latency().total(), checkpointInterval, outOfOrderness);
            }
        }
    }
}

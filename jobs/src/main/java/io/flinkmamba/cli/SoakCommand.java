package io.flinkmamba.cli;

import io.flinkmamba.cluster.LocalCluster;
import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.kafka.EmbeddedKafka;
import org.apache.flink.api.common.JobID;
import org.apache.flink.util.TimeUtils;
import org.apache.flink.api.common.JobStatus;
import org.apache.flink.client.deployment.StandaloneClusterId;
import org.apache.flink.client.program.rest.RestClusterClient;
import org.apache.flink.runtime.client.JobStatusMessage;
import org.apache.flink.runtime.rest.messages.job.JobDetailsInfo;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * A soak run of the anomaly job on a local multi-process cluster with an embedded broker, outside the test
 * suite: first the job's capacity on this machine (a bounded backlog), then a steady input at a share of it
 * for a given time, sampling throughput, latency, process memory and RocksDB size into a CSV and an HTML
 * page of plots. The job goes through the real path: {@code run anomaly --config FILE --cluster HOST:PORT}
 * in a child process, shipping this jar. Optionally kills a TaskManager (SIGKILL) every so often. At the end
 * it checks, with a read_committed consumer, that every input event has exactly one result.
 */
@Command(name = "soak",
        mixinStandardHelpOptions = true,
        description = {
                "Soaks the anomaly job on a local cluster (`cluster` command's processes) and an embedded Kafka broker:"
                        + " measures capacity on a backlog, then runs at --load of it for --duration, writing"
                        + " soak.csv and soak.html (throughput, latency, process memory, RocksDB size over time) into"
                        + " --out. Checks exactly one result per input at the end. Not part of the test suite.",
                "The last line is `soak events=<n> results=<n> duplicates=<n> missing=<n> kills=<n>"
                        + " capacity_eps=<x> mean_eps=<x> p99_ms=<x>`; exit 0 when nothing is missing or doubled."})
final class SoakCommand implements Callable<Integer> {
    static final EventSchema SCHEMA = EventSchema.numeric("cpu", "latency");
    static final int PARTITIONS = 4;

    @Option(names = "--duration", defaultValue = "10min", description = "Soak time, e.g. 30min (default ${DEFAULT-VALUE}).")
    Duration duration;

    @Option(names = "--load", defaultValue = "0.7", description = "Input rate as a share of the measured capacity (default ${DEFAULT-VALUE}).")
    double load;

    @Option(names = "--keys", defaultValue = "200", description = "Distinct keys (default ${DEFAULT-VALUE}).")
    int keys;

    @Option(names = "--sample", defaultValue = "5s", description = "Sampling interval (default ${DEFAULT-VALUE}).")
    Duration sample;

    @Option(names = "--kill-every", defaultValue = "0s",
            description = "Kill a random TaskManager (SIGKILL) and start another this often; 0s (default) never.")
    Duration killEvery;

    @Option(names = "--capacity-events", defaultValue = "40000", description = "Backlog for the capacity run (default ${DEFAULT-VALUE}).")
    int capacityEvents;

    @Option(names = "--checkpoint-interval", defaultValue = "5s",
            description = "The job's checkpoint interval; results become visible (exactly-once) at checkpoints (default ${DEFAULT-VALUE}).")
    Duration checkpointInterval;

    @Option(names = "--parallelism", defaultValue = "2", description = "Job parallelism (default ${DEFAULT-VALUE}).")
    int parallelism;

    @Option(names = "--taskmanagers", defaultValue = "2", description = "TaskManager processes (default ${DEFAULT-VALUE}).")
    int taskManagers;

    @Option(names = "--out", defaultValue = "soak-out", description = "Output folder (default ${DEFAULT-VALUE}).")
    Path out;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the model and the input (default ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() throws Exception {
        Path jar = RunCommand.ownJar();
        if (jar == null) {
            System.err.println("soak: run it from the jar (java -jar jobs/target/flink-mamba.jar soak); it submits that jar");
            return 2;
        }
        if (!(load > 0) || keys < 1 || sample.isZero() || sample.isNegative()) {
            System.err.println("soak: --load must be > 0, --keys >= 1, --sample > 0");
            return 2;
        }
        out = out.toAbsolutePath();
        Files.createDirectories(out);
        Path model = out.resolve("model");
        EventModels.random(SCHEMA, 32, 2, 16, seed, model);

        try (EmbeddedKafka kafka = EmbeddedKafka.start();
             LocalCluster cluster = LocalCluster.start(out.resolve("cluster"),
                     LocalCluster.Settings.defaults().withTaskManagers(taskManagers), Duration.ofMinutes(2))) {
            System.out.println("soak: broker " + kafka.bootstrapServers() + ", cluster " + cluster.restAddress()
                    + " (" + taskManagers + " taskmanagers), output in " + out);
            kafka.createTopics(PARTITIONS, "capacity-in", "soak-in");
            kafka.createTopics(1, "capacity-out", "soak-out", "dead-letters");

            // 1. Capacity: a backlog through a bounded run; events over the time the job ran.
            // Recent event times, 10 ms apart (old ones would fall to the broker's time-based retention).
            Input backlog = new Input(kafka, "capacity-in", keys, seed);
            long base = System.currentTimeMillis() - capacityEvents * 10L;
            for (int i = 0; i < capacityEvents; i++) {
                backlog.send(base + i * 10L);
            }
            backlog.close();
            Path capacityConfig = writeConfig("capacity", kafka, model, true);
            int exit = runJob(jar, capacityConfig, cluster, out.resolve("run-capacity.log")).waitFor();
            if (exit != 0) {
                System.err.println("soak: the capacity run failed (exit " + exit + "); see " + out.resolve("run-capacity.log"));
                return 1;
            }
            double seconds = runSeconds(cluster, "soak-capacity");
            double capacity = capacityEvents / seconds;
            double rate = load * capacity;
            System.out.printf(Locale.ROOT, "soak: capacity %.0f events/s (%d events in %.1f s); soaking at %.0f events/s for %s%n",
                    capacity, capacityEvents, seconds, rate, duration);

            // 2. The soak: a steady input at the chosen rate, sampled.
            Path soakConfig = writeConfig("soak", kafka, model, false);
            Process run = runJob(jar, soakConfig, cluster, out.resolve("run-soak.log"));
            JobID job = awaitJob(cluster, "soak-soak", run);
            Results results = new Results(kafka, "soak-out");
            Input input = new Input(kafka, "soak-in", keys, seed + 1);
            AtomicBoolean producing = new AtomicBoolean(true);
            Thread producer = new Thread(() -> input.paced(rate, producing), "soak-input");
            producer.start();

            List<double[]> rows = new ArrayList<>();
            long start = System.nanoTime();
            long end = start + duration.toNanos();
            long nextKill = killEvery.isZero() ? Long.MAX_VALUE : start + killEvery.toNanos();
            int kills = 0;
            int nextTaskManager = taskManagers + 1;
            long lastResults = 0;
            long lastSample = start;
            SplittableRandom random = new SplittableRandom(seed);
            while (System.nanoTime() < end) {
                Thread.sleep(Math.min(sample.toMillis(), Math.max(1, (end - System.nanoTime()) / 1_000_000)));
                if (System.nanoTime() >= nextKill) {
                    // A TaskManager that runs part of the job (with slot sharing, one may run none).
                    List<Integer> live = cluster.liveTaskManagers();
                    List<Integer> working = new ArrayList<>(cluster.taskManagersOf(job));
                    working.retainAll(live);
                    List<Integer> candidates = working.isEmpty() ? live : working;
                    int victim = candidates.get(random.nextInt(candidates.size()));
                    cluster.killTaskManager(victim);
                    cluster.startTaskManager(nextTaskManager++);
                    kills++;
                    nextKill += killEvery.toNanos();
                    System.out.println("soak: killed taskmanager-" + victim + " (SIGKILL), started taskmanager-" + (nextTaskManager - 1));
                }
                long now = System.nanoTime();
                long count = results.count();
                double[] latency = results.takeLatencies();
                Map<String, Long> rss = cluster.residentMemory();
                long tmRss = rss.entrySet().stream().filter(e -> !e.getKey().equals("jobmanager")).mapToLong(Map.Entry::getValue).sum();
                double[] row = {
                        (now - start) / 1e9, input.sent(), count, (count - lastResults) / ((now - lastSample) / 1e9),
                        percentile(latency, 0.5), percentile(latency, 0.99), percentile(latency, 1.0),
                        rss.getOrDefault("jobmanager", 0L) / 1048576.0, tmRss / 1048576.0,
                        folderSize(cluster.rocksDbDir()) / 1048576.0, folderSize(cluster.dir().resolve("checkpoints")) / 1048576.0,
                        cluster.liveTaskManagers().size(), kills};
                rows.add(row);
                System.out.printf(Locale.ROOT, "soak: %5.0fs in %d results %d (%.0f/s) latency p50 %.0f ms p99 %.0f ms"
                                + " tm rss %.0f MiB rocksdb %.1f MiB%n", row[0], (long) row[1], (long) row[2], row[3], row[4],
                        row[5], row[8], row[9]);
                lastResults = count;
                lastSample = now;
            }
            producing.set(false);
            producer.join();

            // 3. Drain: once the whole input is read, stop with drain (the final watermark releases what the
            // operator holds for event-time order), then count every result.
            long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(5);
            while (!inputFullyRead(kafka, "soak-soak", "soak-in") && System.nanoTime() < deadline) {
                Thread.sleep(500);
            }
            cluster.stopWithSavepoint(job, true, Duration.ofMinutes(2));
            run.waitFor(2, TimeUnit.MINUTES);
            long produced = input.sent();
            results.awaitQuiet(produced, Duration.ofMinutes(2));
            long missing = produced - results.distinct();

            String[] header = {"seconds", "events_in", "results", "results_per_s", "latency_p50_ms", "latency_p99_ms",
                    "latency_max_ms", "jobmanager_rss_mib", "taskmanagers_rss_mib", "rocksdb_mib", "checkpoints_mib",
                    "taskmanagers_alive", "kills"};
            SoakReport.write(out.resolve("soak.csv"), out.resolve("soak.html"), header, rows, String.format(Locale.ROOT,
                    "anomaly job, %d keys, %.0f events/s (%.0f%% of %.0f measured), checkpoints every %s, %d kills",
                    keys, rate, load * 100, capacity, TimeUtils.formatWithHighestUnit(checkpointInterval), kills));
            double meanEps = rows.stream().mapToDouble(r -> r[3]).average().orElse(0);
            double p99 = rows.stream().mapToDouble(r -> r[5]).filter(Double::isFinite).max().orElse(Double.NaN);
            System.out.println("soak: wrote " + out.resolve("soak.csv") + " and " + out.resolve("soak.html"));
            System.out.printf(Locale.ROOT, "soak events=%d results=%d duplicates=%d missing=%d kills=%d capacity_eps=%.0f"
                            + " mean_eps=%.0f p99_ms=%.0f%n", produced, results.count(), results.duplicates(), missing, kills,
                    capacity, meanEps, p99);
            results.close();
            return missing == 0 && results.duplicates() == 0 ? 0 : 1;
        }
    }

    private Path writeConfig(String name, EmbeddedKafka kafka, Path model, boolean bounded) throws IOException {
        String yaml = String.join("\n",
                "# Written by `flink-mamba soak`.",
                "job.name: soak-" + name,
                "job.parallelism: " + parallelism,
                "kafka.bootstrap-servers: " + kafka.bootstrapServers(),
                "kafka.input-topic: " + name + "-in",
                "kafka.output-topic: " + name + "-out",
                "kafka.dead-letter-topic: dead-letters",
                "kafka.starting-offsets: earliest",
                "kafka.bounded: " + bounded,
                "checkpoints.interval: " + TimeUtils.formatWithHighestUnit(checkpointInterval),
                "watermarks.out-of-orderness: 200ms",
                "watermarks.idleness: 0s",
                "mapping.key-field: host",
                "mapping.timestamp-field: ts",
                "mapping.numeric-fields: [cpu, latency]",
                "mamba.model-dir: " + model,
                "");
        Path file = out.resolve(name + ".yaml");
        Files.writeString(file, yaml);
        return file;
    }

    /** {@code java -jar flink-mamba.jar run anomaly --config FILE --cluster HOST:PORT} in a child process. */
    private static Process runJob(Path jar, Path config, LocalCluster cluster, Path log) throws IOException {
        List<String> command = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                jar.toString(), "run", "anomaly", "--config", config.toString(), "--cluster", cluster.restAddress(),
                "--progress-every", "30s");
        return new ProcessBuilder(command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
    }

    private static JobID awaitJob(LocalCluster cluster, String name, Process run) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (System.nanoTime() < deadline && run.isAlive()) {
            for (JobStatusMessage job : cluster.jobs()) {
                if (job.getJobName().equals(name) && job.getJobState() == JobStatus.RUNNING) {
                    return job.getJobId();
                }
            }
            Thread.sleep(300);
        }
        throw new IllegalStateException("job " + name + " did not start; see the run log in the soak folder");
    }

    /** Seconds from RUNNING to FINISHED of the named job. */
    private static double runSeconds(LocalCluster cluster, String name) throws Exception {
        JobStatusMessage job = cluster.jobs().stream().filter(j -> j.getJobName().equals(name)).findFirst()
                .orElseThrow(() -> new IllegalStateException("no job " + name + " on the cluster"));
        try (RestClusterClient<StandaloneClusterId> client = cluster.client()) {
            JobDetailsInfo details = client.getJobDetails(job.getJobId()).get(30, TimeUnit.SECONDS);
            Map<JobStatus, Long> at = details.getTimestamps();
            return (at.get(JobStatus.FINISHED) - at.get(JobStatus.RUNNING)) / 1000.0;
        }
    }

    static boolean inputFullyRead(EmbeddedKafka kafka, String group, String topic) {
        try (Admin admin = Admin.create(kafka.clientProperties())) {
            Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group)
                    .partitionsToOffsetAndMetadata().get();
            Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
            for (int p = 0; p < PARTITIONS; p++) {
                latest.put(new TopicPartition(topic, p), OffsetSpec.latest());
            }
            return admin.listOffsets(latest).all().get().entrySet().stream().allMatch(e -> committed.get(e.getKey()) != null
                    && committed.get(e.getKey()).offset() >= e.getValue().offset());
        } catch (Exception e) {
            return false;
        }
    }

    static double percentile(double[] sorted, double q) {
        if (sorted.length == 0) {
            return Double.NaN;
        }
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(q * sorted.length) - (q > 0 ? 1 : 0))];
    }

    static long folderSize(Path dir) {
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(f -> {
                try {
                    return Files.size(f);
                } catch (IOException e) {
                    return 0; // removed while walking (compaction, checkpoint cleanup)
                }
            }).sum();
        } catch (IOException | java.io.UncheckedIOException e) {
            return 0;
        }
    }

    /** Metric events (host, ts, cpu, latency) to a topic, keyed by host. */
    static final class Input implements AutoCloseable {
        private final KafkaProducer<String, String> producer;
        private final String topic;
        private final int keys;
        private final SplittableRandom random;
        private final AtomicLong sent = new AtomicLong();

        Input(EmbeddedKafka kafka, String topic, int keys, long seed) {
            Properties props = kafka.clientProperties();
            props.put(ProducerConfig.ACKS_CONFIG, "all");
            props.put(ProducerConfig.LINGER_MS_CONFIG, "5");
            this.producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
            this.topic = topic;
            this.keys = keys;
            this.random = new SplittableRandom(seed);
        }

        void send(long timestamp) {
            int host = random.nextInt(keys);
            long i = sent.get();
            double cpu = 0.5 + 0.3 * Math.sin(i / 500.0 + host) + 0.05 * random.nextDouble() + (random.nextInt(2000) == 0 ? 3 : 0);
            double latency = 20 + host % 17 + 2 * random.nextDouble();
            producer.send(new ProducerRecord<>(topic, "h" + host, String.format(Locale.ROOT,
                    "{\"host\":\"h%d\",\"ts\":%d,\"cpu\":%s,\"latency\":%s}", host, timestamp, cpu, latency)));
            sent.incrementAndGet();
        }

        /** Sends at {@code rate} events per second, event time = wall-clock time, until {@code on} turns false. */
        void paced(double rate, AtomicBoolean on) {
            long start = System.nanoTime();
            while (on.get()) {
                long due = (long) ((System.nanoTime() - start) / 1e9 * rate);
                while (sent.get() < due) {
                    send(System.currentTimeMillis());
                }
                try {
                    Thread.sleep(5);
                } catch (InterruptedException e) {
                    return;
                }
            }
            producer.flush();
        }

        long sent() {
            return sent.get();
        }

        @Override
        public void close() {
            producer.close();
        }
    }

    /** A read_committed consumer of the results on a thread of its own: counts, duplicates, latencies. */
    static final class Results implements AutoCloseable {
        /** A result's input partition and offset, which identify it (compiled once, not per record). */
        private static final Pattern IDENTITY = Pattern.compile(".*\"partition\":(\\d+),\"offset\":(\\d+).*");
        private final KafkaConsumer<String, String> consumer;
        private final Thread thread;
        private final Set<String> seen = new HashSet<>();
        private final List<Double> latencies = new ArrayList<>();
        private volatile boolean running = true;
        private long count;
        private long duplicates;

        Results(EmbeddedKafka kafka, String topic) {
            Properties props = kafka.clientProperties();
            props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
            props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, "false");
            consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer());
            List<TopicPartition> partitions = List.of(new TopicPartition(topic, 0));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            thread = new Thread(this::poll, "soak-results");
            thread.start();
        }

        private void poll() {
            while (running) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    String value = record.value();
                    String identity = IDENTITY.matcher(value).replaceAll("$1/$2");
                    double latency = System.currentTimeMillis() - record.timestamp();
                    synchronized (this) {
                        count++;
                        if (!seen.add(identity)) {
                            duplicates++;
                        }
                        latencies.add(latency);
                    }
                }
            }
        }

        synchronized long count() {
            return count;
        }

        synchronized long distinct() {
            return seen.size();
        }

        synchronized long duplicates() {
            return duplicates;
        }

        /** The latencies (ms) seen since the last call, sorted. */
        synchronized double[] takeLatencies() {
            double[] sorted = latencies.stream().mapToDouble(Double::doubleValue).toArray();
            latencies.clear();
            Arrays.sort(sorted);
            return sorted;
        }

        void awaitQuiet(long expected, Duration timeout) throws InterruptedException {
            long deadline = System.nanoTime() + timeout.toNanos();
            while (count() < expected && System.nanoTime() < deadline) {
                Thread.sleep(200);
            }
            Thread.sleep(2000); // anything beyond the expected count would be a duplicate: give it time to show
        }

        @Override
        public void close() throws InterruptedException {
            running = false;
            thread.join();
            consumer.close();
        }
    }
}

package io.flinkmamba.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.demo.DemoReport;
import io.flinkmamba.demo.Detections;
import io.flinkmamba.demo.SyntheticMetrics;
import io.flinkmamba.demo.SyntheticMetrics.Kind;
import io.flinkmamba.demo.SyntheticMetrics.Series;
import io.flinkmamba.demo.SyntheticSessions;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.jobs.anomaly.AnomalyJob;
import io.flinkmamba.jobs.anomaly.DetectorOptions;
import io.flinkmamba.jobs.common.ConfigException;
import io.flinkmamba.jobs.common.JobConfig;
import io.flinkmamba.jobs.common.KafkaPipeline;
import io.flinkmamba.jobs.session.SessionJob;
import io.flinkmamba.kafka.EmbeddedKafka;
import io.flinkmamba.train.EventTrainer;
import io.flinkmamba.train.TrainingOptions;
import io.flinkmamba.train.TrainingResult;
import io.flinkmamba.train.TrainingSequence;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.TreeMap;
import java.util.concurrent.Callable;

/**
 * The streaming demo, with nothing but the jar: an embedded Kafka broker, a synthetic metric stream with
 * labelled anomalies, a small event model trained on its clean prefix, the anomaly job on a local MiniCluster
 * (RocksDB, checkpoints, exactly-once), and an HTML report of what it found; then a synthetic clickstream, a
 * session model trained on its first sessions, and the session job's next-event predictions.
 */
@Command(name = "demo",
        mixinStandardHelpOptions = true,
        description = {
                "Starts an embedded Kafka broker, produces a synthetic multi-key metric stream with labelled anomalies"
                        + " (spikes, level shifts, drifts, stuck values) and a few bad records, trains a small event model"
                        + " on the clean prefix (unless --model is given), runs the anomaly job on a local Flink"
                        + " MiniCluster (RocksDB, checkpoints, exactly-once Kafka sink), reads its results and writes an"
                        + " HTML report. Then the same for sessions: a synthetic clickstream (a known Markov chain), a"
                        + " session model trained on each user's first two sessions, the session job, and its next-event"
                        + " accuracy on the later sessions against the chain's best.",
                "An anomaly counts as detected when an alarm (the job's anomaly_score >= the threshold) starts between its first"
                        + " changed event and " + Detections.WINDOW + " events after its last. Last line:"
                        + " demo events=<n> keys=<k> precision=<p> recall=<r> eps=<events/s>."})
final class DemoCommand implements Callable<Integer> {
    private static final int CLEAN_PREFIX = 1000;
    private static final int SPACING = 800;
    private static final int TRAINING_CHUNK = 200;
    private static final int SESSION_USERS = 300;

    @Option(names = "--events", defaultValue = "40000", description = "Metric events in all (default 40000).")
    int events;

    @Option(names = "--keys", defaultValue = "8", description = "Keys (hosts) (default 8).")
    int keys;

    @Option(names = "--seed", defaultValue = "1", description = "Seed of the data and the training (default 1).")
    long seed;

    @Option(names = "--model", paramLabel = "DIR", description = "An event model with the numeric fields cpu and load"
            + " instead of training one.")
    Path model;

    @Option(names = "--threshold", defaultValue = "0.5",
            description = "The anomaly job's anomaly.threshold on its anomaly_score (default 0.5).")
    double threshold;

    @Option(names = "--epochs", defaultValue = "30", description = "Most training epochs (default 30).")
    int epochs;

    @Option(names = "--report", paramLabel = "FILE", defaultValue = "flink-mamba-demo.html",
            description = "Where to write the HTML report (default flink-mamba-demo.html).")
    Path report;

    @Override
    public Integer call() throws Exception {
        long started = System.nanoTime();
        int perKey = events / Math.max(1, keys);
        if (keys < 1 || perKey < CLEAN_PREFIX + SPACING) {
            System.err.println("demo: needs at least " + (CLEAN_PREFIX + SPACING) + " events per key (--events >= "
                    + (CLEAN_PREFIX + SPACING) + " x --keys)");
            return 2;
        }
        int total = perKey * keys;
        List<Series> series = SyntheticMetrics.generate(keys, perKey, CLEAN_PREFIX, SPACING, seed);
        long base = (System.currentTimeMillis() / SyntheticMetrics.INTERVAL_MILLIS - perKey - 1) * SyntheticMetrics.INTERVAL_MILLIS;
        Path work = Files.createTempDirectory("flink-mamba-demo");
        try (EmbeddedKafka kafka = EmbeddedKafka.start()) {
            System.out.println("demo: embedded Kafka broker (KRaft) at " + kafka.bootstrapServers());
            kafka.createTopics(2, "metrics");
            kafka.createTopics(1, "anomalies", "dead-letters", "session-predictions", "session-dead-letters");
            kafka.createTopics(2, "sessions");
            int bad = produce(kafka, series, base);
            System.out.printf(Locale.ROOT, "demo: produced %,d metric events of %d keys (%d anomalies injected) and %d bad"
                    + " records to 'metrics'%n", total, keys, series.stream().mapToInt(s -> s.anomalies().size()).sum(), bad);

            Path modelDir = model != null ? model : train(series, work.resolve("model"));
            JobConfig config = jobConfig(kafka, modelDir);
            StreamExecutionEnvironment env = localEnvironment(config, work.resolve("checkpoints"), KafkaJobs.anomaly);
            System.out.println("demo: anomaly job on a local MiniCluster (RocksDB, checkpoints every 2 s, exactly-once)");
            long jobStarted = System.nanoTime();
            if (RunCommand.runAndFollow(env, config, System.out, System.console() != null, Duration.ofSeconds(10), null, 0) != 0) {
                return 1;
            }
            double jobSeconds = (System.nanoTime() - jobStarted) / 1e9;

            Map<String, double[]> scores = new HashMap<>();
            Map<String, double[]> anomalyScores = new HashMap<>();
            for (Series s : series) {
                scores.put(s.key(), nanArray(perKey));
                anomalyScores.put(s.key(), nanArray(perKey));
            }
            int results = readResults(kafka, base, total, scores, anomalyScores);
            Map<String, Integer> deadLetters = readDeadLetters(kafka, bad);
            Detections.Result result = Detections.evaluate(series, anomalyScores, threshold);
            double eps = total / jobSeconds;

            List<String> summary = new ArrayList<>();
            summary.add(String.format(Locale.ROOT, "events %,d, keys %d, results %,d, dead letters %s", total, keys, results,
                    deadLetters));
            for (Kind kind : Kind.values()) {
                int[] counts = result.detectedByKind().get(kind);
                summary.add(String.format(Locale.ROOT, "%-12s detected %d of %d", kind.label(), counts[0], counts[1]));
            }
            summary.add(String.format(Locale.ROOT, "alarms %d, in an anomaly's window %d; anomalies %d, detected %d",
                    result.alarmCount(), result.truePositiveAlarms(), result.anomalies(), result.detected()));
            summary.add(String.format(Locale.ROOT, "precision %.3f, recall %.3f (threshold %s, window %d events)",
                    result.precision(), result.recall(), threshold, Detections.WINDOW));
            summary.add(String.format(Locale.ROOT, "job %.1f s, %.0f events/s", jobSeconds, eps));
            summary.addAll(sessions(kafka, work));
            summary.add(String.format(Locale.ROOT, "demo %.1f s in all", (System.nanoTime() - started) / 1e9));
            DemoReport.write(report, series, scores, anomalyScores, result, threshold, summary);
            summary.forEach(line -> System.out.println("demo: " + line));
            System.out.println("demo: report " + report.toAbsolutePath());
            System.out.printf(Locale.ROOT, "demo events=%d keys=%d precision=%.3f recall=%.3f eps=%.0f%n", total, keys,
                    result.precision(), result.recall(), eps);
            return results == total ? 0 : 1;
        } finally {
            FileTrees.delete(work);
        }
    }

    /**
     * The session part: a clickstream of {@link SyntheticSessions} to 'sessions', an event model trained on each
     * user's first two sessions, the session job over all of it, and its next-event predictions on the later
     * sessions against the known chain's best. Returns the summary lines.
     */
    private List<String> sessions(EmbeddedKafka kafka, Path work) throws Exception {
        long start = (System.currentTimeMillis() / 3_600_000L - 24 * 7) * 3_600_000L;
        List<SyntheticSessions.Session> sessions = SyntheticSessions.generate(SESSION_USERS, 4, start, seed);
        int events = 0;
        Properties props = kafka.clientProperties();
        props.put("linger.ms", "20");
        // In time order across users, as a live clickstream arrives (the watermark follows it).
        TreeMap<Long, List<String[]>> byTime = new TreeMap<>();
        for (SyntheticSessions.Session session : sessions) {
            for (int i = 0; i < session.actions().length; i++) {
                byTime.computeIfAbsent(session.times()[i], t -> new ArrayList<>()).add(new String[] {session.user(),
                        String.format(Locale.ROOT, "{\"user\":\"%s\",\"ts\":%d,\"action\":\"%s\"}", session.user(),
                                session.times()[i], SyntheticSessions.ACTIONS.get(session.actions()[i]))});
                events++;
            }
        }
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            byTime.values().forEach(records -> records.forEach(r -> producer.send(new ProducerRecord<>("sessions", r[0], r[1]))));
        }
        System.out.printf(Locale.ROOT, "demo: produced %,d click events of %d users (%d sessions) to 'sessions'%n", events,
                SESSION_USERS, sessions.size());

        List<TrainingSequence> training = new ArrayList<>();
        for (SyntheticSessions.Session session : sessions) {
            if (session.index() < 2) {
                training.add(TrainingSequence.tokens(session.user(), session.actions()));
            }
        }
        TrainingOptions options = TrainingOptions.defaults().withDModel(16).withNLayer(1).withDState(8)
                .withEpochs(8).withSeed(seed).withBatchSize(32);
        long trainStarted = System.nanoTime();
        TrainingResult model = EventTrainer.train(new EventSchema(List.of(), "action", SyntheticSessions.ACTIONS), training,
                options, work.resolve("session-model"), (epoch, train, validation) -> { });
        System.out.printf(Locale.ROOT, "demo: trained a session model on each user's first two sessions in %.1f s"
                + " (validation %.3f nats/event)%n", (System.nanoTime() - trainStarted) / 1e9, model.validationLoss());

        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("job.name", "flink-mamba-demo-sessions");
        settings.put("job.parallelism", "2");
        settings.put("kafka.bootstrap-servers", kafka.bootstrapServers());
        settings.put("kafka.input-topic", "sessions");
        settings.put("kafka.output-topic", "session-predictions");
        settings.put("kafka.dead-letter-topic", "session-dead-letters");
        settings.put("kafka.bounded", "true");
        settings.put("mapping.key-field", "user");
        settings.put("mapping.timestamp-field", "ts");
        settings.put("mapping.categorical-field", "action");
        settings.put("mamba.model-dir", model.modelDir().toString());
        settings.put("mamba.session.gap", "30min");
        settings.put("checkpoints.interval", "2s");
        JobConfig config = SessionJob.configure(settings);
        System.out.println("demo: session job on a local MiniCluster");
        long jobStarted = System.nanoTime();
        if (RunCommand.runAndFollow(localEnvironment(config, work.resolve("session-checkpoints"), KafkaJobs.session), config,
                System.out, System.console() != null, Duration.ofSeconds(10), null, 0) != 0) {
            throw new IllegalStateException("the session job failed");
        }
        double jobSeconds = (System.nanoTime() - jobStarted) / 1e9;

        // Next-event predictions inside the sessions the model was not trained on, against the chain's best.
        ObjectMapper json = new ObjectMapper();
        Map<String, JsonNode> previous = new HashMap<>();
        Map<String, Integer> sessionOfUser = new HashMap<>();
        int[] counts = new int[4];   // predictions, model top-1 right, chain's best right, session ends
        double[] surprise = new double[2];   // model, chain
        int expected = events + sessions.size();
        consume(kafka, "session-predictions", expected, value -> {
            JsonNode result = json.readTree(value);
            String user = result.get("key").asText();
            if (result.get("type").asText().equals("session_end")) {
                counts[3]++;
                sessionOfUser.merge(user, 1, Integer::sum);
                previous.remove(user);
                return;
            }
            JsonNode before = previous.put(user, result);
            if (before != null && sessionOfUser.getOrDefault(user, 0) >= 2) {
                int last = SyntheticSessions.ACTIONS.indexOf(before.get("event").asText());
                int now = SyntheticSessions.ACTIONS.indexOf(result.get("event").asText());
                counts[0]++;
                counts[1] += before.get("next").get(0).get("event").asText().equals(result.get("event").asText()) ? 1 : 0;
                counts[2] += SyntheticSessions.mostLikely(last) == now ? 1 : 0;
                surprise[0] += result.get("surprise").asDouble();
                surprise[1] += -Math.log(SyntheticSessions.probability(last, now));
            }
        });
        return List.of(
                String.format(Locale.ROOT, "sessions: %,d events of %d users, %d session ends; job %.1f s, %.0f events/s",
                        events, SESSION_USERS, counts[3], jobSeconds, events / jobSeconds),
                String.format(Locale.ROOT, "sessions: next event on the later sessions (%,d predictions): top-1 accuracy %.3f"
                                + " (the chain's best %.3f), mean surprise %.3f nats (the chain's %.3f)", counts[0],
                        (double) counts[1] / counts[0], (double) counts[2] / counts[0], surprise[0] / counts[0],
                        surprise[1] / counts[0]));
    }

    /** A local MiniCluster environment for a demo job: RocksDB, checkpoints into {@code checkpoints}, no restarts. */
    private static StreamExecutionEnvironment localEnvironment(JobConfig config, Path checkpoints, KafkaJobs job)
            throws java.io.IOException {
        Configuration flink = KafkaPipeline.flinkConfiguration(config, checkpoints);
        flink.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.ofMebiBytes(256));
        flink.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(flink);
        job.build(env, config, stream -> stream);
        return env;
    }

    /** Events in time order across keys, keyed by host; then three bad records. Returns how many bad ones. */
    private static int produce(EmbeddedKafka kafka, List<Series> series, long base) {
        Properties props = kafka.clientProperties();
        props.put("linger.ms", "20");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer())) {
            int perKey = series.get(0).values().length;
            for (int t = 0; t < perKey; t++) {
                for (Series s : series) {
                    producer.send(new ProducerRecord<>("metrics", s.key(), String.format(Locale.ROOT,
                            "{\"host\":\"%s\",\"ts\":%d,\"cpu\":%.4f,\"load\":%.4f}", s.key(),
                            base + t * SyntheticMetrics.INTERVAL_MILLIS, s.values()[t], s.load()[t])));
                }
            }
            String key = series.get(0).key();
            long ts = base + perKey * SyntheticMetrics.INTERVAL_MILLIS;
            List<String> bad = List.of("{\"host\":\"" + key + "\",\"ts\":" + ts + ",\"value\":",
                    "{\"host\":\"" + key + "\",\"ts\":" + ts + ",\"cpu\":1}",
                    "{\"host\":\"" + key + "\",\"ts\":" + ts + ",\"cpu\":NaN,\"load\":1}");
            bad.forEach(value -> producer.send(new ProducerRecord<>("metrics", key, value)));
            return bad.size();
        }
    }

    private Path train(List<Series> series, Path dir) throws Exception {
        // Each key's prefix in stretches of TRAINING_CHUNK events: more optimizer steps per epoch on little data.
        List<TrainingSequence> sequences = new ArrayList<>();
        for (Series s : series) {
            for (int from = 0; from + TRAINING_CHUNK <= CLEAN_PREFIX; from += TRAINING_CHUNK) {
                double[][] numeric = new double[TRAINING_CHUNK][2];
                for (int t = 0; t < TRAINING_CHUNK; t++) {
                    numeric[t][0] = s.values()[from + t];
                    numeric[t][1] = s.load()[from + t];
                }
                sequences.add(new TrainingSequence(s.key(), numeric, null));
            }
        }
        TrainingOptions options = TrainingOptions.defaults().withDModel(32).withNLayer(1).withDState(16)
                .withEpochs(epochs).withSeed(seed).withBatchSize(8).withPatience(6);
        System.out.printf(Locale.ROOT, "demo: training an event model (d_model %d, %d layer, d_state %d) on the first %d"
                + " events of each key%n", options.dModel(), options.nLayer(), options.dState(), CLEAN_PREFIX);
        long started = System.nanoTime();
        TrainingResult result = EventTrainer.train(EventSchema.numeric("cpu", "load"), sequences, options, dir,
                (epoch, train, validation) -> System.out.printf(Locale.ROOT,
                        "demo:   epoch %2d  train %.4f  validation %.4f nats/event%n", epoch, train, validation));
        System.out.printf(Locale.ROOT, "demo: trained in %.1f s (%d epochs, validation %.4f nats/event)%n",
                (System.nanoTime() - started) / 1e9, result.epochs(), result.validationLoss());
        return result.modelDir();
    }

    private JobConfig jobConfig(EmbeddedKafka kafka, Path modelDir) throws ConfigException {
        Map<String, String> settings = new LinkedHashMap<>();
        settings.put("job.name", "flink-mamba-demo");
        settings.put("job.parallelism", "2");
        settings.put("kafka.bootstrap-servers", kafka.bootstrapServers());
        settings.put("kafka.input-topic", "metrics");
        settings.put("kafka.output-topic", "anomalies");
        settings.put("kafka.dead-letter-topic", "dead-letters");
        settings.put("kafka.bounded", "true");
        settings.put("mapping.key-field", "host");
        settings.put("mapping.timestamp-field", "ts");
        settings.put("mapping.numeric-fields", "cpu;load");
        settings.put(DetectorOptions.THRESHOLD.key(), String.valueOf(threshold));
        settings.put("mamba.model-dir", modelDir.toString());
        settings.put("checkpoints.interval", "2s");
        try {
            return AnomalyJob.configure(settings);
        } catch (ConfigException e) {
            throw new ConfigException(e.problems().stream().map(p -> p + " (--model " + modelDir + ")").toList());
        }
    }

    /** Reads the committed results into per-key arrays by event index; returns how many. */
    private static int readResults(EmbeddedKafka kafka, long base, int expected, Map<String, double[]> scores,
                                   Map<String, double[]> anomalyScores) throws Exception {
        ObjectMapper json = new ObjectMapper();
        int[] count = {0};
        consume(kafka, "anomalies", expected, value -> {
            JsonNode result = json.readTree(value);
            int t = (int) ((result.get("timestamp").asLong() - base) / SyntheticMetrics.INTERVAL_MILLIS);
            String key = result.get("key").asText();
            scores.get(key)[t] = result.get("score").isNull() ? Double.NaN : result.get("score").asDouble();
            anomalyScores.get(key)[t] = result.get("anomaly_score").asDouble();
            count[0]++;
        });
        return count[0];
    }

    private static Map<String, Integer> readDeadLetters(EmbeddedKafka kafka, int expected) throws Exception {
        ObjectMapper json = new ObjectMapper();
        Map<String, Integer> reasons = new TreeMap<>();
        consume(kafka, "dead-letters", expected, value -> reasons.merge(json.readTree(value).get("reason").asText(), 1, Integer::sum));
        return reasons;
    }

    private interface ValueHandler {
        void accept(String value) throws Exception;
    }

    /** Reads a topic from the start with read_committed until {@code expected} records or 60 s. */
    private static void consume(EmbeddedKafka kafka, String topic, int expected, ValueHandler handler) throws Exception {
        Properties props = kafka.clientProperties();
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, "5000");
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new StringDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            int seen = 0;
            long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
            while (seen < expected && System.nanoTime() < deadline) {
                for (ConsumerRecord<String, String> record : consumer.poll(Duration.ofMillis(200))) {
                    handler.accept(record.value());
                    seen++;
                }
            }
        }
    }

    private static double[] nanArray(int n) {
        double[] a = new double[n];
        Arrays.fill(a, Double.NaN);
        return a;
    }
}

package io.flinkmamba.nab;

import io.flinkmamba.jobs.anomaly.AnomalyDetection;
import io.flinkmamba.jobs.anomaly.AnomalyOptions;
import io.flinkmamba.jobs.anomaly.AnomalyResult;
import io.flinkmamba.jobs.common.SourceEvent;
import io.flinkmamba.nab.NabCorpus.Series;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.util.CloseableIterator;

import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The NAB run as a Flink job on a local MiniCluster, through the anomaly job's own detector
 * ({@link AnomalyDetection}, built by the same code as {@code run anomaly}'s), fed from the corpus files instead
 * of Kafka: every series is one key, event {@code offset} its row; the rows of all series enter in time order
 * (one source, merged by timestamp, event time with monotonous watermarks); each fold's series go through a
 * detector on that fold's model. A rejected or late row fails the run with the reason.
 */
public final class NabJob {
    /** The rows of the runs in progress, by run id: the source reads them (the job runs in this JVM). */
    private static final Map<String, SourceEvent[]> RUNS = new ConcurrentHashMap<>();
    static final String TOPIC = "nab";
    /** The corpus's one numeric field, as the anomaly job's mapping names it. */
    public static final String FIELD = "value";

    private NabJob() {}

    /**
     * Runs the corpus; {@code folds[i]} is the fold of series i, whose rows the detector configured by
     * {@code detectors.get(fold)} scores (the anomaly job's {@code anomaly.*}, {@code rcf.*} and {@code mamba.*}
     * settings, the fold's model folder among them; the numeric field is {@value #FIELD}). Returns each series'
     * results by row.
     */
    public static Map<String, AnomalyResult[]> run(NabCorpus corpus, int[] folds, List<Configuration> detectors,
                                                   int parallelism) throws Exception {
        List<Series> series = corpus.series();
        List<SourceEvent> events = new ArrayList<>();
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            for (int r = 0; r < s.size(); r++) {
                SourceEvent e = new SourceEvent();
                e.key = s.name();
                e.timestamp = s.timestamps()[r].toInstant(ZoneOffset.UTC).toEpochMilli();
                e.numeric = new double[] {s.values()[r]};
                e.topic = TOPIC;
                e.partition = folds[i];
                e.offset = r;
                events.add(e);
            }
        }
        events.sort(Comparator.comparingLong(e -> e.timestamp)); // stable: rows keep their order
        String runId = UUID.randomUUID().toString();
        RUNS.put(runId, events.toArray(SourceEvent[]::new));
        try {
            return execute(corpus, detectors, parallelism, runId, events.size());
        } finally {
            RUNS.remove(runId);
        }
    }

    private static Map<String, AnomalyResult[]> execute(NabCorpus corpus, List<Configuration> detectors,
                                                        int parallelism, String runId, int rows) throws Exception {
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
        DataStream<SourceEvent> source = env.fromSequence(0, rows - 1).setParallelism(1)
                .map(new RowLookup(runId)).returns(SourceEvent.class).setParallelism(1).name("corpus rows in time order")
                .assignTimestampsAndWatermarks(WatermarkStrategy.<SourceEvent>forMonotonousTimestamps()
                        .withTimestampAssigner((e, previous) -> e.timestamp)).setParallelism(1);

        DataStream<AnomalyResult> all = null;
        for (int fold = 0; fold < detectors.size(); fold++) {
            int f = fold;
            Configuration foldConfig = new Configuration(detectors.get(f));
            foldConfig.set(AnomalyOptions.NUMERIC_FIELDS, List.of(FIELD));
            AnomalyDetection.Streams detected = AnomalyDetection.apply(
                    source.filter(e -> e.partition == f).setParallelism(1).name("fold " + f), foldConfig, "fold-" + f + "-");
            // The filter runs beside the source: a rebalance would reorder a series' rows before the detector.
            // Every row must be scored: a late or rejected one fails the job with the reason.
            DataStream<AnomalyResult> unscored = detected.late()
                    .map(e -> failWith(e.key + " row " + e.offset + " was late")).returns(AnomalyResult.class)
                    .union(detected.rejected().map(t -> failWith(t.f0.key + " row " + t.f0.offset
                            + " was rejected: " + t.f1)).returns(AnomalyResult.class));
            DataStream<AnomalyResult> results = detected.results().union(unscored);
            all = all == null ? results : all.union(results);
        }

        Map<String, AnomalyResult[]> out = new LinkedHashMap<>();
        for (Series s : corpus.series()) {
            out.put(s.name(), new AnomalyResult[s.size()]);
        }
        try (CloseableIterator<AnomalyResult> it = all.executeAndCollect("nab")) {
            while (it.hasNext()) {
                AnomalyResult r = it.next();
                AnomalyResult[] rowsOfSeries = out.get(r.event.key);
                int row = Math.toIntExact(r.event.offset);
                if (rowsOfSeries[row] != null) {
                    throw new IllegalStateException(r.event.key + " row " + row + " came back twice");
                }
                rowsOfSeries[row] = r;
            }
        }
        for (Map.Entry<String, AnomalyResult[]> e : out.entrySet()) {
            for (int r = 0; r < e.getValue().length; r++) {
                if (e.getValue()[r] == null) {
                    throw new IllegalStateException(e.getKey() + " row " + r + " never came back from the job");
                }
            }
        }
        return out;
    }

    private static AnomalyResult failWith(String why) {
        throw new IllegalStateException(why);
    }

    /** Sequence number -> the run's row of that rank in time order. */
    static final class RowLookup extends RichMapFunction<Long, SourceEvent> {
        private final String runId;
        private transient SourceEvent[] rows;

        RowLookup(String runId) {
            this.runId = runId;
        }

        @Override
        public void open(OpenContext context) {
            rows = RUNS.get(runId);
        }

        @Override
        public SourceEvent map(Long index) {
            SourceEvent e = rows[Math.toIntExact(index)];
            SourceEvent copy = new SourceEvent();
            copy.key = e.key;
            copy.timestamp = e.timestamp;
            copy.numeric = e.numeric.clone();
            copy.topic = e.topic;
            copy.partition = e.partition;
            copy.offset = e.offset;
            return copy;
        }
    }
}

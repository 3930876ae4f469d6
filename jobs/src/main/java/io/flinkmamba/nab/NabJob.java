package io.flinkmamba.nab;

import io.flinkmamba.event.SeriesFeatures;
import io.flinkmamba.event.AnomalyLikelihood;
import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.operator.MambaOperatorBuilder;
import io.flinkmamba.operator.MambaStream;
import org.apache.flink.api.common.eventtime.WatermarkStrategy;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.MapState;
import org.apache.flink.api.common.state.MapStateDescriptor;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.CloseableIterator;
import org.apache.flink.util.Collector;

import java.nio.file.Path;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The NAB run as a Flink job on a local MiniCluster: every series is one key. The rows of all series enter
 * in time order (one source, merged by timestamp, event time with monotonous watermarks); a keyed function
 * derives each row's {@link SeriesFeatures} and {@link SeasonalResidual} from the series' past (in Flink
 * keyed state); then each fold's series go through a Mamba operator on that fold's model, which steps each
 * key's events in event-time order and gives the row's score and anomaly likelihood; a last keyed function
 * makes the row's {@link NabDetector} anomaly score. Rejected or late rows come back with the reason.
 */
public final class NabJob {
    /** The rows of the runs in progress, by run id: the source reads them (the job runs in this JVM). */
    private static final Map<String, NabEvent[]> RUNS = new ConcurrentHashMap<>();
    /**
     * The operator's likelihood over both the rows' scores (a single far-off row stands out) and their
     * improbabilities (bounded like HTM's raw anomaly score: a stretch of poorly predicted rows stands out),
     * averaged over 15 rows; HTM's long window (8640) and probation (300).
     */
    static final AnomalyLikelihood LIKELIHOOD = new AnomalyLikelihood(15, AnomalyLikelihood.DEFAULT_LONG_WINDOW,
            AnomalyLikelihood.DEFAULT_PROBATION, AnomalyLikelihood.Input.SCORE_AND_IMPROBABILITY);

    private NabJob() {}

    /**
     * Runs the corpus; {@code folds[i]} is the fold of series i, whose rows the model {@code models.get(fold)}
     * scores. Returns each series' results by row.
     */
    public static Map<String, NabScore[]> run(NabCorpus corpus, int[] folds, List<Path> models, int parallelism)
            throws Exception {
        List<Series> series = corpus.series();
        List<NabEvent> events = new ArrayList<>();
        for (int i = 0; i < series.size(); i++) {
            Series s = series.get(i);
            for (int r = 0; r < s.size(); r++) {
                long millis = s.timestamps()[r].toInstant(ZoneOffset.UTC).toEpochMilli();
                events.add(new NabEvent(s.name(), r, folds[i], millis, s.values()[r]));
            }
        }
        events.sort(Comparator.comparingLong(e -> e.timestamp)); // stable: rows keep their order
        String runId = UUID.randomUUID().toString();
        RUNS.put(runId, events.toArray(NabEvent[]::new));
        try {
            return execute(corpus, models, parallelism, runId, events.size());
        } finally {
            RUNS.remove(runId);
        }
    }

    private static Map<String, NabScore[]> execute(NabCorpus corpus, List<Path> models, int parallelism, String runId,
                                                   int rows) throws Exception {
        Configuration conf = new Configuration();
        conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
        conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
        StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);
        TypeInformation<NabEvent> eventType = TypeInformation.of(NabEvent.class);
        TypeInformation<NabScore> scoreType = TypeInformation.of(NabScore.class);

        DataStream<NabEvent> source = env.fromSequence(0, rows - 1).setParallelism(1)
                .map(new RowLookup(runId)).returns(eventType).setParallelism(1).name("NAB rows in time order")
                .assignTimestampsAndWatermarks(WatermarkStrategy.<NabEvent>forMonotonousTimestamps()
                        .withTimestampAssigner((e, previous) -> e.timestamp)).setParallelism(1);
        DataStream<NabEvent> featured = source.keyBy(e -> e.series)
                .process(new FeaturesFunction()).returns(eventType).name("series features");

        DataStream<NabScore> all = null;
        for (int fold = 0; fold < models.size(); fold++) {
            int f = fold;
            MambaStream<NabEvent, NabScore> scored = MambaOperatorBuilder.<NabEvent, NabScore>forModel(models.get(f))
                    .eventExtractor((e, fields) -> fields.numeric(0, e.normalized))
                    .outputMapper((e, out) -> NabScore.scored(e, out.score(), out.likelihood()), scoreType)
                    .anomalyLikelihood(LIKELIHOOD)
                    .eventTimeOrdering(true)
                    .engine("cpu")
                    .applyTo(featured.filter(e -> e.fold == f).name("fold " + f).keyBy(e -> e.series));
            DataStream<NabScore> foldResults = scored.results()
                    .union(scored.rejected().map(t -> NabScore.failed(t.f0, "rejected: " + t.f1)).returns(scoreType),
                            scored.late().map(e -> NabScore.failed(e, "late")).returns(scoreType));
            all = all == null ? foldResults : all.union(foldResults);
        }

        Map<String, NabScore[]> out = new LinkedHashMap<>();
        for (Series s : corpus.series()) {
            out.put(s.name(), new NabScore[s.size()]);
        }
        DataStream<NabScore> detected = all.keyBy(s -> s.series).process(new DetectorFunction()).returns(scoreType)
                .name("NAB anomaly score");
        try (CloseableIterator<NabScore> it = detected.executeAndCollect("nab")) {
            while (it.hasNext()) {
                NabScore s = it.next();
                NabScore[] rowsOfSeries = out.get(s.series);
                if (rowsOfSeries[s.row] != null) {
                    throw new IllegalStateException(s.series + " row " + s.row + " came back twice");
                }
                rowsOfSeries[s.row] = s;
            }
        }
        for (Map.Entry<String, NabScore[]> e : out.entrySet()) {
            for (int r = 0; r < e.getValue().length; r++) {
                NabScore s = e.getValue()[r];
                if (s == null) {
                    throw new IllegalStateException(e.getKey() + " row " + r + " never came back from the job");
                }
                if (s.problem != null) {
                    throw new IllegalStateException(e.getKey() + " row " + r + " was not scored: " + s.problem);
                }
            }
        }
        return out;
    }

    /** Sequence number -> the run's row of that rank in time order. */
    static final class RowLookup extends RichMapFunction<Long, NabEvent> {
        private final String runId;
        private transient NabEvent[] rows;

        RowLookup(String runId) {
            this.runId = runId;
        }

        @Override
        public void open(OpenContext context) {
            rows = RUNS.get(runId);
        }

        @Override
        public NabEvent map(Long index) {
            NabEvent e = rows[Math.toIntExact(index)];
            return new NabEvent(e.series, e.row, e.fold, e.timestamp, e.value);
        }
    }

    /** Adds each scored row's {@link NabDetector} anomaly score, in the series' order. */
    static final class DetectorFunction extends KeyedProcessFunction<String, NabScore, NabScore> {
        private transient ValueState<double[]> state;

        @Override
        public void open(OpenContext context) {
            state = getRuntimeContext().getState(new ValueStateDescriptor<>("nab-detector",
                    PrimitiveArrayTypeInfo.DOUBLE_PRIMITIVE_ARRAY_TYPE_INFO));
        }

        @Override
        public void processElement(NabScore s, Context context, Collector<NabScore> out) throws Exception {
            if (s.problem == null) {
                double[] st = state.value();
                if (st == null) {
                    st = new double[NabDetector.STATE_SIZE];
                }
                s.anomalyScore = NabDetector.next(st, s.likelihood, s.seasonalResidual, s.spatialAnomaly);
                state.update(st);
            }
            out.collect(s);
        }
    }

    /**
     * Adds each row's {@link SeriesFeatures} and {@link SeasonalResidual}, from the series' past kept in keyed
     * state: both states in one array, the features' first, then the residual's at {@link #SEASONAL} (one state
     * read and write per row); the past values the residual needs in a map state by row, so that a row reads
     * only those.
     */
    static final class FeaturesFunction extends KeyedProcessFunction<String, NabEvent, NabEvent> {
        private static final int SEASONAL = SeriesFeatures.STATE_SIZE;
        private transient ValueState<double[]> state;
        private transient SeasonalResidual.History history;

        @Override
        public void open(OpenContext context) {
            state = getRuntimeContext().getState(new ValueStateDescriptor<>("series-features-and-seasonal-residual",
                    PrimitiveArrayTypeInfo.DOUBLE_PRIMITIVE_ARRAY_TYPE_INFO));
            MapState<Long, Double> values = getRuntimeContext().getMapState(
                    new MapStateDescriptor<>("seasonal-history", Types.LONG, Types.DOUBLE));
            history = new SeasonalResidual.History() {
                @Override
                public double get(long row) throws Exception {
                    return values.get(row);
                }

                @Override
                public void put(long row, double value) throws Exception {
                    values.put(row, value);
                }

                @Override
                public void remove(long row) throws Exception {
                    values.remove(row);
                }

                @Override
                public void clear() {
                    values.clear();
                }
            };
        }

        @Override
        public void processElement(NabEvent e, Context context, Collector<NabEvent> out) throws Exception {
            double[] s = state.value();
            if (s == null) {
                s = new double[SEASONAL + SeasonalResidual.STATE_SIZE];
            }
            SeriesFeatures.Step step = SeriesFeatures.next(s, e.value);
            e.seasonalResidual = SeasonalResidual.next(s, SEASONAL, history, e.timestamp, e.value, step.scale());
            state.update(s);
            e.normalized = step.normalized();
            e.spatialAnomaly = step.spatialAnomaly();
            out.collect(e);
        }
    }
}

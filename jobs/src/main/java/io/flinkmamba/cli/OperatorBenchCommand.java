package io.flinkmamba.cli;

import io.flinkmamba.engine.CpuEngine;
import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.engine.cuda.CudaEngine;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.ModelLoader;
import io.flinkmamba.model.ModelWriter;
import io.flinkmamba.model.RandomModels;
import io.flinkmamba.operator.MambaOperatorBuilder;
import io.flinkmamba.safetensors.DType;
import io.flinkmamba.state.StateCodec;
import org.apache.flink.api.common.functions.OpenContext;
import org.apache.flink.api.common.functions.RichMapFunction;
import org.apache.flink.api.common.state.ValueState;
import org.apache.flink.api.common.state.ValueStateDescriptor;
import org.apache.flink.api.common.typeinfo.PrimitiveArrayTypeInfo;
import org.apache.flink.api.common.typeinfo.TypeInformation;
import org.apache.flink.api.common.typeinfo.Types;
import org.apache.flink.api.connector.sink2.Sink;
import org.apache.flink.api.connector.sink2.SinkWriter;
import org.apache.flink.api.connector.sink2.WriterInitContext;
import org.apache.flink.api.java.functions.KeySelector;
import org.apache.flink.api.java.tuple.Tuple3;
import org.apache.flink.configuration.Configuration;
import org.apache.flink.configuration.MemorySize;
import org.apache.flink.configuration.RestartStrategyOptions;
import org.apache.flink.configuration.StateBackendOptions;
import org.apache.flink.configuration.TaskManagerOptions;
import org.apache.flink.streaming.api.datastream.DataStream;
import org.apache.flink.streaming.api.datastream.KeyedStream;
import org.apache.flink.streaming.api.environment.StreamExecutionEnvironment;
import org.apache.flink.streaming.api.functions.KeyedProcessFunction;
import org.apache.flink.util.Collector;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The Mamba operator against the baseline a Flink user would write without it: a KeyedProcessFunction
 * holding each key's state in a {@code ValueState<float[]>} and calling the engine once per event with a
 * batch of one. Same model, same engine (CPU by default), same generated events, RocksDB in both, one local
 * (in-process MiniCluster) job per variant and cell.
 *
 * <p>Events come from {@code fromSequence(0, n-1)} mapped to (key, d_model features, nanoTime at generation)
 * by a fixed-seed hash; keys are uniform or Zipf(1.1) over {@code --keys}. The source is not throttled, so
 * the figures are at full throughput and latency includes queueing under backpressure (and, for the Mamba
 * operator, the wait in its bundle). Latency is measured at a sink in the same JVM; events/s is events over
 * the time from the first event's generation to the end of input at the sink, which comes after the
 * operator has written its cached keys back to RocksDB.
 */
@Command(name = "operator",
        mixinStandardHelpOptions = true,
        description = "Events/s and p50/p99 latency of the Mamba operator against a naive KeyedProcessFunction"
                + " (ValueState<float[]>, one engine call per event), both on RocksDB and the same engine (--engine), in"
                + " a local Flink job, for uniform and Zipf(1.1) keys and a small (d_model 64, 2 layers)"
                + " and a medium (d_model 256, 4 layers) Mamba-1 model fed float vectors. The last line is"
                + " `speedup <x>`: the Mamba operator's events/s over the naive one's for Zipf keys and the"
                + " medium model (the largest model run).")
final class OperatorBenchCommand implements Callable<Integer> {

    static final int SMALL_DEFAULT_EVENTS = 40_000;
    static final int MEDIUM_DEFAULT_EVENTS = 30_000;
    static final double ZIPF_EXPONENT = 1.1;
    static final long MODEL_SEED = 42;

    @Option(names = "--keys", defaultValue = "100000", description = "Distinct keys (default 100000).")
    int keys;

    @Option(names = "--events",
            description = "Events per cell, the same for both variants (default " + SMALL_DEFAULT_EVENTS
                    + " for the small model, " + MEDIUM_DEFAULT_EVENTS + " for the medium one: the whole command"
                    + " then takes about 1.5-2 minutes on two cores, where the naive medium baseline runs 1.4-2.1k"
                    + " events/s).")
    Integer events;

    @Option(names = "--models", split = ",", defaultValue = "small,medium",
            description = "Models to run: small, medium (default both).")
    List<String> models;

    @Option(names = "--distributions", split = ",", defaultValue = "uniform,zipf",
            description = "Key distributions to run: uniform, zipf (default both).")
    List<String> distributions;

    @Option(names = "--parallelism", defaultValue = "1", description = "Job parallelism (default 1).")
    int parallelism;

    @Option(names = "--bundle-size", defaultValue = "1024", description = "Mamba operator bundle size (default 1024).")
    int bundleSize;

    @Option(names = "--max-delay-ms", defaultValue = "100",
            description = "Mamba operator maximum bundle delay in ms (default 100).")
    long maxDelayMs;

    @Option(names = "--cache-size", defaultValue = "10000",
            description = "Mamba operator keys kept decoded on the heap (default 10000).")
    int cacheSize;

    @Option(names = "--managed-memory-mb", defaultValue = "512",
            description = "Flink managed memory, which RocksDB uses, in MB (default 512).")
    int managedMemoryMb;

    @Option(names = "--warmup-events", defaultValue = "4000",
            description = "Events of an unreported warm-up run of both variants on the small model, for the JIT"
                    + " (default 4000; 0: none).")
    int warmupEvents;

    @Option(names = "--seed", defaultValue = "7", description = "Seed of the generated events (default 7).")
    long seed;

    @Option(names = "--engine", defaultValue = "cpu",
            description = "Engine of both implementations: cpu (default) or cuda (the operator keeps its cached"
                    + " states resident on the device; the naive function hands each event's state over).")
    String engine;

    /** A model of the benchmark. */
    private record ModelSpec(String name, int dModel, int nLayer, int defaultEvents) {}

    private static final List<ModelSpec> MODELS = List.of(
            new ModelSpec("small", 64, 2, SMALL_DEFAULT_EVENTS),
            new ModelSpec("medium", 256, 4, MEDIUM_DEFAULT_EVENTS));

    /** What one job measured. */
    private record Measured(long events, double seconds, double tailSeconds, double eventsPerSecond, long p50Nanos,
                            long p99Nanos) {}

    @Override
    public Integer call() {
        List<ModelSpec> selected = new ArrayList<>();
        for (ModelSpec spec : MODELS) {
            if (models.contains(spec.name())) {
                selected.add(spec);
            }
        }
        for (String name : models) {
            if (MODELS.stream().noneMatch(m -> m.name().equals(name))) {
                System.err.println("bench operator: unknown model '" + name + "' (available: small, medium)");
                return 2;
            }
        }
        for (String name : distributions) {
            if (!name.equals("uniform") && !name.equals("zipf")) {
                System.err.println("bench operator: unknown distribution '" + name + "' (available: uniform, zipf)");
                return 2;
            }
        }
        if (!engine.equals("cpu") && !engine.equals("cuda")) {
            System.err.println("bench operator: unknown engine '" + engine + "' (available: cpu, cuda)");
            return 2;
        }
        if (engine.equals("cuda") && !CudaEngine.available()) {
            System.err.println("bench operator: no CUDA device, driver or kernels here");
            return 2;
        }
        if (keys < 1 || (events != null && events < 1) || parallelism < 1 || bundleSize < 1 || maxDelayMs < 1
                || cacheSize < 0 || managedMemoryMb < 1 || warmupEvents < 0 || selected.isEmpty()
                || distributions.isEmpty()) {
            System.err.println("bench operator: --keys, --events, --parallelism, --bundle-size, --max-delay-ms and"
                    + " --managed-memory-mb must be positive, --cache-size and --warmup-events not negative, and"
                    + " at least one model and distribution given");
            return 2;
        }
        Path root = null;
        try {
            root = Files.createTempDirectory("flink-mamba-bench-operator");
            return run(selected, root);
        } catch (Exception e) {
            System.err.println("bench operator: " + rootCause(e));
            return 1;
        } finally {
            if (root != null) {
                deleteRecursively(root);
            }
        }
    }

    private int run(List<ModelSpec> selected, Path root) throws Exception {
        long started = System.nanoTime();
        System.out.printf(Locale.ROOT, "bench operator: %d keys, parallelism %d, RocksDB state backend (managed memory"
                        + " %d MB), engine %s%n", keys, parallelism, managedMemoryMb,
                engine.equals("cuda") ? "cuda" : "cpu (" + (CpuEngine.simdKernels() ? "Vector API SIMD" : "scalar")
                        + " kernels)");
        System.out.printf(Locale.ROOT, "mamba:  Mamba operator, bundle %d events, max delay %d ms, float32 state"
                + " codec, cache %d keys%n", bundleSize, maxDelayMs, cacheSize);
        System.out.println("naive:  KeyedProcessFunction, ValueState<float[]>, one engine call per event (batch 1)");
        System.out.println("source unthrottled: latency (generation to sink) includes queueing under backpressure;"
                + " seconds and events/s run from the first event's generation to the end of input at the sink,"
                + " tail_s from the last result to the end of input (the operator's final write-back of cached"
                + " keys to RocksDB)");

        if (warmupEvents > 0) {
            Path dir = writeModel(root, MODELS.get(0));
            int warmKeys = Math.min(keys, 1000);
            for (boolean mamba : new boolean[] {false, true}) {
                runJob(dir, MODELS.get(0).dModel(), warmKeys, warmupEvents, false, mamba);
            }
        }

        System.out.printf(Locale.ROOT, "%-16s %-6s %8s %8s %7s %10s %9s %9s%n",
                "cell", "impl", "events", "seconds", "tail_s", "events/s", "p50_ms", "p99_ms");
        String lastCell = null;
        double lastSpeedup = Double.NaN;
        for (ModelSpec spec : selected) {
            Path dir = writeModel(root, spec);
            int n = events != null ? events : spec.defaultEvents();
            for (boolean zipf : new boolean[] {false, true}) {
                if (!distributions.contains(zipf ? "zipf" : "uniform")) {
                    continue;
                }
                String cell = (zipf ? "zipf" : "uniform") + "/" + spec.name();
                Measured naive = runJob(dir, spec.dModel(), keys, n, zipf, false);
                print(cell, "naive", naive);
                Measured mamba = runJob(dir, spec.dModel(), keys, n, zipf, true);
                print(cell, "mamba", mamba);
                double speedup = mamba.eventsPerSecond() / naive.eventsPerSecond();
                System.out.printf(Locale.ROOT, "%-16s speedup %.2fx (events/s), p99 latency %.2fx%n", cell, speedup,
                        (double) mamba.p99Nanos() / Math.max(1, naive.p99Nanos()));
                if (zipf || !distributions.contains("zipf")) {
                    lastCell = cell;
                    lastSpeedup = speedup;
                }
            }
        }
        System.out.printf(Locale.ROOT, "total %.1f s; speedup below: %s, Mamba operator events/s over naive events/s%n",
                (System.nanoTime() - started) / 1e9, lastCell);
        System.out.printf(Locale.ROOT, "speedup %.2f%n", lastSpeedup);
        return 0;
    }

    private static void print(String cell, String impl, Measured m) {
        System.out.printf(Locale.ROOT, "%-16s %-6s %8d %8.2f %7.2f %10.0f %9.2f %9.2f%n", cell, impl, m.events(),
                m.seconds(), m.tailSeconds(), m.eventsPerSecond(), m.p50Nanos() / 1e6, m.p99Nanos() / 1e6);
    }

    private static Path writeModel(Path root, ModelSpec spec) throws IOException {
        Path dir = root.resolve(spec.name());
        if (!Files.exists(dir)) {
            MambaConfig config = RandomModels.config(LayerType.MAMBA1, spec.dModel(), spec.nLayer(), 0, 16);
            ModelWriter.write(RandomModels.create(config, MODEL_SEED, 0f), dir, DType.F32);
        }
        return dir;
    }

    /** Runs one variant over one cell's events in a fresh local environment and reads the sink's figures. */
    private Measured runJob(Path modelDir, int dModel, int jobKeys, long n, boolean zipf, boolean mamba)
            throws Exception {
        Recorder recorder = new Recorder();
        Recorder.current = recorder;
        try {
            Configuration conf = new Configuration();
            conf.set(StateBackendOptions.STATE_BACKEND, "rocksdb");
            conf.set(TaskManagerOptions.MANAGED_MEMORY_SIZE, MemorySize.ofMebiBytes(managedMemoryMb));
            conf.set(RestartStrategyOptions.RESTART_STRATEGY, "none");
            StreamExecutionEnvironment env = StreamExecutionEnvironment.createLocalEnvironment(parallelism, conf);

            DataStream<Tuple3<Long, float[], Long>> generated = env.fromSequence(0, n - 1)
                    .map(new EventGenerator(jobKeys, zipf ? ZIPF_EXPONENT : 0, dModel, seed), EVENT_TYPE)
                    .name("generate events");
            KeyedStream<Tuple3<Long, float[], Long>, Long> keyed = generated.keyBy(new EventKey(), Types.LONG);
            DataStream<Tuple3<Long, Long, Float>> results;
            if (mamba) {
                results = MambaOperatorBuilder
                        .<Tuple3<Long, float[], Long>, Tuple3<Long, Long, Float>>forModel(modelDir)
                        .inputEncoder((event, input) ->
                                System.arraycopy(event.f1, 0, input.features(), 0, event.f1.length))
                        .outputMapper((event, out) -> Tuple3.of(event.f0, event.f2, out.hidden()[0]), RESULT_TYPE)
                        .bundleSize(bundleSize)
                        .maxBundleDelay(Duration.ofMillis(maxDelayMs))
                        .stateCodec(StateCodec.FLOAT32)
                        .cacheSize(cacheSize)
                        .engine(engine)
                        .applyTo(keyed)
                        .results();
            } else {
                results = keyed.process(new NaiveMambaFunction(modelDir.toString(), engine), RESULT_TYPE).name("naive Mamba");
            }
            results.sinkTo(new LatencySink()).name("latency sink");
            env.execute("bench operator " + (mamba ? "mamba" : "naive"));
        } finally {
            Recorder.current = null;
        }
        long received = recorder.histogram.count();
        if (received != n) {
            throw new IllegalStateException("the sink saw " + received + " results for " + n + " events");
        }
        long end = Math.max(recorder.lastArrived.get(), recorder.inputEnded.get());
        double seconds = (end - recorder.firstGenerated.get()) / 1e9;
        double tailSeconds = (end - recorder.lastArrived.get()) / 1e9;
        return new Measured(n, seconds, tailSeconds, n / seconds, recorder.histogram.quantile(0.5),
                recorder.histogram.quantile(0.99));
    }

    /** (key, features, System.nanoTime() at generation). */
    static final TypeInformation<Tuple3<Long, float[], Long>> EVENT_TYPE =
            Types.TUPLE(Types.LONG, PrimitiveArrayTypeInfo.FLOAT_PRIMITIVE_ARRAY_TYPE_INFO, Types.LONG);

    /** (key, nanoTime at generation, first backbone output): small, so the sink costs nothing. */
    static final TypeInformation<Tuple3<Long, Long, Float>> RESULT_TYPE =
            Types.TUPLE(Types.LONG, Types.LONG, Types.FLOAT);

    /**
     * Where the functions of the running job report; they run in this JVM (local environment, no user jars,
     * so the job's classes come from this class loader and see this static field).
     */
    static final class Recorder {
        static volatile Recorder current;

        final LatencyHistogram histogram = new LatencyHistogram();
        final AtomicLong firstGenerated = new AtomicLong(Long.MAX_VALUE);
        final AtomicLong lastArrived = new AtomicLong(Long.MIN_VALUE);
        final AtomicLong inputEnded = new AtomicLong(Long.MIN_VALUE);
    }

    /** Sequence number -> (key, features, generation time), deterministic but for the time. */
    static final class EventGenerator extends RichMapFunction<Long, Tuple3<Long, float[], Long>> {
        private final int keys;
        private final double zipfExponent;
        private final int dModel;
        private final long seed;
        private transient double[] cdf;
        private transient boolean reported;

        /** {@code zipfExponent} 0: uniform keys. */
        EventGenerator(int keys, double zipfExponent, int dModel, long seed) {
            this.keys = keys;
            this.zipfExponent = zipfExponent;
            this.dModel = dModel;
            this.seed = seed;
        }

        @Override
        public void open(OpenContext context) {
            cdf = zipfExponent > 0 ? zipfCdf(keys, zipfExponent) : null;
        }

        @Override
        public Tuple3<Long, float[], Long> map(Long index) {
            long i = index;
            double u = unit(mix(seed * 0x9E3779B97F4A7C15L + i));
            long key = cdf == null ? Math.min(keys - 1, (long) (u * keys)) : zipfRank(cdf, u);
            float[] features = new float[dModel];
            SplittableRandom random = new SplittableRandom(mix(~seed ^ (i * 0xC2B2AE3D27D4EB4FL)));
            for (int j = 0; j < dModel; j++) {
                features[j] = (float) (random.nextDouble() * 2 - 1);
            }
            long now = System.nanoTime();
            if (!reported) {
                reported = true;
                Recorder.current.firstGenerated.accumulateAndGet(now, Math::min);
            }
            return Tuple3.of(key, features, now);
        }
    }

    /** The CDF of Zipf(s) over ranks 1..n: cdf[i] = P(rank <= i + 1). */
    static double[] zipfCdf(int n, double s) {
        double[] cdf = new double[n];
        double sum = 0;
        for (int r = 1; r <= n; r++) {
            sum += Math.pow(r, -s);
            cdf[r - 1] = sum;
        }
        for (int i = 0; i < n; i++) {
            cdf[i] /= sum;
        }
        cdf[n - 1] = 1.0;
        return cdf;
    }

    /** The first index whose CDF value is at least {@code u} (u in [0, 1)). */
    static int zipfRank(double[] cdf, double u) {
        int lo = 0;
        int hi = cdf.length - 1;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (cdf[mid] >= u) {
                hi = mid;
            } else {
                lo = mid + 1;
            }
        }
        return lo;
    }

    /** SplitMix64's finalizer. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** A uniform double in [0, 1) from a hash. */
    static double unit(long hash) {
        return (hash >>> 11) * 0x1.0p-53;
    }

    static final class EventKey implements KeySelector<Tuple3<Long, float[], Long>, Long> {
        @Override
        public Long getKey(Tuple3<Long, float[], Long> event) {
            return event.f0;
        }
    }

    /**
     * The baseline: what a Flink user would write without the operator. Each event reads the key's state
     * from RocksDB, steps the engine with a batch of one, and writes the state back.
     */
    static final class NaiveMambaFunction
            extends KeyedProcessFunction<Long, Tuple3<Long, float[], Long>, Tuple3<Long, Long, Float>> {
        private final String modelDir;
        private final String engineName;
        private transient MambaEngine engine;
        private transient StepBatch batch;
        private transient int floatsPerKey;
        private transient ValueState<float[]> state;

        NaiveMambaFunction(String modelDir, String engineName) {
            this.modelDir = modelDir;
            this.engineName = engineName;
        }

        @Override
        public void open(OpenContext context) throws Exception {
            MambaModel model = ModelLoader.load(Path.of(modelDir));
            engine = engineName.equals("cuda") ? new CudaEngine(model, 0, StateCodec.FLOAT32, 0) : new CpuEngine(model);
            batch = engine.newBatch(1, StepBatch.Input.FEATURES, false);
            batch.size(1);
            floatsPerKey = engine.stateLayout().floatsPerKey();
            state = getRuntimeContext().getState(
                    new ValueStateDescriptor<>("mamba-state", PrimitiveArrayTypeInfo.FLOAT_PRIMITIVE_ARRAY_TYPE_INFO));
        }

        @Override
        public void processElement(Tuple3<Long, float[], Long> event, Context context,
                                   Collector<Tuple3<Long, Long, Float>> out) throws Exception {
            float[] s = state.value();
            if (s == null) {
                s = new float[floatsPerKey];
            }
            System.arraycopy(s, 0, batch.states(), 0, floatsPerKey);
            System.arraycopy(event.f1, 0, batch.features(), 0, event.f1.length);
            engine.step(batch);
            System.arraycopy(batch.states(), 0, s, 0, floatsPerKey);
            state.update(s);
            out.collect(Tuple3.of(event.f0, event.f2, batch.hidden()[0]));
        }

        @Override
        public void close() throws Exception {
            if (engine != null) {
                engine.close();
            }
            super.close();
        }
    }

    /** Records each result's latency and the end of input into {@link Recorder#current}. */
    static final class LatencySink implements Sink<Tuple3<Long, Long, Float>> {
        @Override
        public SinkWriter<Tuple3<Long, Long, Float>> createWriter(WriterInitContext context) {
            Recorder recorder = Recorder.current;
            return new SinkWriter<>() {
                private long last = Long.MIN_VALUE;

                @Override
                public void write(Tuple3<Long, Long, Float> result, Context context) {
                    long now = System.nanoTime();
                    recorder.histogram.record(now - result.f1);
                    last = now;
                }

                @Override
                public void flush(boolean endOfInput) {
                    recorder.lastArrived.accumulateAndGet(last, Math::max);
                    if (endOfInput) {
                        recorder.inputEnded.accumulateAndGet(System.nanoTime(), Math::max);
                    }
                }

                @Override
                public void close() {
                    recorder.lastArrived.accumulateAndGet(last, Math::max);
                }
            };
        }
    }

    private static String rootCause(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t == e ? String.valueOf(e) : e.getClass().getSimpleName() + ": " + t;
    }

    private static void deleteRecursively(Path root) {
        try {
            FileTrees.delete(root);
        } catch (IOException | UncheckedIOException ignored) {
            // best effort: a temp folder
        }
    }
}

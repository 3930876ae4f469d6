package io.flinkmamba.jobs.anomaly.rcf;

import org.apache.flink.configuration.ConfigOption;
import org.apache.flink.configuration.ConfigOptions;

import java.util.List;

/**
 * The {@code rcf.*} settings of the Random Cut Forest detector. The defaults are those of NAB's published
 * randomCutForest run (see {@link RcfSettings} for where each one comes from).
 */
public final class RcfOptions {
    private RcfOptions() {}

    public static final ConfigOption<Integer> TREES = ConfigOptions.key("rcf.trees")
            .intType().defaultValue(RcfSettings.NAB_TREES)
            .withDescription("Trees in each key's forest; more trees give a less noisy score and cost time and"
                    + " state in proportion.");

    public static final ConfigOption<Integer> SAMPLE_SIZE = ConfigOptions.key("rcf.sample-size")
            .intType().defaultValue(RcfSettings.NAB_SAMPLE_SIZE)
            .withDescription("Points each tree keeps (its reservoir sample of the key's recent points).");

    public static final ConfigOption<Integer> SHINGLE_SIZE = ConfigOptions.key("rcf.shingle-size")
            .intType().defaultValue(RcfSettings.NAB_SHINGLE_SIZE)
            .withDescription("Consecutive events of a key scored together as one point (the forest's"
                    + " dimensions are the numeric fields times this); 1 scores each event alone.");

    public static final ConfigOption<Double> TIME_DECAY = ConfigOptions.key("rcf.time-decay")
            .doubleType().defaultValue(RcfSettings.NAB_TIME_DECAY)
            .withDescription("The samplers' decay rate (lambda): a point stays in a tree's sample for about"
                    + " 1 / time-decay events; 0 samples uniformly from the whole history.");

    public static final ConfigOption<Integer> OUTPUT_AFTER = ConfigOptions.key("rcf.output-after")
            .intType().noDefaultValue()
            .withDescription("Events of a key before its forest scores; earlier events score 0"
                    + " (default: sample-size / 4).");

    public static final ConfigOption<Long> SEED = ConfigOptions.key("rcf.seed")
            .longType().defaultValue(RcfSettings.DEFAULT_SEED)
            .withDescription("Seed of the forests' random cuts and samplers; each key's forest derives its own"
                    + " seed from this and the key, so a run's scores repeat exactly.");

    public static final ConfigOption<Double> SCORE_SCALE = ConfigOptions.key("rcf.score-scale")
            .doubleType().noDefaultValue()
            .withDescription("The anomaly score is the forest's raw score divided by this, capped at 1"
                    + " (default: log2(sample-size), the raw score's scale).");

    public static final ConfigOption<Double> THRESHOLD = ConfigOptions.key("rcf.threshold")
            .doubleType().defaultValue(RcfSettings.NAB_THRESHOLD)
            .withDescription("An event whose anomaly score reaches this is flagged as an anomaly.");

    public static final ConfigOption<Integer> CACHE_KEYS = ConfigOptions.key("rcf.cache-keys")
            .intType().defaultValue(RcfSettings.DEFAULT_CACHE_KEYS)
            .withDescription("Forests of the most recently scored keys kept deserialized on the heap of each"
                    + " subtask, so that they are not read back from state for every event; 0 reads every event's"
                    + " forest from state. The state is written for every event either way.");

    public static List<ConfigOption<?>> all() {
        return List.of(TREES, SAMPLE_SIZE, SHINGLE_SIZE, TIME_DECAY, OUTPUT_AFTER, SEED, SCORE_SCALE, THRESHOLD,
                CACHE_KEYS);
    }
}

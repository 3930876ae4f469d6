package io.flinkmamba.jobs.anomaly.rcf;

import org.apache.flink.configuration.ReadableConfig;

import java.io.Serializable;

/**
 * The Random Cut Forest detector's settings: the forest of each key, how its raw score maps to an anomaly
 * score in [0, 1], and the score from which an event is flagged.
 *
 * <p>The defaults reproduce NAB's published randomCutForest detector (standard score 51.72). That run
 * streamed each series through the Kinesis Analytics SQL function
 * {@code RANDOM_CUT_FOREST(stream, 100, 256, 100000, 1)} and divided its score by 8.0 = log2(256)
 * (numenta/NAB, nab/detectors/random_cut_forest/random_cut_forest.sql).
 *
 * @param trees       trees per forest; NAB: numberOfTrees 100
 * @param sampleSize  points kept per tree; NAB: subSampleSize 256
 * @param shingleSize consecutive events per point; NAB: shingleSize 1
 * @param timeDecay   the samplers' decay rate; NAB's timeDecay is a window of 100000 records, which the
 *                    library expresses as the rate 1 / 100000
 * @param outputAfter events before a forest scores (0 before); NAB's SQL function has no such setting,
 *                    the default is the library's own, sampleSize / 4, inside NAB's probationary period
 *                    (the first 15% of a series, 168 rows of the shortest), whose scores NAB ignores
 * @param seed        base seed of every key's forest; the library's AnomalyScoreRunner default, 42
 * @param scoreScale  the anomaly score is raw / scoreScale capped at 1; NAB: log2(subSampleSize) = 8.0
 * @param threshold   flag from this anomaly score on; NAB's optimized standard-profile threshold for
 *                    randomCutForest, 0.4539 (numenta/NAB config/thresholds.json)
 * @param cacheKeys   forests of recently scored keys kept deserialized per subtask (no NAB counterpart: a
 *                    forest of the NAB settings takes about a megabyte of heap)
 */
public record RcfSettings(int trees, int sampleSize, int shingleSize, double timeDecay, int outputAfter, long seed,
        double scoreScale, double threshold, int cacheKeys) implements Serializable {
    static final int NAB_TREES = 100;
    static final int NAB_SAMPLE_SIZE = 256;
    static final int NAB_SHINGLE_SIZE = 1;
    static final double NAB_TIME_DECAY = 1.0 / 100_000;
    static final long DEFAULT_SEED = 42;
    static final double NAB_THRESHOLD = 0.4539;
    static final int DEFAULT_CACHE_KEYS = 64;

    public RcfSettings {
        require(trees >= 1, RcfOptions.TREES.key() + " must be at least 1, got " + trees);
        require(sampleSize >= 2, RcfOptions.SAMPLE_SIZE.key() + " must be at least 2, got " + sampleSize);
        require(shingleSize >= 1, RcfOptions.SHINGLE_SIZE.key() + " must be at least 1, got " + shingleSize);
        require(timeDecay >= 0 && Double.isFinite(timeDecay),
                RcfOptions.TIME_DECAY.key() + " must be a finite number >= 0, got " + timeDecay);
        require(outputAfter >= 1, RcfOptions.OUTPUT_AFTER.key() + " must be at least 1, got " + outputAfter);
        require(scoreScale > 0 && Double.isFinite(scoreScale),
                RcfOptions.SCORE_SCALE.key() + " must be a finite number > 0, got " + scoreScale);
        require(threshold > 0 && threshold <= 1,
                RcfOptions.THRESHOLD.key() + " must be in (0, 1], got " + threshold);
        require(cacheKeys >= 0, RcfOptions.CACHE_KEYS.key() + " must be at least 0, got " + cacheKeys);
    }

    /** NAB's published settings. */
    public static RcfSettings defaults() {
        return of(NAB_TREES, NAB_SAMPLE_SIZE, NAB_SHINGLE_SIZE, NAB_TIME_DECAY, DEFAULT_SEED, NAB_THRESHOLD);
    }

    /** These settings, output-after and score-scale derived from the sample size, the default cache. */
    public static RcfSettings of(int trees, int sampleSize, int shingleSize, double timeDecay, long seed,
            double threshold) {
        return new RcfSettings(trees, sampleSize, shingleSize, timeDecay, defaultOutputAfter(sampleSize), seed,
                defaultScoreScale(sampleSize), threshold, DEFAULT_CACHE_KEYS);
    }

    /** These settings with {@code keys} forests cached per subtask. */
    public RcfSettings withCacheKeys(int keys) {
        return new RcfSettings(trees, sampleSize, shingleSize, timeDecay, outputAfter, seed, scoreScale, threshold,
                keys);
    }

    /** The {@code rcf.*} settings of {@code config}; bad values throw one-line messages. */
    public static RcfSettings from(ReadableConfig config) {
        int sampleSize = config.get(RcfOptions.SAMPLE_SIZE);
        require(sampleSize >= 2, RcfOptions.SAMPLE_SIZE.key() + " must be at least 2, got " + sampleSize);
        return new RcfSettings(config.get(RcfOptions.TREES), sampleSize, config.get(RcfOptions.SHINGLE_SIZE),
                config.get(RcfOptions.TIME_DECAY),
                config.getOptional(RcfOptions.OUTPUT_AFTER).orElse(defaultOutputAfter(sampleSize)),
                config.get(RcfOptions.SEED),
                config.getOptional(RcfOptions.SCORE_SCALE).orElse(defaultScoreScale(sampleSize)),
                config.get(RcfOptions.THRESHOLD), config.get(RcfOptions.CACHE_KEYS));
    }

    /** The anomaly score in [0, 1] of a raw forest score. */
    public double anomalyScore(double rawScore) {
        return Math.min(1.0, Math.max(0.0, rawScore / scoreScale));
    }

    /** Whether an event with this anomaly score is flagged. */
    public boolean isAnomaly(double anomalyScore) {
        return anomalyScore >= threshold;
    }

    private static int defaultOutputAfter(int sampleSize) {
        return Math.max(1, sampleSize / 4);
    }

    /** The raw score of a point isolated at the root of every tree is about log2(sampleSize). */
    private static double defaultScoreScale(int sampleSize) {
        return Math.log(sampleSize) / Math.log(2);
    }

    private static void require(boolean condition, String message) {
        if (!condition) {
            throw new IllegalArgumentException(message);
        }
    }
}

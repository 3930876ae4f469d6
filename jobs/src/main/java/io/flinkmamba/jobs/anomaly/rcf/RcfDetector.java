package io.flinkmamba.jobs.anomaly.rcf;

import com.amazon.randomcutforest.RandomCutForest;
import com.amazon.randomcutforest.state.ExecutionContext;
import com.amazon.randomcutforest.state.RandomCutForestMapper;
import com.amazon.randomcutforest.state.RandomCutForestState;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InvalidClassException;
import java.io.ObjectInputFilter;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * Amazon's Random Cut Forest (randomcutforest-core) as a streaming detector: one forest per key over that
 * key's numeric fields, shingled internally by the forest, each point scored before the forest learns it.
 *
 * <p>Forests convert to bytes through the library's own state mapper ({@link RandomCutForestMapper}, tree
 * state included, its arrays compressed) and Java serialization of the resulting {@link RandomCutForestState},
 * whose classes the library declares {@code Serializable} with fixed serial version ids. Java serialization
 * matches fields by name, so state written by one library version reads in a later one that adds fields
 * (protostuff's runtime schema, the library examples' other encoding, numbers fields by declaration order);
 * it needs no further dependency; and it gave the smaller state (313 KB for a full forest of the NAB
 * settings against protostuff's 342 KB, both written in about 2 ms of CPU, read back in about 18 ms, most of
 * it the mapper rebuilding the trees). Reading accepts the library's state classes only.
 * Saving the tree state (not only the samplers) restores each tree's cuts and the random generator states of
 * trees and samplers, so a restored forest scores exactly as the forest it was saved from would have.
 */
public final class RcfDetector implements Serializable {
    private static final long serialVersionUID = 1L;

    /** The classes a forest's state consists of (ArrayList reads its elements into an Object[]); nothing else. */
    private static final ObjectInputFilter STATE_CLASSES = ObjectInputFilter.Config.createFilter(
            "com.amazon.randomcutforest.state.**;java.util.ArrayList;java.lang.Object;java.lang.String;!*");

    private final RcfSettings settings;
    private final int numericFields;

    public RcfDetector(RcfSettings settings, int numericFields) {
        if (numericFields < 1) {
            throw new IllegalArgumentException("the rcf detector needs at least one numeric field, got "
                    + numericFields);
        }
        this.settings = settings;
        this.numericFields = numericFields;
    }

    public RcfSettings settings() {
        return settings;
    }

    /** A new, empty forest for {@code key}, seeded from the configured seed and the key. */
    public RandomCutForest newForest(String key) {
        return RandomCutForest.builder()
                .numberOfTrees(settings.trees())
                .sampleSize(settings.sampleSize())
                .dimensions(numericFields * settings.shingleSize())
                .shingleSize(settings.shingleSize())
                .internalShinglingEnabled(true)
                .timeDecay(settings.timeDecay())
                .outputAfter(settings.outputAfter())
                .randomSeed(keySeed(settings.seed(), key))
                // Flink runs one subtask per slot: a thread pool per forest would only compete with them.
                .parallelExecutionEnabled(false)
                .build();
    }

    /**
     * The anomaly score in [0, 1] of {@code values} (one per numeric field) against the forest as it was,
     * then the forest learns them. The forest scores 0 until it has seen output-after events.
     */
    public double score(RandomCutForest forest, double[] values) {
        if (values.length != numericFields) {
            throw new IllegalArgumentException("the rcf detector expects " + numericFields
                    + " numeric values per event, got " + values.length);
        }
        for (int i = 0; i < values.length; i++) {
            if (!Double.isFinite(values[i])) {
                throw new IllegalArgumentException("numeric value " + i + " is " + values[i]
                        + "; the rcf detector scores finite numbers only");
            }
        }
        double raw = forest.getAnomalyScore(values);
        forest.update(values);
        return settings.anomalyScore(raw);
    }

    /** The forest's complete state as bytes. */
    public static byte[] toBytes(RandomCutForest forest) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(1 << 16);
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(mapper().toState(forest));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot serialize a random cut forest: " + e.getMessage(), e);
        }
        return bytes.toByteArray();
    }

    /** The forest that {@link #toBytes} wrote. */
    public static RandomCutForest fromBytes(byte[] bytes) {
        RandomCutForestState state;
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes))) {
            in.setObjectInputFilter(STATE_CLASSES);
            state = (RandomCutForestState) in.readObject();
        } catch (InvalidClassException | ClassCastException e) {
            throw new IllegalArgumentException("not a random cut forest's state: " + e.getMessage(), e);
        } catch (IOException | ClassNotFoundException e) {
            throw new IllegalArgumentException("unreadable random cut forest state: " + e.getMessage(), e);
        }
        ExecutionContext sequential = new ExecutionContext();
        sequential.setParallelExecutionEnabled(false);
        // The seed only seeds generators that the saved tree and sampler states then replace.
        return mapper().toModel(state, sequential, 0L);
    }

    private static RandomCutForestMapper mapper() {
        RandomCutForestMapper mapper = new RandomCutForestMapper();
        mapper.setSaveTreeStateEnabled(true);
        return mapper;
    }

    /** FNV-1a over the key's UTF-8 bytes from the configured seed, then SplitMix64's finalizer. */
    static long keySeed(long seed, String key) {
        long h = seed ^ 0xcbf29ce484222325L;
        for (byte b : key.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L;
        }
        h = (h ^ (h >>> 30)) * 0xbf58476d1ce4e5b9L;
        h = (h ^ (h >>> 27)) * 0x94d049bb133111ebL;
        return h ^ (h >>> 31);
    }
}

package io.flinkmamba.safetensors;

import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a checkpoint folder the way the ecosystem lays it out. */
public final class Safetensors {
    public static final String SINGLE_FILE = "model.safetensors";
    public static final String SHARD_INDEX = "model.safetensors.index.json";

    private Safetensors() {}

    /** {@code dir/model.safetensors} if present, else the shards named by {@code dir/model.safetensors.index.json}. */
    public static TensorSource openCheckpoint(Path dir) throws SafetensorsException {
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            return SafetensorsFile.open(single);
        }
        Path index = dir.resolve(SHARD_INDEX);
        if (Files.isRegularFile(index)) {
            return ShardedSafetensors.open(index);
        }
        throw new SafetensorsException(dir + ": no " + SINGLE_FILE + " or " + SHARD_INDEX
                + " (pickled .bin/.pt weights are never loaded)");
    }
}

package io.flinkmamba.safetensors;

import java.nio.file.Files;
import java.nio.file.Path;

/** Opens a checkpoint folder laid out the way Hugging Face tools write it. */
public final class Safetensors {
    /** The single-file checkpoint's name. */
    public static final String SINGLE_FILE = "model.safetensors";
    /** The shard index's name. */
    public static final String SHARD_INDEX = "model.safetensors.index.json";

    private Safetensors() {}

    /**
     * {@code dir/model.safetensors} if present, else the shards named by {@code dir/model.safetensors.index.json}.
     * Pickled weights ({@code pytorch_model.bin}, {@code .pt}) are never loaded: unpickling runs arbitrary code.
     *
     * @throws SafetensorsException naming the folder and both file names when neither exists, or whatever
     *     opening the file or index throws
     */
    public static TensorSource openCheckpoint(Path dir) throws SafetensorsException {
        if (!Files.isDirectory(dir)) {
            throw new SafetensorsException(dir + ": checkpoint folder does not exist or is not a directory");
        }
        Path single = dir.resolve(SINGLE_FILE);
        if (Files.isRegularFile(single)) {
            return SafetensorsFile.open(single);
        }
        Path index = dir.resolve(SHARD_INDEX);
        if (Files.isRegularFile(index)) {
            return ShardedSafetensors.open(index);
        }
        throw new SafetensorsException(dir + ": contains neither " + SINGLE_FILE + " nor " + SHARD_INDEX
                + " (pickled .bin/.pt weights are never loaded; convert them to safetensors)");
    }
}

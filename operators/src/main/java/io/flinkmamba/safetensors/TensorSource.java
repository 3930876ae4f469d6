package io.flinkmamba.safetensors;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/**
 * A set of named tensors: one safetensors file, or a sharded checkpoint. Reads return fresh arrays in
 * row-major order and may run concurrently; closing releases the files.
 */
public interface TensorSource extends AutoCloseable {

    /** Tensor names, sorted, without {@code __metadata__}. */
    Set<String> names();

    boolean contains(String name);

    /** @throws SafetensorsException naming the tensor and the file when there is no such tensor */
    TensorInfo info(String name) throws SafetensorsException;

    /**
     * A float tensor (F32, F16, BF16, F64) converted to float32.
     *
     * @throws SafetensorsException for other dtypes, a missing tensor, or more elements than a Java array holds
     */
    float[] readFloats(String name) throws SafetensorsException;

    /**
     * An integer tensor (I64, I32, I16, I8, U8) widened to long.
     *
     * @throws SafetensorsException for other dtypes, a missing tensor, or more elements than a Java array holds
     */
    long[] readLongs(String name) throws SafetensorsException;

    /** The header's {@code __metadata__}, or the shard index's {@code metadata}; empty when absent. */
    Map<String, String> metadata();

    /** The file read, or the index file of a sharded checkpoint. */
    Path path();

    @Override
    void close();
}

package io.flinkmamba.safetensors;

import java.nio.file.Path;
import java.util.Map;
import java.util.Set;

/** A set of named tensors: one safetensors file, or a sharded checkpoint. */
public interface TensorSource extends AutoCloseable {

    /** Tensor names, sorted. */
    Set<String> names();

    boolean contains(String name);

    /** @throws SafetensorsException naming the tensor and file when it is absent */
    TensorInfo info(String name) throws SafetensorsException;

    /** A float tensor (F64, F32, F16, BF16) as float32 values in row-major order. */
    float[] readFloats(String name) throws SafetensorsException;

    /** An integer tensor (I64, I32, I16, I8, U8) as longs in row-major order. */
    long[] readLongs(String name) throws SafetensorsException;

    /** The header's {@code __metadata__} (or the index's metadata). */
    Map<String, String> metadata();

    /** The file read, or the index file of a sharded checkpoint. */
    Path path();

    @Override
    void close();
}

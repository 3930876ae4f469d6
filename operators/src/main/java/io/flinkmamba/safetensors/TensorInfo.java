package io.flinkmamba.safetensors;

import java.util.Arrays;

/**
 * One header entry: a tensor's dtype, shape and byte range relative to the start of the data region.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Number of elements (1 for a scalar). */
    public long numel() {
        long n = 1;
        for (long dim : shape) {
            n = Math.multiplyExact(n, dim);
        }
        return n;
    }

    public String shapeString() {
        return Arrays.toString(shape);
    }
}

package io.flinkmamba.safetensors;

import java.util.Arrays;
import java.util.Objects;

/**
 * One header entry: a tensor's dtype, shape and byte range {@code [begin, end)} relative to the start of
 * the data region. The shape array is copied in and out, so an instance is immutable.
 */
public record TensorInfo(String name, DType dtype, long[] shape, long begin, long end) {

    public TensorInfo {
        shape = shape.clone();
    }

    @Override
    public long[] shape() {
        return shape.clone();
    }

    /**
     * Number of elements: the product of the dimensions, 1 for a scalar (shape {@code []}).
     *
     * @throws ArithmeticException if the product overflows a long (files with such shapes are refused at open)
     */
    public long numel() {
        long n = 1;
        for (long dim : shape) {
            n = Math.multiplyExact(n, dim);
        }
        return n;
    }

    /** The shape as {@code "[104, 64]"}, or {@code "[]"} for a scalar. */
    public String shapeString() {
        return Arrays.toString(shape);
    }

    // A record compares arrays by identity; compare the shape by value instead.
    @Override
    public boolean equals(Object o) {
        return o instanceof TensorInfo t && name.equals(t.name) && dtype == t.dtype && Arrays.equals(shape, t.shape)
                && begin == t.begin && end == t.end;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, dtype, Arrays.hashCode(shape), begin, end);
    }

    @Override
    public String toString() {
        return name + " " + dtype + " " + shapeString() + " @ [" + begin + ", " + end + ")";
    }
}

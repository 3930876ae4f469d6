package io.flinkmamba.safetensors;

import io.flinkmamba.tensor.FloatFormats;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Map;
import java.util.Set;

/**
 * One safetensors file: an 8-byte little-endian header length N, N bytes of UTF-8 JSON naming each tensor's
 * dtype, shape and byte range, then the little-endian data. The header is validated completely at open.
 * Tensor data is memory-mapped when it is read, a bounded chunk at a time, so files and tensors larger
 * than 2 GiB (the limit of one mapped buffer) work. Reads may run concurrently.
 */
public final class SafetensorsFile implements TensorSource {
    /**
     * Bytes mapped at a time. Far below the 2 GiB limit of one buffer, it also bounds the scratch arrays the
     * 16-bit and narrow integer conversions use; a multiple of every element size, so no element straddles
     * two chunks.
     */
    static final long CHUNK_BYTES = 64L << 20;

    /** The JDK's largest safe array length (ArraysSupport.SOFT_MAX_ARRAY_LENGTH). */
    private static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private final Path path;
    private final FileChannel channel;
    private final Header header;

    private SafetensorsFile(Path path, FileChannel channel, Header header) {
        this.path = path;
        this.channel = channel;
        this.header = header;
    }

    /**
     * Opens and validates a file.
     *
     * @throws SafetensorsException if the file is missing, unreadable or malformed; the message names the file,
     *     the problem and the tensor involved
     */
    public static SafetensorsFile open(Path file) throws SafetensorsException {
        FileChannel channel;
        try {
            channel = FileChannel.open(file, StandardOpenOption.READ);
        } catch (NoSuchFileException e) {
            throw new SafetensorsException(file + ": no such file", e);
        } catch (IOException e) {
            throw new SafetensorsException(file + ": cannot open: " + e, e);
        }
        try {
            return new SafetensorsFile(file, channel, Header.read(file, channel));
        } catch (SafetensorsException | RuntimeException e) {
            closeQuietly(channel);
            throw e;
        }
    }

    @Override
    public Set<String> names() {
        return header.tensors().keySet();
    }

    @Override
    public boolean contains(String name) {
        return header.tensors().containsKey(name);
    }

    @Override
    public TensorInfo info(String name) throws SafetensorsException {
        TensorInfo info = header.tensors().get(name);
        if (info == null) {
            throw new SafetensorsException(path + ": no tensor named " + name);
        }
        return info;
    }

    @Override
    public float[] readFloats(String name) throws SafetensorsException {
        TensorInfo info = info(name);
        if (!info.dtype().isFloat()) {
            throw new SafetensorsException(path + ": tensor " + name + " has dtype " + info.dtype()
                    + "; readFloats reads F32, F16, BF16 or F64"
                    + (info.dtype().isInteger() ? " (use readLongs)" : ""));
        }
        float[] out = new float[elementCount(info)];
        switch (info.dtype()) {
            case F32 -> forEachChunk(info, (chunk, offset, count) -> chunk.asFloatBuffer().get(out, offset, count));
            case F64 -> forEachChunk(info, (chunk, offset, count) -> {
                double[] wide = new double[count];
                chunk.asDoubleBuffer().get(wide);
                for (int i = 0; i < count; i++) {
                    out[offset + i] = (float) wide[i];
                }
            });
            case F16 -> forEachChunk(info, (chunk, offset, count) -> {
                short[] half = new short[count];
                chunk.asShortBuffer().get(half);
                for (int i = 0; i < count; i++) {
                    out[offset + i] = FloatFormats.float16ToFloat(half[i]);
                }
            });
            case BF16 -> forEachChunk(info, (chunk, offset, count) -> {
                short[] half = new short[count];
                chunk.asShortBuffer().get(half);
                for (int i = 0; i < count; i++) {
                    out[offset + i] = FloatFormats.bfloat16ToFloat(half[i]);
                }
            });
            default -> throw new AssertionError(info.dtype()); // excluded by isFloat above
        }
        return out;
    }

    @Override
    public long[] readLongs(String name) throws SafetensorsException {
        TensorInfo info = info(name);
        if (!info.dtype().isInteger()) {
            throw new SafetensorsException(path + ": tensor " + name + " has dtype " + info.dtype()
                    + "; readLongs reads I64, I32, I16, I8 or U8"
                    + (info.dtype().isFloat() ? " (use readFloats)" : ""));
        }
        long[] out = new long[elementCount(info)];
        switch (info.dtype()) {
            case I64 -> forEachChunk(info, (chunk, offset, count) -> chunk.asLongBuffer().get(out, offset, count));
            case I32 -> forEachChunk(info, (chunk, offset, count) -> {
                int[] narrow = new int[count];
                chunk.asIntBuffer().get(narrow);
                for (int i = 0; i < count; i++) {
                    out[offset + i] = narrow[i];
                }
            });
            case I16 -> forEachChunk(info, (chunk, offset, count) -> {
                short[] narrow = new short[count];
                chunk.asShortBuffer().get(narrow);
                for (int i = 0; i < count; i++) {
                    out[offset + i] = narrow[i];
                }
            });
            case I8, U8 -> {
                int mask = info.dtype() == DType.U8 ? 0xff : -1; // U8 zero-extends, I8 sign-extends
                forEachChunk(info, (chunk, offset, count) -> {
                    byte[] narrow = new byte[count];
                    chunk.get(narrow);
                    for (int i = 0; i < count; i++) {
                        out[offset + i] = narrow[i] & mask;
                    }
                });
            }
            default -> throw new AssertionError(info.dtype()); // excluded by isInteger above
        }
        return out;
    }

    @Override
    public Map<String, String> metadata() {
        return header.metadata();
    }

    @Override
    public Path path() {
        return path;
    }

    /** Releases the file; arrays already read stay valid. */
    @Override
    public void close() {
        closeQuietly(channel);
    }

    private int elementCount(TensorInfo info) throws SafetensorsException {
        long n = info.numel();
        if (n > MAX_ARRAY_LENGTH) {
            throw new SafetensorsException(path + ": tensor " + info.name() + " " + info.shapeString() + " has " + n
                    + " elements, more than one Java array holds (" + MAX_ARRAY_LENGTH + ")");
        }
        return (int) n;
    }

    /** Receives one mapped little-endian chunk holding elements {@code [offset, offset + count)}. */
    @FunctionalInterface
    private interface ChunkReader {
        void read(ByteBuffer chunk, int offset, int count);
    }

    private void forEachChunk(TensorInfo info, ChunkReader reader) throws SafetensorsException {
        if (!channel.isOpen()) {
            throw new SafetensorsException(path + ": tensor " + info.name() + " read after the file was closed");
        }
        int size = info.dtype().byteSize();
        long start = header.dataStart() + info.begin();
        long total = info.end() - info.begin();
        for (long done = 0; done < total; done += CHUNK_BYTES) {
            long length = Math.min(CHUNK_BYTES, total - done);
            ByteBuffer chunk;
            try {
                chunk = channel.map(FileChannel.MapMode.READ_ONLY, start + done, length).order(ByteOrder.LITTLE_ENDIAN);
            } catch (IOException e) {
                throw new SafetensorsException(path + ": tensor " + info.name() + ": cannot map bytes " + (start + done)
                        + ".." + (start + done + length) + ": " + e, e);
            }
            // Safe casts: offsets and counts are below numel, which elementCount bounded to an int.
            reader.read(chunk, (int) (done / size), (int) (length / size));
        }
    }

    private static void closeQuietly(FileChannel channel) {
        try {
            channel.close();
        } catch (IOException ignored) {
            // Opened read-only: there is nothing to flush or lose.
        }
    }
}

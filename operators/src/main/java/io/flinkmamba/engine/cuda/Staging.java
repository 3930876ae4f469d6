package io.flinkmamba.engine.cuda;

import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUstream;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.stream.IntStream;

import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuEventSynchronize;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;
import static jcuda.driver.JCudaDriver.cuMemHostAlloc;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoHAsync;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoDAsync;

/**
 * Host-device copies of Java arrays through two page-locked (pinned) halves of {@value #HALF_BYTES} bytes, on
 * the engine's stream: while the device copies one half, the host fills (or drains) the other, so the bus copy
 * overlaps the copy between the Java heap and pinned memory, and that copy runs on several threads for large
 * arrays (one core copies about 10 GB/s, the bus about 50). Pageable copies would stage through the driver's
 * own buffers synchronously, one core wide, and block every stream of the context.
 *
 * <p>An upload returns once its last chunk is queued: the device copies complete in stream order before the
 * kernels queued after them. A download waits for its own chunks only.
 */
final class Staging implements AutoCloseable {
    static final int HALF_BYTES = 8 << 20;
    /** Bytes one thread copies between the heap and pinned memory; smaller copies stay on the caller's thread. */
    private static final int PIECE_BYTES = 1 << 20;

    private final CUstream stream;
    private final Pointer host = new Pointer();
    private final ByteBuffer[] halves = new ByteBuffer[2];
    private final Pointer[] halfPointers = new Pointer[2];
    /** Recorded after the device last used a half: the host may write it again once it has completed. */
    private final CUevent[] released = {new CUevent(), new CUevent()};
    private int next;

    Staging(CUstream stream) {
        this.stream = stream;
        cuMemHostAlloc(host, 2L * HALF_BYTES, 0);
        for (int h = 0; h < 2; h++) {
            halves[h] = host.getByteBuffer((long) h * HALF_BYTES, HALF_BYTES).order(ByteOrder.nativeOrder());
            halfPointers[h] = host.withByteOffset((long) h * HALF_BYTES);
            cuEventCreate(released[h], CUevent_flags.CU_EVENT_DISABLE_TIMING);
            cuEventRecord(released[h], stream);
        }
    }

    /** Queues the copy of {@code src[offset..offset+count)} to {@code dst}. */
    void upload(float[] src, int offset, int count, CUdeviceptr dst) {
        upload(count, Sizeof.FLOAT, dst, (buffer, at, from, n) -> buffer.asFloatBuffer().put(at, src, offset + from, n));
    }

    /** Queues the copy of {@code src[offset..offset+count)} to {@code dst}. */
    void upload(int[] src, int offset, int count, CUdeviceptr dst) {
        upload(count, Sizeof.INT, dst, (buffer, at, from, n) -> buffer.asIntBuffer().put(at, src, offset + from, n));
    }

    /** Copies {@code count} floats from {@code src} into {@code dst[offset..)} once the stream's work before is done. */
    void download(CUdeviceptr src, float[] dst, int offset, int count) {
        int perHalf = HALF_BYTES / Sizeof.FLOAT;
        int half = count > 0 ? queueDownload(src, 0, Math.min(perHalf, count)) : 0;
        for (int from = 0; from < count; from += perHalf) {
            int n = Math.min(perHalf, count - from);
            int filled = half;
            if (from + perHalf < count) {
                half = queueDownload(src, from + perHalf, Math.min(perHalf, count - from - perHalf));
            }
            cuEventSynchronize(released[filled]);
            int chunkStart = from;
            copy(n, Sizeof.FLOAT, (at, m) -> halves[filled].asFloatBuffer().get(at, dst, offset + chunkStart + at, m));
        }
    }

    /** Queues the device copy of floats [from, from + n) of {@code src} into the next half; returns that half. */
    private int queueDownload(CUdeviceptr src, int from, int n) {
        int half = next;
        next ^= 1;
        cuMemcpyDtoHAsync(halfPointers[half], src.withByteOffset((long) from * Sizeof.FLOAT), (long) n * Sizeof.FLOAT,
                stream);
        cuEventRecord(released[half], stream);
        return half;
    }

    /** Writes elements [from, from + n) of an array into a half at element {@code at}. */
    private interface Fill {
        void fill(ByteBuffer half, int at, int from, int n);
    }

    private void upload(int count, int elementBytes, CUdeviceptr dst, Fill fill) {
        int perHalf = HALF_BYTES / elementBytes;
        for (int from = 0; from < count; from += perHalf) {
            int n = Math.min(perHalf, count - from);
            int half = next;
            next ^= 1;
            cuEventSynchronize(released[half]);
            int chunkStart = from;
            copy(n, elementBytes, (at, m) -> fill.fill(halves[half], at, chunkStart + at, m));
            cuMemcpyHtoDAsync(dst.withByteOffset((long) from * elementBytes), halfPointers[half],
                    (long) n * elementBytes, stream);
            cuEventRecord(released[half], stream);
        }
    }

    /** A copy of elements [at, at + n) of a chunk. */
    private interface Piece {
        void copy(int at, int n);
    }

    /** Runs {@code piece} over a chunk of {@code n} elements, in pieces of {@link #PIECE_BYTES} on several threads. */
    private static void copy(int n, int elementBytes, Piece piece) {
        int perPiece = PIECE_BYTES / elementBytes;
        int pieces = (n + perPiece - 1) / perPiece;
        if (pieces <= 1) {
            piece.copy(0, n);
            return;
        }
        IntStream.range(0, pieces).parallel().forEach(p ->
                piece.copy(p * perPiece, Math.min(perPiece, n - p * perPiece)));
    }

    @Override
    public void close() {
        for (CUevent event : released) {
            cuEventSynchronize(event);
            cuEventDestroy(event);
        }
        cuMemFreeHost(host);
    }
}

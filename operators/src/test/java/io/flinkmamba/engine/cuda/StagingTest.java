package io.flinkmamba.engine.cuda;

import io.flinkmamba.testing.RequiresCudaDevice;
import jcuda.Sizeof;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUstream;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.util.Arrays;
import java.util.SplittableRandom;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/** Round trips through the pinned halves at chunk boundaries. Skipped where there is no CUDA device. */
@RequiresCudaDevice
class StagingTest {
    private static final int PER_HALF = Staging.HALF_BYTES / Sizeof.FLOAT;
    private static final CUdevice device = new CUdevice();
    private static final CUcontext context = new CUcontext();
    private static final CUstream stream = new CUstream();

    @BeforeAll
    static void openContext() {
        JCudaDriver.setExceptionsEnabled(true);
        cuDeviceGet(device, 0);
        cuDevicePrimaryCtxRetain(context, device);
        cuCtxSetCurrent(context);
        cuStreamCreate(stream, 0);
    }

    @AfterAll
    static void release() {
        cuStreamDestroy(stream);
        cuDevicePrimaryCtxRelease(device);
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 1, 1000, 262_145, PER_HALF - 1, PER_HALF, PER_HALF + 1, 2 * PER_HALF, 5 * PER_HALF / 2 + 3})
    void floatsAndIntsComeBackUnchanged(int count) {
        cuCtxSetCurrent(context);
        SplittableRandom random = new SplittableRandom(count);
        float[] floats = new float[count + 5];
        int[] ints = new int[count + 3];
        for (int i = 0; i < floats.length; i++) {
            floats[i] = (float) random.nextGaussian();
        }
        for (int i = 0; i < ints.length; i++) {
            ints[i] = random.nextInt();
        }
        CUdeviceptr floatsOnDevice = new CUdeviceptr();
        CUdeviceptr intsOnDevice = new CUdeviceptr();
        cuMemAlloc(floatsOnDevice, Math.max(4, (long) count * Sizeof.FLOAT));
        cuMemAlloc(intsOnDevice, Math.max(4, (long) count * Sizeof.INT));
        try (Staging staging = new Staging(stream)) {
            staging.upload(floats, 5, count, floatsOnDevice);
            staging.upload(ints, 3, count, intsOnDevice);
            float[] back = new float[count + 7];
            staging.download(floatsOnDevice, back, 7, count);
            assertArrayEquals(Arrays.copyOfRange(floats, 5, count + 5), Arrays.copyOfRange(back, 7, count + 7));
            // Ints travel as their bits: download them as floats and compare the bits.
            float[] intBits = new float[count];
            staging.download(intsOnDevice, intBits, 0, count);
            int[] backInts = new int[count];
            for (int i = 0; i < count; i++) {
                backInts[i] = Float.floatToRawIntBits(intBits[i]);
            }
            assertArrayEquals(Arrays.copyOfRange(ints, 3, count + 3), backInts);
        } finally {
            cuMemFree(floatsOnDevice);
            cuMemFree(intsOnDevice);
        }
    }
}

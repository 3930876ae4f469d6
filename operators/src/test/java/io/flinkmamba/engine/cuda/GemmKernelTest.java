package io.flinkmamba.engine.cuda;

import io.flinkmamba.testing.RequiresCudaDevice;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.InputStream;
import java.util.SplittableRandom;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuCtxSynchronize;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuMemsetD32;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each GEMM kernel (float32 FMA, split-TF32 and TF32 tensor-core, every tile width) against a double-precision
 * reference on random inputs, with sizes that leave partial tiles in every dimension: the error within 1e-5 of
 * the sum of the products' magnitudes for the float32-accurate families (float32 gives about 1e-7, split TF32
 * about 1e-6), within 2e-3 for TF32 (10-bit mantissas: about 1e-4, at worst 2^-10); and within a family,
 * every tile width gives the same bits (the engine may cut a batch differently from one call to the next).
 * Skipped where there is no CUDA device.
 */
@RequiresCudaDevice
class GemmKernelTest {
    private static final int[] TILES = {128, 64, 32};
    private static final CUdevice device = new CUdevice();
    private static final CUcontext context = new CUcontext();
    private static final CUmodule module = new CUmodule();

    @BeforeAll
    static void openModule() throws Exception {
        JCudaDriver.setExceptionsEnabled(true);
        cuDeviceGet(device, 0);
        cuDevicePrimaryCtxRetain(context, device);
        cuCtxSetCurrent(context);
        try (InputStream in = CudaEngine.class.getResourceAsStream(CudaEngine.KERNELS)) {
            cuModuleLoadData(module, in.readAllBytes());
        }
    }

    @AfterAll
    static void release() {
        cuModuleUnload(module);
        cuDevicePrimaryCtxRelease(device);
    }

    /** m, n, k: the engine's products (in_proj, x_proj, dt_proj, out_proj) and odd ones. */
    @ParameterizedTest
    @CsvSource({"1000, 512, 128", "777, 40, 256", "300, 256, 8", "1, 128, 256", "129, 65, 36", "4100, 1536, 48",
            "37, 52, 20", "512, 3072, 768"})
    void everyTileMatchesTheReferenceAndItsFamily(int m, int n, int k) {
        cuCtxSetCurrent(context);
        SplittableRandom random = new SplittableRandom(31L * m + n + k);
        float[] a = gaussian(random, m * k, 1);
        float[] w = gaussian(random, n * k, 1 / Math.sqrt(k));
        float[] bias = gaussian(random, n, 1);
        double[] reference = new double[m * n];
        double[] magnitude = new double[m * n];
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double sum = bias[j];
                double size = Math.abs(bias[j]);
                for (int q = 0; q < k; q++) {
                    double product = (double) a[i * k + q] * w[j * k + q];
                    sum += product;
                    size += Math.abs(product);
                }
                reference[i * n + j] = sum;
                magnitude[i * n + j] = size;
            }
        }
        CUdeviceptr da = upload(a);
        CUdeviceptr dw = upload(w);
        CUdeviceptr db = upload(bias);
        CUdeviceptr dc = new CUdeviceptr();
        cuMemAlloc(dc, (long) m * n * Float.BYTES);
        try {
            for (String family : new String[] {"gemm_nt", "gemm_tc", "gemm_tf32_"}) {
                double tolerance = family.equals("gemm_tf32_") ? 2e-3 : 1e-5;
                float[] first = null;
                for (int tile : TILES) {
                    String name = family + tile;
                    cuMemsetD32(dc, 0x7fc00000, (long) m * n); // NaN: every output must be written
                    CUfunction f = new CUfunction();
                    cuModuleGetFunction(f, module, name);
                    Pointer params = Pointer.to(Pointer.to(da), Pointer.to(new int[] {k}), Pointer.to(dw),
                            Pointer.to(db), Pointer.to(dc), Pointer.to(new int[] {n}), Pointer.to(new int[] {m}),
                            Pointer.to(new int[] {n}), Pointer.to(new int[] {k}));
                    cuLaunchKernel(f, (n + tile - 1) / tile, (m + tile - 1) / tile, 1, 256, 1, 1, 0, null, params,
                            null);
                    cuCtxSynchronize();
                    float[] c = new float[m * n];
                    cuMemcpyDtoH(Pointer.to(c), dc, (long) c.length * Float.BYTES);
                    for (int i = 0; i < c.length; i++) {
                        double error = Math.abs(c[i] - reference[i]) / magnitude[i];
                        int at = i;
                        assertTrue(error <= tolerance, () -> name + " at (" + at / n + ", " + at % n + "): " + c[at]
                                + " vs " + reference[at] + ", error " + error);
                    }
                    if (first == null) {
                        first = c;
                    } else {
                        assertArrayEquals(first, c, name + " differs from " + family + TILES[0]);
                    }
                }
            }
        } finally {
            for (CUdeviceptr p : new CUdeviceptr[] {da, dw, db, dc}) {
                cuMemFree(p);
            }
        }
    }

    private static float[] gaussian(SplittableRandom random, int n, double scale) {
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) (random.nextGaussian() * scale);
        }
        return v;
    }

    private static CUdeviceptr upload(float[] data) {
        CUdeviceptr p = new CUdeviceptr();
        cuMemAlloc(p, (long) data.length * Float.BYTES);
        cuMemcpyHtoD(p, Pointer.to(data), (long) data.length * Float.BYTES);
        return p;
    }
}

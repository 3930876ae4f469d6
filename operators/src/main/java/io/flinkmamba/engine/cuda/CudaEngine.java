package io.flinkmamba.engine.cuda;

import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.engine.ResidentSlots;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.model.LayerWeights;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.state.StateCodec;
import io.flinkmamba.state.StateLayout;
import jcuda.Pointer;
import jcuda.Sizeof;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdevice_attribute;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUevent;
import jcuda.driver.CUevent_flags;
import jcuda.driver.CUfunction;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.CUmodule;
import jcuda.driver.JCudaDriver;

import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.IntStream;

import static jcuda.driver.JCudaDriver.cuCtxSetCurrent;
import static jcuda.driver.JCudaDriver.cuDeviceGet;
import static jcuda.driver.JCudaDriver.cuDeviceGetAttribute;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRelease;
import static jcuda.driver.JCudaDriver.cuDevicePrimaryCtxRetain;
import static jcuda.driver.JCudaDriver.cuEventCreate;
import static jcuda.driver.JCudaDriver.cuEventDestroy;
import static jcuda.driver.JCudaDriver.cuEventRecord;
import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuLaunchKernel;
import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemcpyDtoH;
import static jcuda.driver.JCudaDriver.cuMemcpyHtoD;
import static jcuda.driver.JCudaDriver.cuModuleGetFunction;
import static jcuda.driver.JCudaDriver.cuModuleGetGlobal;
import static jcuda.driver.JCudaDriver.cuModuleLoadData;
import static jcuda.driver.JCudaDriver.cuModuleUnload;
import static jcuda.driver.JCudaDriver.cuStreamBeginCapture;
import static jcuda.driver.JCudaDriver.cuStreamCreate;
import static jcuda.driver.JCudaDriver.cuStreamDestroy;
import static jcuda.driver.JCudaDriver.cuStreamEndCapture;
import static jcuda.driver.JCudaDriver.cuStreamWaitEvent;

/**
 * The {@link MambaEngine} on an NVIDIA GPU through JCuda's driver API, running the kernels of
 * {@code src/cuda/mamba_step.cu} (compiled into this jar as a fatbin). Weights live on the device, and so
 * can states: a resident pool of {@code residentSlots} slots (stored as float32, float16 or bfloat16,
 * computed in float32) that {@link #stepResident} steps in place, so that only inputs go to the device and
 * only outputs come back. {@link #step} hands states over per call through a scratch pool instead. One
 * context per device (the primary context, shared by every engine of the JVM), two streams per engine (per
 * subtask; the second only for the second half of a split resident step): every copy and kernel of a call
 * queues on them, copies through pinned host memory ({@link Staging}), so engines sharing a device never
 * wait for each other's work.
 */
public final class CudaEngine implements MambaEngine, ResidentSlots {
    static final String KERNELS = "/io/flinkmamba/engine/cuda/mamba_step.fatbin";

    private final MambaModel model;
    private final MambaConfig c;
    private final StateLayout layout;
    private final StateCodec storage;
    private final String suffix;
    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUmodule module = new CUmodule();
    private final List<CUdeviceptr> allocations = new ArrayList<>();
    /**
     * Resident steps of at least this many rows run as two halves on two streams, so that the host copies of
     * one half overlap the other half's kernels.
     */
    static final int SPLIT_ROWS = 4096;
    /** Rows per block of the norm kernel, a warp each. */
    private static final int NORM_ROWS = 8;

    /**
     * The engine's streams, blocking ones, so that the one-time synchronous uploads (weights) order before
     * them: the first for every call, the second for the second half of a split resident step.
     */
    private final CUstream[] streams = {new CUstream(), new CUstream()};
    private final Staging[] stagings = new Staging[2];
    /** Recorded on the first stream before a split step, for the second to wait for (queued slot moves). */
    private final CUevent firstStreamQueued = new CUevent();
    /** Where kernel launches go: the first stream, or the one whose launches are being captured. */
    private CUstream launchStream;
    private final Map<GraphShape, CUgraphExec> graphs = new HashMap<>();

    /** A captured resident step: rows [start, start + rows) of the scratch, its input kind and outputs. */
    private record GraphShape(int start, int rows, boolean tokens, boolean logits) {}

    /**
     * The GEMM kernels by tile width, 128, 64 and 32: on tensor cores (split TF32 for float32 accuracy, or
     * plain TF32 for {@link MatmulPrecision#HIGH}) where every product's k and row strides are multiples of 4,
     * else the float32 FMA ones. One family per engine, whatever the batch, so that a key's results never
     * depend on how its batch was cut.
     */
    private final CUfunction[] gemms;
    private final CUfunction embed;
    private final CUfunction addNorm;
    private final CUfunction conv;
    private final CUfunction ssm1;
    private final CUfunction ssm2;
    private final CUfunction gatedNorm;
    /** The state updates' launch geometry, as the kernels define it: threads per block, channels per block. */
    private final int ssmBlock;
    private final int ssmChannelsPerBlock;
    private final boolean vectorConv;
    /**
     * Whether the Mamba-1 state update computes dt_proj itself (dt_rank at most {@value #MAX_FUSED_DT_RANK}):
     * a few multiply-adds per channel instead of a product kernel and its output's round trip. For larger
     * ranks every channel's redundant dot product costs more than the product kernel (measured at 48).
     */
    private final boolean stateUpdateProjectsDt;
    static final int MAX_FUSED_DT_RANK = 16;
    private final int multiprocessors;
    private final CUfunction gather;
    private final CUfunction scatter;

    private final DeviceLayer[] layers;
    private final CUdeviceptr embedding;
    private final CUdeviceptr normF;
    private final CUdeviceptr normFBias;
    private final CUdeviceptr lmHead;

    private final int residentSlots;
    private final CUdeviceptr residentPool;
    private Buffers buffers;

    private record DeviceLayer(CUdeviceptr norm, CUdeviceptr normBias, CUdeviceptr inProj, CUdeviceptr inProjBias,
                               CUdeviceptr conv, CUdeviceptr convBias, CUdeviceptr xProj, CUdeviceptr dtProj,
                               CUdeviceptr dtBias, CUdeviceptr a, CUdeviceptr d, CUdeviceptr gatedNorm,
                               CUdeviceptr outProj, CUdeviceptr outProjBias) {}

    /** Device scratch for up to {@code rows} rows. */
    private record Buffers(int rows, CUdeviceptr slots, CUdeviceptr pool, CUdeviceptr packedStates,
                           CUdeviceptr residentSlots, CUdeviceptr tokens, CUdeviceptr residual, CUdeviceptr normed,
                           CUdeviceptr inProj, CUdeviceptr convOut, CUdeviceptr xProj, CUdeviceptr dt, CUdeviceptr y,
                           CUdeviceptr mixerOut, CUdeviceptr hidden, CUdeviceptr logits) {}

    /**
     * Device memory the engine takes: the weights, scratch for {@code batchRows} rows and a resident pool of
     * {@code residentSlots} states.
     */
    public static long deviceBytes(MambaConfig c, int batchRows, int residentSlots, StateCodec storage) {
        long weights = 0;
        long d = c.dModel();
        long di = c.dInner();
        long perLayer = 2 * d + (long) c.inProjSize() * d + c.inProjSize() + (long) c.convChannels() * (c.dConv() + 1)
                + di * d + d + 2 * di + (long) di * c.dState();
        if (c.layer() == LayerType.MAMBA1) {
            perLayer += (long) c.xProjSize() * di + di * c.dtRank();
        }
        weights += c.nLayer() * perLayer + 2 * d + (long) Math.max(0, c.vocabSize()) * d;
        long floats = c.stateLayout().floatsPerKey();
        long element = storage == StateCodec.FLOAT32 ? Sizeof.FLOAT : Sizeof.SHORT;
        long rowFloats = floats + 4 * d + c.inProjSize() + c.convChannels() + Math.max(1, c.xProjSize()) + 2 * di
                + Math.max(1, c.vocabSize()) + 3;
        return weights * Sizeof.FLOAT + (long) batchRows * (rowFloats * Sizeof.FLOAT + floats * element)
                + (long) residentSlots * floats * element;
    }

    /** Whether this JVM can run the engine: a CUDA device, the driver library and kernels in the jar. */
    public static boolean available() {
        if (CudaEngine.class.getResource(KERNELS) == null) {
            return false;
        }
        try {
            JCudaDriver.setExceptionsEnabled(true);
            JCudaDriver.cuInit(0);
            int[] count = new int[1];
            JCudaDriver.cuDeviceGetCount(count);
            return count[0] > 0;
        } catch (Throwable e) {
            return false;
        }
    }

    /** An engine whose matrix products keep float32 accuracy ({@link MatmulPrecision#HIGHEST}). */
    public CudaEngine(MambaModel model, int deviceIndex, StateCodec storage, int residentSlots) {
        this(model, deviceIndex, storage, residentSlots, MatmulPrecision.HIGHEST);
    }

    /**
     * @param deviceIndex   the CUDA device
     * @param storage       how slot pools store states: FLOAT32, FLOAT16 or BFLOAT16
     * @param residentSlots states kept on the device between calls (0: none)
     * @param precision     how the matrix products use tensor cores
     */
    public CudaEngine(MambaModel model, int deviceIndex, StateCodec storage, int residentSlots,
                      MatmulPrecision precision) {
        this.model = model;
        this.c = model.config();
        this.layout = c.stateLayout();
        this.storage = storage;
        this.suffix = switch (storage) {
            case FLOAT32 -> "f32";
            case FLOAT16 -> "f16";
            case BFLOAT16 -> "bf16";
            default -> throw new IllegalArgumentException("the CUDA slot pool stores float32, float16 or bfloat16 "
                    + "states, not " + storage.configName());
        };
        byte[] fatbin = readKernels();
        JCudaDriver.setExceptionsEnabled(true);
        JCudaDriver.cuInit(0);
        cuDeviceGet(device, deviceIndex);
        cuDevicePrimaryCtxRetain(context, device);
        cuCtxSetCurrent(context);
        cuModuleLoadData(module, fatbin);
        for (int q = 0; q < streams.length; q++) {
            cuStreamCreate(streams[q], 0);
            stagings[q] = new Staging(streams[q]);
        }
        launchStream = streams[0];
        cuEventCreate(firstStreamQueued, CUevent_flags.CU_EVENT_DISABLE_TIMING);
        String family = !tensorCoreSizes(c) ? "gemm_nt"
                : precision == MatmulPrecision.HIGH ? "gemm_tf32_" : "gemm_tc";
        gemms = new CUfunction[] {function(family + "128"), function(family + "64"), function(family + "32")};
        embed = function("embed");
        addNorm = function("add_norm");
        // The vector state updates move states as 16-byte words (4 float32 or 8 16-bit values): they need every
        // channel's state row so aligned and 16 values long, and each row's B and C 4-element aligned. The
        // vector conv step needs 4-element aligned window rows and inputs, and a window of at most 3 rows.
        boolean alignedBc = c.layer() == LayerType.MAMBA1
                ? c.xProjSize() % 4 == 0 && c.dtRank() % 4 == 0
                : c.dInner() % 4 == 0 && c.convChannels() % 4 == 0;
        int wordValues = 16 / elementBytes();
        boolean vectorRows = c.dState() % 16 == 0 && alignedBc && layout.floatsPerKey() % wordValues == 0
                && IntStream.range(0, c.nLayer()).allMatch(l -> layout.ssmOffset(l) % wordValues == 0);
        vectorConv = layout.floatsPerKey() % 4 == 0 && c.convChannels() % 4 == 0 && c.inProjSize() % 4 == 0
                && c.dInner() % 4 == 0 && c.dConv() >= 2 && c.dConv() <= 4
                && IntStream.range(0, c.nLayer()).allMatch(l -> layout.convOffset(l) % 4 == 0);
        stateUpdateProjectsDt = c.layer() == LayerType.MAMBA1 && c.dtRank() <= MAX_FUSED_DT_RANK;
        conv = function((vectorConv ? "conv_step_vec_" : "conv_step_") + suffix);
        ssm1 = function((vectorRows ? "ssm1_step_vec_" : "ssm1_step_") + suffix);
        ssm2 = function((vectorRows ? "ssm2_step_vec_" : "ssm2_step_") + suffix);
        ssmBlock = moduleConstant("ssm_block");
        ssmChannelsPerBlock = moduleConstant(vectorRows ? "ssm_channels_per_block_" + suffix
                : "ssm_scalar_channels_per_block");
        int[] count = new int[1];
        cuDeviceGetAttribute(count, CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device);
        multiprocessors = count[0];
        gatedNorm = function("gated_norm");
        gather = function("gather_states_" + suffix);
        scatter = function("scatter_states_" + suffix);

        layers = new DeviceLayer[c.nLayer()];
        for (int l = 0; l < layers.length; l++) {
            LayerWeights w = model.layers().get(l);
            float[] a = new float[w.aLog().length];
            for (int i = 0; i < a.length; i++) {
                a[i] = (float) -Math.exp(w.aLog()[i]);
            }
            layers[l] = new DeviceLayer(upload(w.norm()), upload(w.normBias()), upload(w.inProj()),
                    upload(w.inProjBias()), upload(w.conv()), upload(w.convBias()), upload(w.xProj()),
                    upload(w.dtProj()), upload(w.dtBias()), upload(a), upload(w.d()), upload(w.gatedNorm()),
                    upload(w.outProj()), upload(w.outProjBias()));
        }
        embedding = upload(model.embedding());
        normF = upload(model.normF());
        normFBias = upload(model.normFBias());
        lmHead = model.lmHead() == model.embedding() ? embedding : upload(model.lmHead());
        this.residentSlots = residentSlots;
        this.residentPool = alloc((long) residentSlots * layout.floatsPerKey() * elementBytes());
    }

    /**
     * Whether the tensor-core GEMMs can run this model's products: they copy rows in 16-byte pieces, so k,
     * the row strides and the per-row buffer widths of every product's input must be multiples of 4 floats.
     */
    static boolean tensorCoreSizes(MambaConfig c) {
        boolean mamba1 = c.layer() == LayerType.MAMBA1;
        return c.dModel() % 4 == 0 && c.dInner() % 4 == 0
                && (!mamba1 || (c.xProjSize() % 4 == 0 && c.dtRank() % 4 == 0));
    }

    private int elementBytes() {
        return storage == StateCodec.FLOAT32 ? Sizeof.FLOAT : Sizeof.SHORT;
    }

    private static byte[] readKernels() {
        try (InputStream in = CudaEngine.class.getResourceAsStream(KERNELS)) {
            if (in == null) {
                throw new IllegalStateException("this flink-mamba jar carries no CUDA kernels (it was built without "
                        + "nvcc); rebuild where nvcc is installed or use the cpu engine");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new IllegalStateException("cannot read the CUDA kernels " + KERNELS, e);
        }
    }

    private CUfunction function(String name) {
        CUfunction f = new CUfunction();
        cuModuleGetFunction(f, module, name);
        return f;
    }

    /** An int the kernels' module defines (a {@code __constant__}). */
    private int moduleConstant(String name) {
        CUdeviceptr p = new CUdeviceptr();
        cuModuleGetGlobal(p, new long[1], module, name);
        int[] value = new int[1];
        cuMemcpyDtoH(Pointer.to(value), p, Sizeof.INT);
        return value[0];
    }

    private CUdeviceptr alloc(long bytes) {
        CUdeviceptr p = new CUdeviceptr();
        cuMemAlloc(p, Math.max(bytes, 4));
        allocations.add(p);
        return p;
    }

    /** A device copy of {@code data}; the null pointer for absent optional weights. */
    private CUdeviceptr upload(float[] data) {
        if (data == null) {
            return new CUdeviceptr();
        }
        CUdeviceptr p = alloc((long) data.length * Sizeof.FLOAT);
        cuMemcpyHtoD(p, Pointer.to(data), (long) data.length * Sizeof.FLOAT);
        return p;
    }

    private Buffers buffers(int rows) {
        if (buffers != null && buffers.rows() >= rows) {
            return buffers;
        }
        freeBuffers();
        long r = rows;
        int[] slotIds = new int[rows];
        for (int i = 0; i < rows; i++) {
            slotIds[i] = i;
        }
        CUdeviceptr slots = alloc(r * Sizeof.INT);
        cuMemcpyHtoD(slots, Pointer.to(slotIds), r * Sizeof.INT);
        buffers = new Buffers(rows, slots,
                alloc(r * layout.floatsPerKey() * elementBytes()),
                alloc(r * layout.floatsPerKey() * Sizeof.FLOAT),
                alloc(r * Sizeof.INT),
                alloc(r * Sizeof.INT),
                alloc(r * c.dModel() * Sizeof.FLOAT),
                alloc(r * c.dModel() * Sizeof.FLOAT),
                alloc(r * c.inProjSize() * Sizeof.FLOAT),
                alloc(r * c.convChannels() * Sizeof.FLOAT),
                alloc(r * xProjWidth() * Sizeof.FLOAT),
                alloc(r * dtWidth() * Sizeof.FLOAT),
                alloc(r * c.dInner() * Sizeof.FLOAT),
                alloc(r * c.dModel() * Sizeof.FLOAT),
                alloc(r * c.dModel() * Sizeof.FLOAT),
                alloc(r * Math.max(1, c.vocabSize()) * Sizeof.FLOAT));
        return buffers;
    }

    private void freeBuffers() {
        if (buffers == null) {
            return;
        }
        dropGraphs();
        for (CUdeviceptr p : new CUdeviceptr[] {buffers.slots(), buffers.pool(), buffers.packedStates(),
                buffers.residentSlots(), buffers.tokens(), buffers.residual(), buffers.normed(), buffers.inProj(),
                buffers.convOut(), buffers.xProj(), buffers.dt(), buffers.y(), buffers.mixerOut(), buffers.hidden(), buffers.logits()}) {
            cuMemFree(p);
            allocations.remove(p);
        }
        buffers = null;
    }

    @Override
    public MambaModel model() {
        return model;
    }

    @Override
    public void step(StepBatch batch) {
        int rows = batch.size();
        if (rows == 0) {
            return;
        }
        cuCtxSetCurrent(context);
        Buffers b = buffers(rows);
        int floats = layout.floatsPerKey();
        stagings[0].upload(batch.states(), 0, rows * floats, b.packedStates());
        launch(scatter, blocks((long) rows * floats, 256), 256, b.packedStates(), b.pool(), b.slots(),
                (long) floats, rows);
        run(batch, b, b.pool(), b.slots());
        launch(gather, blocks((long) rows * floats, 256), 256, b.pool(), b.slots(), (long) floats,
                b.packedStates(), rows);
        stagings[0].download(b.packedStates(), batch.states(), 0, rows * floats);
    }

    /**
     * Steps row r's key in resident slot {@code slots[r]}, in place: {@code batch.states()} is not used.
     * Inputs go up and the hidden outputs (and logits, when the batch has them) come back.
     */
    @Override
    public void stepResident(StepBatch batch, int[] slots) {
        int rows = batch.size();
        if (rows == 0) {
            return;
        }
        for (int r = 0; r < rows; r++) {
            checkSlot(slots[r]);
        }
        cuCtxSetCurrent(context);
        checkTokens(batch);
        Buffers b = buffers(rows);
        boolean tokens = batch.input() == StepBatch.Input.TOKENS;
        // Rows are independent (one event per key), so halves of a large step can run on two streams: while
        // the first half's kernels run, the host copies the second half's inputs, and while the second
        // half's kernels run, it copies the first half's outputs back.
        int parts = rows >= SPLIT_ROWS ? 2 : 1;
        int half = rows / parts;
        if (parts == 2) {
            cuEventRecord(firstStreamQueued, streams[0]);
            cuStreamWaitEvent(streams[1], firstStreamQueued, 0);
        }
        for (int p = 0; p < parts; p++) {
            int start = p * half;
            int n = p == parts - 1 ? rows - start : half;
            Buffers part = fromRow(b, start);
            stagings[p].upload(slots, start, n, part.residentSlots());
            uploadInputs(batch, start, n, part, stagings[p]);
            // The step's ~8 launches per layer replay as one CUDA graph, captured once per shape: each launch
            // from Java costs about 14 us of host time, a graph launch about as much as one.
            GraphShape shape = new GraphShape(start, n, tokens, batch.hasLogits());
            CUgraphExec graph = graphs.get(shape);
            if (graph == null) {
                graph = capture(streams[p], () -> kernels(n, tokens, batch.hasLogits(), part, residentPool,
                        part.residentSlots()));
                graphs.put(shape, graph);
            }
            cuGraphLaunch(graph, streams[p]);
        }
        for (int p = 0; p < parts; p++) {
            int start = p * half;
            downloadOutputs(batch, start, p == parts - 1 ? rows - start : half, fromRow(b, start), stagings[p]);
        }
    }

    /** The scratch {@code b} from row {@code start} on: every per-row buffer offset by that many rows. */
    private Buffers fromRow(Buffers b, int start) {
        if (start == 0) {
            return b;
        }
        long r = start;
        long f = Sizeof.FLOAT;
        long d = c.dModel();
        return new Buffers(b.rows() - start, b.slots(), b.pool(), b.packedStates(),
                b.residentSlots().withByteOffset(r * Sizeof.INT), b.tokens().withByteOffset(r * Sizeof.INT),
                b.residual().withByteOffset(r * d * f), b.normed().withByteOffset(r * d * f),
                b.inProj().withByteOffset(r * c.inProjSize() * f), b.convOut().withByteOffset(r * c.convChannels() * f),
                b.xProj().withByteOffset(r * xProjWidth() * f), b.dt().withByteOffset(r * dtWidth() * f),
                b.y().withByteOffset(r * c.dInner() * f), b.mixerOut().withByteOffset(r * d * f),
                b.hidden().withByteOffset(r * d * f), b.logits().withByteOffset(r * Math.max(1, c.vocabSize()) * f));
    }

    /** Floats per row of the dt_proj output buffer (one where there is none: Mamba-2, or dt in the state update). */
    private int dtWidth() {
        return c.layer() == LayerType.MAMBA1 && !stateUpdateProjectsDt ? c.dInner() : 1;
    }

    /** Floats per row of the x_proj output buffer (one for Mamba-2, which has none). */
    private int xProjWidth() {
        return Math.max(1, c.layer() == LayerType.MAMBA1 ? c.xProjSize() : 1);
    }

    private CUgraphExec capture(CUstream stream, Runnable launches) {
        launchStream = stream;
        try {
            cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED);
            launches.run();
            CUgraph graph = new CUgraph();
            cuStreamEndCapture(stream, graph);
            CUgraphExec exec = new CUgraphExec();
            cuGraphInstantiate(exec, graph, 0);
            cuGraphDestroy(graph);
            return exec;
        } finally {
            launchStream = streams[0];
        }
    }

    private void dropGraphs() {
        for (CUgraphExec exec : graphs.values()) {
            cuGraphExecDestroy(exec);
        }
        graphs.clear();
    }

    /** The number of resident slots (0: the engine keeps no states between calls). */
    @Override
    public int residentSlots() {
        return residentSlots;
    }

    /** This engine's slot pool, where it has slots. */
    @Override
    public Optional<ResidentSlots> resident() {
        return residentSlots > 0 ? Optional.of(this) : Optional.empty();
    }

    /** Copies {@code count} float32 states, packed in {@code states}, into resident slots {@code slots[0..count)}. */
    @Override
    public void writeSlots(int[] slots, int count, float[] states) {
        moveSlots(slots, count, states, true);
    }

    /** Copies resident slots {@code slots[0..count)} out as packed float32 states. */
    @Override
    public void readSlots(int[] slots, int count, float[] states) {
        moveSlots(slots, count, states, false);
    }

    private void moveSlots(int[] slots, int count, float[] states, boolean write) {
        for (int i = 0; i < count; i++) {
            checkSlot(slots[i]);
        }
        if (count == 0) {
            return;
        }
        cuCtxSetCurrent(context);
        // In chunks of the scratch rows there are: growing the scratch would drop the captured step graphs.
        Buffers b = buffers(buffers == null ? count : 1);
        int floats = layout.floatsPerKey();
        for (int start = 0; start < count; start += b.rows()) {
            int n = Math.min(b.rows(), count - start);
            stagings[0].upload(slots, start, n, b.residentSlots());
            if (write) {
                stagings[0].upload(states, start * floats, n * floats, b.packedStates());
                launch(scatter, blocks((long) n * floats, 256), 256, b.packedStates(), residentPool, b.residentSlots(),
                        (long) floats, n);
            } else {
                launch(gather, blocks((long) n * floats, 256), 256, residentPool, b.residentSlots(), (long) floats,
                        b.packedStates(), n);
                stagings[0].download(b.packedStates(), states, start * floats, n * floats);
            }
        }
    }

    private void checkSlot(int slot) {
        if (slot < 0 || slot >= residentSlots) {
            throw new IllegalArgumentException("slot " + slot + " outside the resident pool 0.." + (residentSlots - 1));
        }
    }

    /** Embeds the inputs and runs every layer on the states of {@code pool} named by {@code slots}. */
    private void run(StepBatch batch, Buffers b, CUdeviceptr pool, CUdeviceptr slots) {
        int rows = batch.size();
        checkTokens(batch);
        uploadInputs(batch, 0, rows, b, stagings[0]);
        kernels(rows, batch.input() == StepBatch.Input.TOKENS, batch.hasLogits(), b, pool, slots);
        downloadOutputs(batch, 0, rows, b, stagings[0]);
    }

    private void checkTokens(StepBatch batch) {
        if (batch.input() != StepBatch.Input.TOKENS) {
            return;
        }
        int[] tokens = batch.tokens();
        for (int r = 0; r < batch.size(); r++) {
            if (tokens[r] < 0 || tokens[r] >= c.vocabSize()) {
                throw new IllegalArgumentException("token id " + tokens[r] + " at row " + r
                        + " is outside the vocabulary 0.." + (c.vocabSize() - 1));
            }
        }
    }

    /** Queues the upload of rows [start, start + n) of the batch's inputs to {@code part} (from that row on). */
    private void uploadInputs(StepBatch batch, int start, int n, Buffers part, Staging staging) {
        if (batch.input() == StepBatch.Input.TOKENS) {
            staging.upload(batch.tokens(), start, n, part.tokens());
        } else {
            staging.upload(batch.features(), start * c.dModel(), n * c.dModel(), part.residual());
        }
    }

    /** Every kernel of one step, on {@link #launchStream}: what a CUDA graph captures. */
    private void kernels(int rows, boolean tokens, boolean logits, Buffers b, CUdeviceptr pool, CUdeviceptr slots) {
        int d = c.dModel();
        if (tokens) {
            launch(embed, rows, 128, b.tokens(), embedding, b.residual(), rows, d);
        }
        for (int l = 0; l < layers.length; l++) {
            layer(l, layers[l], rows, b, pool, slots);
        }
        launch(addNorm, blocks(rows, NORM_ROWS), 32 * NORM_ROWS, b.residual(), b.mixerOut(), normF, normFBias,
                b.hidden(), rows, d, c.normEps());
        if (logits) {
            gemm(b.hidden(), d, lmHead, new CUdeviceptr(), b.logits(), c.vocabSize(), rows, c.vocabSize(), d);
        }
    }

    /** Waits for the kernels of rows [start, start + n) and copies their outputs back from {@code part}. */
    private void downloadOutputs(StepBatch batch, int start, int n, Buffers part, Staging staging) {
        staging.download(part.hidden(), batch.hidden(), start * c.dModel(), n * c.dModel());
        if (batch.hasLogits()) {
            staging.download(part.logits(), batch.logits(), start * c.vocabSize(), n * c.vocabSize());
        }
    }

    private void layer(int l, DeviceLayer w, int rows, Buffers b, CUdeviceptr pool, CUdeviceptr slots) {
        int d = c.dModel();
        int di = c.dInner();
        int inSize = c.inProjSize();
        long floats = layout.floatsPerKey();
        launch(addNorm, blocks(rows, NORM_ROWS), 32 * NORM_ROWS, b.residual(),
                l == 0 ? new CUdeviceptr() : b.mixerOut(), w.norm(), w.normBias(), b.normed(), rows, d, c.normEps());
        gemm(b.normed(), d, w.inProj(), w.inProjBias(), b.inProj(), inSize, rows, inSize, d);
        int convCh = c.convChannels();
        launch(conv, blocks((long) rows * (vectorConv ? convCh / 4 : convCh), 256), 256, b.inProj(), inSize,
                c.layer() == LayerType.MAMBA1 ? 0 : di, pool, slots, floats, (long) layout.convOffset(l),
                w.conv(), w.convBias(), b.convOut(), rows, convCh, c.dConv());
        int ssmBlocks = blocks((long) rows * di, ssmChannelsPerBlock);
        if (c.layer() == LayerType.MAMBA1) {
            int xps = c.xProjSize();
            gemm(b.convOut(), di, w.xProj(), new CUdeviceptr(), b.xProj(), xps, rows, xps, di);
            if (!stateUpdateProjectsDt) {
                gemm(b.xProj(), xps, w.dtProj(), new CUdeviceptr(), b.dt(), di, rows, di, c.dtRank());
            }
            launch(ssm1, ssmBlocks, ssmBlock, b.inProj(), inSize, b.convOut(), b.xProj(), xps, c.dtRank(),
                    b.dt(), stateUpdateProjectsDt ? w.dtProj() : new CUdeviceptr(), pool, slots, floats,
                    (long) layout.ssmOffset(l), w.a(), w.dtBias(), w.d(), b.y(), rows, di, c.dState());
        } else {
            launch(ssm2, ssmBlocks, ssmBlock, b.inProj(), inSize, b.convOut(), pool, slots, floats,
                    (long) layout.ssmOffset(l), w.a(), w.dtBias(), w.d(), c.dHasHdim() ? 1 : 0, b.y(), rows, di,
                    c.dState(), c.headDim(), c.nGroups());
            launch(gatedNorm, rows * c.nGroups(), 256, b.y(), b.inProj(), inSize, w.gatedNorm(), rows, di,
                    c.nGroups(), c.normBeforeGate() ? 1 : 0, c.normEps());
        }
        gemm(b.y(), di, w.outProj(), w.outProjBias(), b.mixerOut(), d, rows, d, di);
    }

    @Override
    public void logits(float[] hidden, int rows, float[] logits) {
        if (!c.hasLmHead()) {
            throw new IllegalStateException("the model has no LM head");
        }
        cuCtxSetCurrent(context);
        Buffers b = buffers(rows);
        stagings[0].upload(hidden, 0, rows * c.dModel(), b.hidden());
        gemm(b.hidden(), c.dModel(), lmHead, new CUdeviceptr(), b.logits(), c.vocabSize(), rows, c.vocabSize(),
                c.dModel());
        stagings[0].download(b.logits(), logits, 0, rows * c.vocabSize());
    }

    /** C (m x n, row stride ldc) = A (m x k, row stride lda) . W^T + bias, W a (n, k) PyTorch weight. */
    private void gemm(CUdeviceptr a, int lda, CUdeviceptr w, CUdeviceptr bias, CUdeviceptr out, int ldc, int m, int n,
                      int k) {
        Pointer params = Pointer.to(Pointer.to(a), Pointer.to(new int[] {lda}), Pointer.to(w), Pointer.to(bias),
                Pointer.to(out), Pointer.to(new int[] {ldc}), Pointer.to(new int[] {m}), Pointer.to(new int[] {n}),
                Pointer.to(new int[] {k}));
        // Of the tile widths that give every multiprocessor two blocks, the one that pads the product least
        // (the widest on a tie, for more reuse per load); the narrowest when none does.
        int choice = gemms.length - 1;
        long leastPadded = Long.MAX_VALUE;
        for (int t = 0; t < gemms.length; t++) {
            long tile = 128 >> t;
            long blocks = ((n + tile - 1) / tile) * ((m + tile - 1) / tile);
            if (blocks >= 2L * multiprocessors && blocks * tile * tile < leastPadded) {
                leastPadded = blocks * tile * tile;
                choice = t;
            }
        }
        int tile = 128 >> choice;
        cuLaunchKernel(gemms[choice], (n + tile - 1) / tile, (m + tile - 1) / tile, 1, 256, 1, 1, 0, launchStream,
                params, null);
    }

    private static int blocks(long threads, int perBlock) {
        return Math.toIntExact((threads + perBlock - 1) / perBlock);
    }

    /** Launches a 1-D grid; arguments are device pointers, ints, longs or floats, in the kernel's order. */
    private void launch(CUfunction f, int grid, int block, Object... args) {
        Pointer[] pointers = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) {
            Object arg = args[i];
            if (arg instanceof CUdeviceptr p) {
                pointers[i] = Pointer.to(p);
            } else if (arg instanceof Integer v) {
                pointers[i] = Pointer.to(new int[] {v});
            } else if (arg instanceof Long v) {
                pointers[i] = Pointer.to(new long[] {v});
            } else if (arg instanceof Float v) {
                pointers[i] = Pointer.to(new float[] {v});
            } else {
                throw new IllegalArgumentException("unsupported kernel argument " + arg);
            }
        }
        cuLaunchKernel(f, grid, 1, 1, block, 1, 1, 0, launchStream, Pointer.to(pointers), null);
    }

    @Override
    public void close() {
        cuCtxSetCurrent(context);
        for (Staging staging : stagings) {
            staging.close();
        }
        dropGraphs();
        for (CUdeviceptr p : allocations) {
            cuMemFree(p);
        }
        allocations.clear();
        buffers = null;
        cuEventDestroy(firstStreamQueued);
        for (CUstream stream : streams) {
            cuStreamDestroy(stream);
        }
        cuModuleUnload(module);
        cuDevicePrimaryCtxRelease(device);
    }
}

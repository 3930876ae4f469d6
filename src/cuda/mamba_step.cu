// flink-mamba: one recurrent Mamba step for many keys at once, float32 compute.
//
// The engine runs, per layer: add_norm -> gemm_nt (in_proj) -> conv_step -> [Mamba-1: gemm_nt (x_proj),
// gemm_nt (dt_proj, unless ssm1_step computes it), ssm1_step] [Mamba-2: ssm2_step, gated_norm] -> gemm_nt
// (out_proj); then add_norm (final) and gemm_nt (LM head). Each batch row names its state slot in a pool of
// slots; a slot holds one key's state in the StateLayout (version 1) order: per layer (d_conv-1) x
// conv_channels conv inputs (oldest row first), then the ssm rows x d_state. The state kernels read and
// write every state element exactly once per step, keep it in registers in between, and store it as
// float32, float16 or bfloat16 (the _f32/_f16/_bf16 variants); the arithmetic is float32.
//
// Each kernel's reference is the CPU engine (io.flinkmamba.engine.CpuEngine) with the same inputs.
#include <cuda_fp16.h>
#include <cuda_bf16.h>
#include <stdint.h>

namespace {

__device__ __forceinline__ float load(const float* p) { return *p; }
__device__ __forceinline__ float load(const __half* p) { return __half2float(*p); }
__device__ __forceinline__ float load(const __nv_bfloat16* p) { return __bfloat162float(*p); }
__device__ __forceinline__ void store(float* p, float v) { *p = v; }
__device__ __forceinline__ void store(__half* p, float v) { *p = __float2half_rn(v); }
__device__ __forceinline__ void store(__nv_bfloat16* p, float v) { *p = __float2bfloat16_rn(v); }

// Pairs of 16-bit values <-> two floats.
__device__ __forceinline__ float2 to_float2(__half2 h) { return __half22float2(h); }
__device__ __forceinline__ float2 to_float2(__nv_bfloat162 h) { return __bfloat1622float2(h); }
template <typename S2> __device__ __forceinline__ S2 from_floats(float a, float b);
template <> __device__ __forceinline__ __half2 from_floats(float a, float b) { return __floats2half2_rn(a, b); }
template <> __device__ __forceinline__ __nv_bfloat162 from_floats(float a, float b) {
    return __floats2bfloat162_rn(a, b);
}

__device__ __forceinline__ float silu(float x) { return x / (1.f + expf(-x)); }
__device__ __forceinline__ float softplus(float x) { return x > 20.f ? x : log1pf(expf(x)); }

// C[m][n] = bias[n] + sum_k A[m][k] * W[n][k]: a PyTorch linear layer. Tiles of 16R x 16R of C per block of
// 256 threads, each thread an R x R register block (for R >= 4, quadrants of 4 x 4 that lie 64 apart, read
// from shared memory as float4; for R = 2, float2), over slices of A and W staged transposed in shared
// memory. Each thread loads its part of the next slice into registers before computing on the current one,
// so the global loads' latency hides behind the arithmetic. R = 8 (128 x 128 tiles) for large products;
// R = 4 and R = 2 (64 and 32 wide) keep the multiprocessors busy when the product is small. Slices are 8,
// 16 and 32 deep for R = 8, 4 and 2: small products have few blocks per multiprocessor, so each slice costs
// about one global-load latency, and deeper slices mean fewer of them. Shared rows are padded (by 4, or 2
// for R = 2) so that the transposing stores do not conflict on banks.
// Each output sums over k in ascending order whatever the tile, so every tile gives the same bits.
template <int R>
__device__ __forceinline__ int tile_offset(int t, int i) {
    if constexpr (R >= 4) {
        return (i / 4) * 64 + t * 4 + i % 4;
    } else {
        return t * R + i;
    }
}

template <int R>
__device__ void gemm_nt(const float* __restrict__ a, int lda, const float* __restrict__ w,
                        const float* __restrict__ bias, float* __restrict__ c, int ldc, int m, int n, int k) {
    constexpr int TILE = 16 * R;
    constexpr int DEPTH = R == 2 ? 32 : R == 4 ? 16 : 8;
    constexpr int STRIDE = TILE + (R == 2 ? 2 : 4);
    constexpr int LOADS = (TILE * DEPTH + 255) / 256;
    __shared__ __align__(16) float as[DEPTH][STRIDE];
    __shared__ __align__(16) float ws[DEPTH][STRIDE];
    int tx = threadIdx.x % 16;
    int ty = threadIdx.x / 16;
    int row0 = blockIdx.y * TILE;
    int col0 = blockIdx.x * TILE;
    float acc[R][R] = {};
    float next_a[LOADS];
    float next_w[LOADS];
    auto fetch = [&](int k0) {
#pragma unroll
        for (int l = 0; l < LOADS; l++) {
            int i = threadIdx.x + l * 256;
            int tile_row = i / DEPTH;
            int gk = k0 + i % DEPTH;
            bool in = i < TILE * DEPTH && gk < k;
            next_a[l] = in && row0 + tile_row < m ? a[(int64_t)(row0 + tile_row) * lda + gk] : 0.f;
            next_w[l] = in && col0 + tile_row < n ? w[(int64_t)(col0 + tile_row) * k + gk] : 0.f;
        }
    };
    fetch(0);
    for (int k0 = 0; k0 < k; k0 += DEPTH) {
#pragma unroll
        for (int l = 0; l < LOADS; l++) {
            int i = threadIdx.x + l * 256;
            if (i < TILE * DEPTH) {
                as[i % DEPTH][i / DEPTH] = next_a[l];
                ws[i % DEPTH][i / DEPTH] = next_w[l];
            }
        }
        __syncthreads();
        if (k0 + DEPTH < k) fetch(k0 + DEPTH);
#pragma unroll
        for (int kk = 0; kk < DEPTH; kk++) {
            float av[R];
            float wv[R];
            if constexpr (R >= 4) {
#pragma unroll
                for (int q = 0; q < R / 4; q++) {
                    float4 a4 = *reinterpret_cast<const float4*>(&as[kk][q * 64 + ty * 4]);
                    float4 w4 = *reinterpret_cast<const float4*>(&ws[kk][q * 64 + tx * 4]);
                    av[q * 4] = a4.x; av[q * 4 + 1] = a4.y; av[q * 4 + 2] = a4.z; av[q * 4 + 3] = a4.w;
                    wv[q * 4] = w4.x; wv[q * 4 + 1] = w4.y; wv[q * 4 + 2] = w4.z; wv[q * 4 + 3] = w4.w;
                }
            } else {
                float2 a2 = *reinterpret_cast<const float2*>(&as[kk][ty * 2]);
                float2 w2 = *reinterpret_cast<const float2*>(&ws[kk][tx * 2]);
                av[0] = a2.x; av[1] = a2.y;
                wv[0] = w2.x; wv[1] = w2.y;
            }
#pragma unroll
            for (int i = 0; i < R; i++) {
#pragma unroll
                for (int j = 0; j < R; j++) {
                    acc[i][j] = fmaf(av[i], wv[j], acc[i][j]);
                }
            }
        }
        __syncthreads();
    }
#pragma unroll
    for (int i = 0; i < R; i++) {
        int r = row0 + tile_offset<R>(ty, i);
        if (r >= m) continue;
#pragma unroll
        for (int j = 0; j < R; j++) {
            int col = col0 + tile_offset<R>(tx, j);
            if (col < n) {
                c[(int64_t)r * ldc + col] = acc[i][j] + (bias != nullptr ? bias[col] : 0.f);
            }
        }
    }
}

}  // namespace

extern "C" __global__ void __launch_bounds__(256) gemm_nt128(const float* __restrict__ a, int lda,
        const float* __restrict__ w, const float* __restrict__ bias, float* __restrict__ c, int ldc, int m, int n,
        int k) {
    gemm_nt<8>(a, lda, w, bias, c, ldc, m, n, k);
}

extern "C" __global__ void __launch_bounds__(256) gemm_nt64(const float* __restrict__ a, int lda,
        const float* __restrict__ w, const float* __restrict__ bias, float* __restrict__ c, int ldc, int m, int n,
        int k) {
    gemm_nt<4>(a, lda, w, bias, c, ldc, m, n, k);
}

extern "C" __global__ void __launch_bounds__(256) gemm_nt32(const float* __restrict__ a, int lda,
        const float* __restrict__ w, const float* __restrict__ bias, float* __restrict__ c, int ldc, int m, int n,
        int k) {
    gemm_nt<2>(a, lda, w, bias, c, ldc, m, n, k);
}

// The same product on tensor cores, as split TF32 ("3xTF32", the gemm_tc kernels): each float32 x is the
// TF32 value big(x) plus a TF32 remainder small(x), and a * w accumulates small(a) big(w) + big(a) small(w) +
// big(a) big(w) in float32, which keeps float32 accuracy (the dropped small(a) small(w) is below float32's
// rounding) at three MMAs per product; or as plain TF32 (the gemm_tf32_ kernels, the engine's "high" matmul
// precision, as PyTorch's allow_tf32): big(a) big(w) alone, one MMA, 10-bit mantissas in, float32 sums, an
// error of about 1e-4 of the products' magnitudes. Blocks of 256 threads (2 x 4 warps, each MT x NT tiles
// of 16 x 8) over 16-deep slices of A and W copied into shared memory by cp.async, the copies of the next
// STAGES - 1 slices in flight while the current one is multiplied (4 stages for the 64- and 32-wide tiles,
// whose few blocks per multiprocessor would otherwise wait out one load latency per slice; 2 for the
// 128-wide tile, which has the blocks to hide it and no static shared memory for more). Needs k and the row
// strides a multiple of 4 and 16-byte aligned rows (the engine uses them only for models whose sizes are);
// every tile sums over k in the same order.
namespace {

__device__ __forceinline__ uint32_t to_tf32(float x) {
    uint32_t r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
}

// d += a . b for one 16 x 8 tile over 8 of k, in the fragment layouts of mma.m16n8k8 (PTX ISA).
__device__ __forceinline__ void mma_tf32(float d[4], const uint32_t a[4], const uint32_t b[2]) {
    asm volatile("mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
                 "{%0,%1,%2,%3};"
                 : "+f"(d[0]), "+f"(d[1]), "+f"(d[2]), "+f"(d[3])
                 : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]));
}

// 16 bytes global -> shared without passing through registers; zeros when !in.
__device__ __forceinline__ void copy16_async(float* shared, const float* global, bool in) {
    unsigned to = static_cast<unsigned>(__cvta_generic_to_shared(shared));
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(to), "l"(global), "r"(in ? 16 : 0));
}

// x as big(x) and, when SPLIT, the remainder small(x); without SPLIT small is not used.
template <bool SPLIT>
__device__ __forceinline__ void tf32_parts(float x, uint32_t& big, uint32_t& small) {
    big = to_tf32(x);
    if constexpr (SPLIT) small = to_tf32(x - __uint_as_float(big));
}

template <int MT, int NT, int STAGES, bool SPLIT>
__device__ void gemm_tc(const float* __restrict__ a, int lda, const float* __restrict__ w,
                        const float* __restrict__ bias, float* __restrict__ c, int ldc, int m, int n, int k) {
    constexpr int BM = 32 * MT;
    constexpr int BN = 32 * NT;
    constexpr int BK = 16;
    constexpr int STRIDE = BK + 4;  // 80-byte rows: 16-byte aligned copies, conflict-free fragment loads
    __shared__ __align__(16) float as[STAGES][BM][STRIDE];
    __shared__ __align__(16) float ws[STAGES][BN][STRIDE];
    int warp = threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    int wm = warp / 4;
    int wn = warp % 4;
    int g = lane / 4;
    int t = lane % 4;
    int row0 = blockIdx.y * BM;
    int col0 = blockIdx.x * BN;
    float acc[MT][NT][4] = {};
    int slices = (k + BK - 1) / BK;
    // Copies slice sl into its stage, or nothing past the last slice; either way one commit group, so that
    // "all but the newest STAGES - 2 groups landed" always means "the slice about to be used landed".
    auto fetch = [&](int sl) {
        if (sl < slices) {
            int stage = sl % STAGES;
            int k0 = sl * BK;
            for (int i = threadIdx.x; i < BM * BK / 4; i += 256) {
                int r = i / (BK / 4);
                int kc = k0 + (i % (BK / 4)) * 4;
                bool in = row0 + r < m && kc < k;
                copy16_async(&as[stage][r][kc - k0], in ? a + (int64_t)(row0 + r) * lda + kc : a, in);
            }
            for (int i = threadIdx.x; i < BN * BK / 4; i += 256) {
                int r = i / (BK / 4);
                int kc = k0 + (i % (BK / 4)) * 4;
                bool in = col0 + r < n && kc < k;
                copy16_async(&ws[stage][r][kc - k0], in ? w + (int64_t)(col0 + r) * k + kc : w, in);
            }
        }
        asm volatile("cp.async.commit_group;");
    };
#pragma unroll
    for (int sl = 0; sl < STAGES - 1; sl++) fetch(sl);
    for (int sl = 0; sl < slices; sl++) {
        int stage = sl % STAGES;
        asm volatile("cp.async.wait_group %0;" ::"n"(STAGES - 2));
        // Every thread's copies of slice sl landed, and every warp is done with slice sl - 1, whose stage
        // the next copy reuses.
        __syncthreads();
        fetch(sl + STAGES - 1);
#pragma unroll
        for (int kk = 0; kk < BK; kk += 8) {
            uint32_t wb[NT][2], wsm[NT][2];
#pragma unroll
            for (int j = 0; j < NT; j++) {
                const float* wr = ws[stage][wn * NT * 8 + j * 8 + g];
                tf32_parts<SPLIT>(wr[kk + t], wb[j][0], wsm[j][0]);
                tf32_parts<SPLIT>(wr[kk + t + 4], wb[j][1], wsm[j][1]);
            }
#pragma unroll
            for (int i = 0; i < MT; i++) {
                const float* ar = as[stage][wm * MT * 16 + i * 16 + g];
                const float* ar8 = ar + 8 * STRIDE;
                uint32_t ab[4], asm_[4];
                tf32_parts<SPLIT>(ar[kk + t], ab[0], asm_[0]);
                tf32_parts<SPLIT>(ar8[kk + t], ab[1], asm_[1]);
                tf32_parts<SPLIT>(ar[kk + t + 4], ab[2], asm_[2]);
                tf32_parts<SPLIT>(ar8[kk + t + 4], ab[3], asm_[3]);
#pragma unroll
                for (int j = 0; j < NT; j++) {
                    if constexpr (SPLIT) {
                        mma_tf32(acc[i][j], asm_, wb[j]);
                        mma_tf32(acc[i][j], ab, wsm[j]);
                    }
                    mma_tf32(acc[i][j], ab, wb[j]);
                }
            }
        }
    }
#pragma unroll
    for (int i = 0; i < MT; i++) {
#pragma unroll
        for (int j = 0; j < NT; j++) {
            int col = col0 + wn * NT * 8 + j * 8 + 2 * t;
#pragma unroll
            for (int h = 0; h < 2; h++) {
                int r = row0 + wm * MT * 16 + i * 16 + g + 8 * h;
                if (r >= m) continue;
                if (col < n) c[(int64_t)r * ldc + col] = acc[i][j][2 * h] + (bias != nullptr ? bias[col] : 0.f);
                if (col + 1 < n) {
                    c[(int64_t)r * ldc + col + 1] = acc[i][j][2 * h + 1] + (bias != nullptr ? bias[col + 1] : 0.f);
                }
            }
        }
    }
}

}  // namespace

#define GEMM_TC_KERNEL(NAME, MT, NT, STAGES, SPLIT)                                                       \
extern "C" __global__ void __launch_bounds__(256) NAME(const float* __restrict__ a, int lda,                \
        const float* __restrict__ w, const float* __restrict__ bias, float* __restrict__ c, int ldc, int m, \
        int n, int k) {                                                                                    \
    gemm_tc<MT, NT, STAGES, SPLIT>(a, lda, w, bias, c, ldc, m, n, k);                                      \
}

GEMM_TC_KERNEL(gemm_tc128, 4, 4, 2, true)
GEMM_TC_KERNEL(gemm_tc64, 2, 2, 4, true)
GEMM_TC_KERNEL(gemm_tc32, 1, 1, 4, true)
GEMM_TC_KERNEL(gemm_tf32_128, 4, 4, 2, false)
GEMM_TC_KERNEL(gemm_tf32_64, 2, 2, 4, false)
GEMM_TC_KERNEL(gemm_tf32_32, 1, 1, 4, false)

// out[r] = embedding[tokens[r]].
extern "C" __global__ void embed(const int* __restrict__ tokens, const float* __restrict__ embedding,
                                 float* __restrict__ out, int rows, int d) {
    int r = blockIdx.x;
    if (r >= rows) return;
    const float* src = embedding + (int64_t)tokens[r] * d;
    for (int i = threadIdx.x; i < d; i += blockDim.x) {
        out[(int64_t)r * d + i] = src[i];
    }
}

namespace {
// Sum over the block (blockDim.x a multiple of 32, at most 1024).
__device__ float block_sum(float v, float* scratch) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
    int warp = threadIdx.x / 32;
    if (threadIdx.x % 32 == 0) scratch[warp] = v;
    __syncthreads();
    int warps = blockDim.x / 32;
    v = threadIdx.x < warps ? scratch[threadIdx.x] : 0.f;
    if (warp == 0) {
        for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
        if (threadIdx.x == 0) scratch[0] = v;
    }
    __syncthreads();
    float total = scratch[0];
    __syncthreads();
    return total;
}
}  // namespace

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffff, v, o);
    return v;
}

// residual[r] += add[r] (when add is not null), then out[r] = norm(residual[r]): RMSNorm when bias is
// null, else LayerNorm. One warp per row: rows are short (d_model), and a warp needs no block barriers.
extern "C" __global__ void add_norm(float* __restrict__ residual, const float* __restrict__ add,
                                    const float* __restrict__ weight, const float* __restrict__ bias,
                                    float* __restrict__ out, int rows, int d, float eps) {
    int r = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
    int lane = threadIdx.x % 32;
    if (r >= rows) return;
    float* x = residual + (int64_t)r * d;
    float sum = 0.f;
    for (int i = lane; i < d; i += 32) {
        float v = x[i] + (add != nullptr ? add[(int64_t)r * d + i] : 0.f);
        x[i] = v;
        sum += v;
    }
    float mean = bias != nullptr ? warp_sum(sum) / d : 0.f;
    float sq = 0.f;
    for (int i = lane; i < d; i += 32) {
        float v = x[i] - mean;
        sq += v * v;
    }
    float rstd = rsqrtf(warp_sum(sq) / d + eps);
    for (int i = lane; i < d; i += 32) {
        float v = (x[i] - mean) * rstd * weight[i];
        out[(int64_t)r * d + i] = bias != nullptr ? v + bias[i] : v;
    }
}

// Causal depthwise conv of one step for channel ch of row r: out = SiLU(bias + taps . [window, x]); the
// slot's window (d_conv-1 rows of `channels`) shifts by one row and takes x. Thread per (row, channel):
// the window's rows are channel-contiguous, so a warp reads and writes whole rows.
template <typename S>
__device__ void conv_step(const float* __restrict__ in, int in_stride, int in_offset, S* __restrict__ pool,
                          const int* __restrict__ slots, int64_t slot_stride, int64_t window_offset,
                          const float* __restrict__ taps, const float* __restrict__ bias,
                          float* __restrict__ out, int rows, int channels, int d_conv) {
    int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (int64_t)rows * channels) return;
    int r = idx / channels;
    int ch = idx % channels;
    S* window = pool + slots[r] * slot_stride + window_offset;
    float x = in[(int64_t)r * in_stride + in_offset + ch];
    float acc = bias != nullptr ? bias[ch] : 0.f;
    for (int t = 0; t < d_conv - 1; t++) {
        float v = load(window + (int64_t)t * channels + ch);
        acc = fmaf(taps[ch * d_conv + t], v, acc);
        if (t > 0) store(window + (int64_t)(t - 1) * channels + ch, v);
    }
    acc = fmaf(taps[ch * d_conv + d_conv - 1], x, acc);
    store(window + (int64_t)(d_conv - 2) * channels + ch, x);
    out[(int64_t)r * channels + ch] = silu(acc);
}

// The selective state updates give each channel of each row a group of lanes that walks its d_state values.
// VEC (d_state a multiple of 16, rows 16-byte aligned): each access moves a 16-byte word (4 float32 or 8
// 16-bit values), a lane takes BATCH = 2 words of ITEMS = 2 channels (CHANNELS_PER_PASS apart in its block)
// and issues all four loads before it computes and stores, 64 bytes in flight per lane: the update is
// bound by memory latency. A channel's 16 values per pass are then 2 lanes' words for float32 (each warp
// access covers whole 32-byte sectors) and one lane's for 16-bit states (raw words held until used, so the
// registers that hold 16 float32 values hold 32). Otherwise 16 lanes per channel move one value each.
// Either way each state element is read once and written once. Blocks have 256 threads and cover
// CHANNELS_PER_BLOCK (row, channel) pairs, consecutive in row-major order; the engine reads the geometry
// from the module.
constexpr int SSM_BLOCK = 256;
template <bool VEC, typename S>
struct Lanes {
    static constexpr int PER_ACCESS = VEC ? 16 / (int)sizeof(S) : 1;
    static constexpr int BATCH = VEC ? 2 : 1;
    static constexpr int ITEMS = VEC ? 2 : 1;
    static constexpr int PER_CHANNEL = VEC ? 16 / (BATCH * PER_ACCESS) : 16;
    static constexpr int CHANNELS_PER_PASS = SSM_BLOCK / PER_CHANNEL;
    static constexpr int CHANNELS_PER_BLOCK = CHANNELS_PER_PASS * ITEMS;
};

// What updating one channel's state row needs.
template <typename S>
struct Channel {
    bool active;
    int r;
    int ch;
    S* h;
    float delta;
    float x;
    const float* b;
    const float* c;
};

// The channels of this lane: item j is (row, channel) pair blockIdx.x * CHANNELS_PER_BLOCK + j *
// CHANNELS_PER_PASS + threadIdx.x / PER_CHANNEL; r and ch set, the rest left to the layer's kernel.
template <bool VEC, typename S>
__device__ __forceinline__ void locate(Channel<S> (&item)[Lanes<VEC, S>::ITEMS], int rows, int d_inner) {
    using L = Lanes<VEC, S>;
#pragma unroll
    for (int j = 0; j < L::ITEMS; j++) {
        unsigned pair = blockIdx.x * L::CHANNELS_PER_BLOCK + j * L::CHANNELS_PER_PASS + threadIdx.x / L::PER_CHANNEL;
        item[j].active = pair < (unsigned)rows * d_inner;
        item[j].r = item[j].active ? pair / d_inner : 0;
        item[j].ch = item[j].active ? pair % d_inner : 0;
    }
}

// V consecutive state values as one access: a word of 16 or 8 bytes (p aligned to it) or, when V is 1,
// one value.
template <int V, typename S> struct StateWord { using type = uint4; };
template <> struct StateWord<4, __half> { using type = uint2; };
template <> struct StateWord<4, __nv_bfloat16> { using type = uint2; };
template <typename S> struct StateWord<1, S> { using type = S; };
template <typename S> struct Pair;
template <> struct Pair<__half> { using type = __half2; };
template <> struct Pair<__nv_bfloat16> { using type = __nv_bfloat162; };

template <int V, typename S>
__device__ __forceinline__ typename StateWord<V, S>::type read_word(const S* p) {
    return *reinterpret_cast<const typename StateWord<V, S>::type*>(p);
}

template <int V, typename S>
__device__ __forceinline__ void unpack(typename StateWord<V, S>::type w, float (&v)[V]) {
    if constexpr (V == 1) {
        v[0] = load(&w);
    } else if constexpr (sizeof(S) == 4) {
        v[0] = __uint_as_float(w.x); v[1] = __uint_as_float(w.y);
        v[2] = __uint_as_float(w.z); v[3] = __uint_as_float(w.w);
    } else {
        using S2 = typename Pair<S>::type;
        const unsigned* pairs = reinterpret_cast<const unsigned*>(&w);
#pragma unroll
        for (int i = 0; i < V / 2; i++) {
            float2 f = to_float2(*reinterpret_cast<const S2*>(&pairs[i]));
            v[2 * i] = f.x;
            v[2 * i + 1] = f.y;
        }
    }
}

template <int V, typename S>
__device__ __forceinline__ void write_word(S* p, const float (&v)[V]) {
    if constexpr (V == 1) {
        store(p, v[0]);
    } else if constexpr (sizeof(S) == 4) {
        *reinterpret_cast<float4*>(p) = make_float4(v[0], v[1], v[2], v[3]);
    } else {
        using S2 = typename Pair<S>::type;
        typename StateWord<V, S>::type w;
        unsigned* pairs = reinterpret_cast<unsigned*>(&w);
#pragma unroll
        for (int i = 0; i < V / 2; i++) {
            S2 pair = from_floats<S2>(v[2 * i], v[2 * i + 1]);
            pairs[i] = *reinterpret_cast<unsigned*>(&pair);
        }
        *reinterpret_cast<typename StateWord<V, S>::type*>(p) = w;
    }
}

// V consecutive floats (B, C, A): 16-byte loads when V is a multiple of 4 (p 16-byte aligned).
template <int V>
__device__ __forceinline__ void load_floats(const float* p, float (&v)[V]) {
    if constexpr (V == 1) {
        v[0] = *p;
    } else {
#pragma unroll
        for (int q = 0; q < V / 4; q++) {
            float4 f = *reinterpret_cast<const float4*>(p + 4 * q);
            v[4 * q] = f.x; v[4 * q + 1] = f.y; v[4 * q + 2] = f.z; v[4 * q + 3] = f.w;
        }
    }
}

// The same conv step, a thread per (row, 4 consecutive channels) moving 4 values per access (channels,
// the window's offset and the slot stride multiples of 4, the input's offset and stride too), the window's
// rows all loaded before any is stored back, so that its loads are in flight together. (8 channels of
// 16-bit states per thread, in 16-byte words, was twice as slow: half the threads, twice the taps each.)
template <typename S>
__device__ void conv_step_vec(const float* __restrict__ in, int in_stride, int in_offset, S* __restrict__ pool,
                              const int* __restrict__ slots, int64_t slot_stride, int64_t window_offset,
                              const float* __restrict__ taps, const float* __restrict__ bias,
                              float* __restrict__ out, int rows, int channels, int d_conv) {
    constexpr int MAX_WINDOW = 3;
    constexpr int C = 4;
    unsigned groups = channels / C;
    unsigned idx = blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (unsigned)rows * groups) return;
    int r = idx / groups;
    int ch = idx % groups * C;
    S* window = pool + slots[r] * slot_stride + window_offset + ch;
    typename StateWord<C, S>::type raw[MAX_WINDOW];
#pragma unroll
    for (int t = 0; t < MAX_WINDOW; t++) {
        if (t < d_conv - 1) raw[t] = read_word<C>(window + (int64_t)t * channels);
    }
    float x[C];
    load_floats<C>(in + (int64_t)r * in_stride + in_offset + ch, x);
    float acc[C];
#pragma unroll
    for (int i = 0; i < C; i++) acc[i] = bias != nullptr ? bias[ch + i] : 0.f;
#pragma unroll
    for (int t = 0; t < MAX_WINDOW; t++) {
        if (t < d_conv - 1) {
            float v[C];
            unpack<C, S>(raw[t], v);
#pragma unroll
            for (int i = 0; i < C; i++) acc[i] = fmaf(taps[(ch + i) * d_conv + t], v[i], acc[i]);
            if (t > 0) write_word<C>(window + (int64_t)(t - 1) * channels, v);
        }
    }
#pragma unroll
    for (int i = 0; i < C; i++) acc[i] = silu(fmaf(taps[(ch + i) * d_conv + d_conv - 1], x[i], acc[i]));
    write_word<C>(window + (int64_t)(d_conv - 2) * channels, x);
    *reinterpret_cast<float4*>(out + (int64_t)r * channels + ch) = make_float4(acc[0], acc[1], acc[2], acc[3]);
}

// Updates each active item's state row h (d_state values): h = h * decay + (delta * B[n]) * x, decay(j, n, d)
// giving item j's decays for values [n, n + PER_ACCESS); returns in acc[j] this lane's share of sum h * C.
// The VEC kernels also need B, C (and A) 16-byte aligned.
template <bool VEC, typename S, typename Decay>
__device__ __forceinline__ void update_rows(const Channel<S> (&item)[Lanes<VEC, S>::ITEMS], int lane, int d_state,
                                            Decay decay, float (&acc)[Lanes<VEC, S>::ITEMS]) {
    using L = Lanes<VEC, S>;
    constexpr int V = L::PER_ACCESS;
    constexpr int STEP = L::PER_CHANNEL * V;
    for (int n0 = lane * V; n0 < d_state; n0 += STEP * L::BATCH) {
        typename StateWord<V, S>::type raw[L::ITEMS][L::BATCH];
#pragma unroll
        for (int j = 0; j < L::ITEMS; j++) {
#pragma unroll
            for (int k = 0; k < L::BATCH; k++) {
                int n = n0 + k * STEP;
                if (!item[j].active || n >= d_state) continue;
                raw[j][k] = read_word<V>(item[j].h + n);
            }
        }
#pragma unroll
        for (int j = 0; j < L::ITEMS; j++) {
#pragma unroll
            for (int k = 0; k < L::BATCH; k++) {
                int n = n0 + k * STEP;
                if (!item[j].active || n >= d_state) continue;
                float v[V], bv[V], cv[V], dv[V];
                unpack<V, S>(raw[j][k], v);
                load_floats<V>(item[j].b + n, bv);
                load_floats<V>(item[j].c + n, cv);
                decay(j, n, dv);
#pragma unroll
                for (int i = 0; i < V; i++) {
                    v[i] = fmaf(v[i], dv[i], item[j].delta * bv[i] * item[j].x);
                    acc[j] = fmaf(v[i], cv[i], acc[j]);
                }
                write_word<V>(item[j].h + n, v);
            }
        }
    }
}

template <bool VEC, typename S>
__device__ __forceinline__ float lane_sum(float acc) {
    constexpr int G = Lanes<VEC, S>::PER_CHANNEL;
    for (int o = G / 2; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffff, acc, o, G);
    return acc;
}

// Mamba-1 selective state update, per channel: delta = softplus(dt + dt_bias);
// h = h * exp(delta * A) + (delta * B) * x; y = (sum h * C + D * x) * SiLU(z). dt is the dt_proj product
// read from dt, or, where dt_w is not null, computed here from the row's first dt_rank x_proj outputs and
// the channel's dt_w row (k ascending): for a small dt_rank those few multiply-adds cost less than a
// product kernel and its output's round trip through memory.
template <bool VEC, typename S>
__device__ void ssm1_step(const float* __restrict__ xz, int xz_stride, const float* __restrict__ xc,
                          const float* __restrict__ xdbl, int xdbl_stride, int dt_rank,
                          const float* __restrict__ dt, const float* __restrict__ dt_w, S* __restrict__ pool,
                          const int* __restrict__ slots, int64_t slot_stride, int64_t ssm_offset,
                          const float* __restrict__ a, const float* __restrict__ dt_bias,
                          const float* __restrict__ skip, float* __restrict__ y, int rows, int d_inner, int d_state) {
    using L = Lanes<VEC, S>;
    int lane = threadIdx.x % L::PER_CHANNEL;
    Channel<S> item[L::ITEMS];
    const float* arow[L::ITEMS];
    float acc[L::ITEMS];
    locate<VEC, S>(item, rows, d_inner);
#pragma unroll
    for (int j = 0; j < L::ITEMS; j++) {
        Channel<S>& it = item[j];
        int64_t rc = (int64_t)it.r * d_inner + it.ch;
        const float* xrow = xdbl + (int64_t)it.r * xdbl_stride;
        float dt_value = 0.f;
        if (dt_w == nullptr) {
            dt_value = it.active ? dt[rc] : 0.f;
        } else {
            const float* wrow = dt_w + (int64_t)it.ch * dt_rank;
            for (int k = 0; k < dt_rank; k++) dt_value = fmaf(xrow[k], wrow[k], dt_value);
        }
        it.delta = it.active ? softplus(dt_value + dt_bias[it.ch]) : 0.f;
        it.x = it.active ? xc[rc] : 0.f;
        it.b = xrow + dt_rank;
        it.c = it.b + d_state;
        it.h = pool + (it.active ? slots[it.r] * slot_stride + ssm_offset + (int64_t)it.ch * d_state : 0);
        arow[j] = a + (int64_t)it.ch * d_state;
        acc[j] = 0.f;
    }
    // The decays take the fast exponential (one multiply and MUFU.EX2, relative error about 2^-21 plus 2^-24
    // of |delta * A|): the update is bound by memory and instruction issue, and it is the bulk of the latter.
    constexpr int V = L::PER_ACCESS;
    update_rows<VEC>(item, lane, d_state, [&](int j, int n, float (&d)[V]) {
        float av[V];
        load_floats<V>(arow[j] + n, av);
#pragma unroll
        for (int i = 0; i < V; i++) d[i] = __expf(item[j].delta * av[i]);
    }, acc);
#pragma unroll
    for (int j = 0; j < L::ITEMS; j++) {
        float sum = lane_sum<VEC, S>(acc[j]);
        const Channel<S>& it = item[j];
        if (it.active && lane == 0) {
            float z = xz[(int64_t)it.r * xz_stride + d_inner + it.ch];
            y[(int64_t)it.r * d_inner + it.ch] = (sum + skip[it.ch] * it.x) * silu(z);
        }
    }
}

// Mamba-2 selective state update, per head h: delta = softplus(dt[h] + dt_bias[h]), one decay
// exp(delta * A[h]) for the head; channel p of the head: h = h * decay + (delta * B[g]) * x,
// y = sum h * C[g] + D * x, B and C of the head's group g.
template <bool VEC, typename S>
__device__ void ssm2_step(const float* __restrict__ zxbcdt, int in_stride, const float* __restrict__ xbc,
                          S* __restrict__ pool, const int* __restrict__ slots, int64_t slot_stride,
                          int64_t ssm_offset, const float* __restrict__ a, const float* __restrict__ dt_bias,
                          const float* __restrict__ skip, int skip_per_channel, float* __restrict__ y,
                          int rows, int d_inner, int d_state, int head_dim, int n_groups) {
    using L = Lanes<VEC, S>;
    int lane = threadIdx.x % L::PER_CHANNEL;
    int n_heads = d_inner / head_dim;
    int conv_channels = d_inner + 2 * n_groups * d_state;
    Channel<S> item[L::ITEMS];
    float decay[L::ITEMS];
    float acc[L::ITEMS];
    locate<VEC, S>(item, rows, d_inner);
#pragma unroll
    for (int j = 0; j < L::ITEMS; j++) {
        Channel<S>& it = item[j];
        int head = it.ch / head_dim;
        it.delta = it.active
                ? softplus(zxbcdt[(int64_t)it.r * in_stride + d_inner + conv_channels + head] + dt_bias[head]) : 0.f;
        decay[j] = expf(it.delta * a[head]);
        const float* row = xbc + (int64_t)it.r * conv_channels;
        it.x = it.active ? row[it.ch] : 0.f;
        int g = head / (n_heads / n_groups);
        it.b = row + d_inner + g * d_state;
        it.c = row + d_inner + n_groups * d_state + g * d_state;
        it.h = pool + (it.active ? slots[it.r] * slot_stride + ssm_offset + (int64_t)it.ch * d_state : 0);
        acc[j] = 0.f;
    }
    constexpr int V = L::PER_ACCESS;
    update_rows<VEC>(item, lane, d_state, [&](int j, int, float (&d)[V]) {
#pragma unroll
        for (int i = 0; i < V; i++) d[i] = decay[j];
    }, acc);
#pragma unroll
    for (int j = 0; j < L::ITEMS; j++) {
        float sum = lane_sum<VEC, S>(acc[j]);
        const Channel<S>& it = item[j];
        if (it.active && lane == 0) {
            int head = it.ch / head_dim;
            y[(int64_t)it.r * d_inner + it.ch] = sum + skip[skip_per_channel ? it.ch : head] * it.x;
        }
    }
}

// Mamba-2 output gating: y * SiLU(z), RMS-normalized per group of d_inner / n_groups channels and scaled
// by weight (before or after the gate); plain gating when weight is null. One block per (row, group).
extern "C" __global__ void gated_norm(float* __restrict__ y, const float* __restrict__ zxbcdt, int in_stride,
                                      const float* __restrict__ weight, int rows, int d_inner, int n_groups,
                                      int norm_before_gate, float eps) {
    __shared__ float scratch[32];
    int r = blockIdx.x / n_groups;
    int g = blockIdx.x % n_groups;
    if (r >= rows) return;
    int size = d_inner / n_groups;
    float* yr = y + (int64_t)r * d_inner + g * size;
    const float* z = zxbcdt + (int64_t)r * in_stride + g * size;
    if (weight == nullptr) {
        for (int i = threadIdx.x; i < size; i += blockDim.x) yr[i] *= silu(z[i]);
        return;
    }
    float sq = 0.f;
    for (int i = threadIdx.x; i < size; i += blockDim.x) {
        float v = norm_before_gate ? yr[i] : yr[i] * silu(z[i]);
        yr[i] = v;
        sq += v * v;
    }
    float rstd = rsqrtf(block_sum(sq, scratch) / size + eps);
    for (int i = threadIdx.x; i < size; i += blockDim.x) {
        float v = yr[i] * rstd * weight[g * size + i];
        yr[i] = norm_before_gate ? v * silu(z[i]) : v;
    }
}

// Slot pool <-> packed float32 rows (for engines that hand states over per call).
template <typename S>
__device__ void gather_states(const S* __restrict__ pool, const int* __restrict__ slots, int64_t slot_stride,
                              float* __restrict__ out, int rows) {
    int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (int64_t)rows * slot_stride) return;
    int r = idx / slot_stride;
    out[idx] = load(pool + slots[r] * slot_stride + idx % slot_stride);
}

template <typename S>
__device__ void scatter_states(const float* __restrict__ in, S* __restrict__ pool, const int* __restrict__ slots,
                               int64_t slot_stride, int rows) {
    int64_t idx = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
    if (idx >= (int64_t)rows * slot_stride) return;
    int r = idx / slot_stride;
    store(pool + slots[r] * slot_stride + idx % slot_stride, in[idx]);
}

#define SSM_KERNELS(SUFFIX, S, VARIANT, VEC)                                                                     \
extern "C" __global__ void __launch_bounds__(SSM_BLOCK, 4) ssm1_step##VARIANT##_##SUFFIX(const float* xz,        \
        int xz_stride, const float* xc, const float* xdbl, int xdbl_stride, int dt_rank, const float* dt,        \
        const float* dt_w, S* pool, const int* slots, int64_t slot_stride, int64_t ssm_offset, const float* a,   \
        const float* dt_bias, const float* skip, float* y, int rows, int d_inner, int d_state) {                 \
    ssm1_step<VEC, S>(xz, xz_stride, xc, xdbl, xdbl_stride, dt_rank, dt, dt_w, pool, slots, slot_stride,         \
                      ssm_offset, a, dt_bias, skip, y, rows, d_inner, d_state);                                  \
}                                                                                                                \
extern "C" __global__ void __launch_bounds__(SSM_BLOCK, 4) ssm2_step##VARIANT##_##SUFFIX(                        \
        const float* zxbcdt, int in_stride, const float* xbc, S* pool, const int* slots, int64_t slot_stride,    \
        int64_t ssm_offset, const float* a, const float* dt_bias, const float* skip, int skip_per_channel,       \
        float* y, int rows, int d_inner, int d_state, int head_dim, int n_groups) {                              \
    ssm2_step<VEC, S>(zxbcdt, in_stride, xbc, pool, slots, slot_stride, ssm_offset, a, dt_bias, skip,            \
                      skip_per_channel, y, rows, d_inner, d_state, head_dim, n_groups);                          \
}

#define STATE_KERNELS(SUFFIX, S)                                                                         \
extern "C" __global__ void conv_step_##SUFFIX(const float* in, int in_stride, int in_offset, S* pool,    \
        const int* slots, int64_t slot_stride, int64_t window_offset, const float* taps, const float* bias,  \
        float* out, int rows, int channels, int d_conv) {                                                \
    conv_step<S>(in, in_stride, in_offset, pool, slots, slot_stride, window_offset, taps, bias, out, rows,   \
                 channels, d_conv);                                                                      \
}                                                                                                        \
extern "C" __global__ void conv_step_vec_##SUFFIX(const float* in, int in_stride, int in_offset, S* pool,\
        const int* slots, int64_t slot_stride, int64_t window_offset, const float* taps, const float* bias,  \
        float* out, int rows, int channels, int d_conv) {                                                \
    conv_step_vec<S>(in, in_stride, in_offset, pool, slots, slot_stride, window_offset, taps, bias, out,    \
                     rows, channels, d_conv);                                                            \
}                                                                                                        \
SSM_KERNELS(SUFFIX, S, , false)                                                                           \
SSM_KERNELS(SUFFIX, S, _vec, true)                                                                       \
extern "C" __global__ void gather_states_##SUFFIX(const S* pool, const int* slots, int64_t slot_stride,  \
        float* out, int rows) {                                                                          \
    gather_states<S>(pool, slots, slot_stride, out, rows);                                               \
}                                                                                                        \
extern "C" __global__ void scatter_states_##SUFFIX(const float* in, S* pool, const int* slots,           \
        int64_t slot_stride, int rows) {                                                                 \
    scatter_states<S>(in, pool, slots, slot_stride, rows);                                               \
}

// The state updates' launch geometry, for the engine: blocks of ssm_block threads, each covering
// ssm_channels_per_block_<type> (row, channel) pairs (the _vec kernels) or ssm_scalar_channels_per_block.
extern "C" __constant__ int ssm_block = SSM_BLOCK;
extern "C" __constant__ int ssm_channels_per_block_f32 = Lanes<true, float>::CHANNELS_PER_BLOCK;
extern "C" __constant__ int ssm_channels_per_block_f16 = Lanes<true, __half>::CHANNELS_PER_BLOCK;
extern "C" __constant__ int ssm_channels_per_block_bf16 = Lanes<true, __nv_bfloat16>::CHANNELS_PER_BLOCK;
extern "C" __constant__ int ssm_scalar_channels_per_block = Lanes<false, float>::CHANNELS_PER_BLOCK;

STATE_KERNELS(f32, float)
STATE_KERNELS(f16, __half)
STATE_KERNELS(bf16, __nv_bfloat16)

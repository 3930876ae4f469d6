package io.flinkmamba.train;

import io.flinkmamba.engine.CpuMath;
import io.flinkmamba.engine.VectorOps;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.state.StateLayout;

/**
 * The event model's forward pass over a stretch of one key's events, keeping the activations, and its
 * backward pass: the gradient of the summed negative log-likelihood of the next events.
 *
 * <p>The forward computes what {@link io.flinkmamba.engine.CpuEngine} computes, in the same float32
 * operations and order (matrix products as one fused multiply-add chain over the inputs, the conv, the
 * softplus, decays and state update with {@link CpuMath}, RMSNorm with a double sum), so a trained model
 * scores in the operator what it scored here; the heads run in double as in {@link EventModel#score}. The
 * state is the engine's {@link StateLayout}: a stretch starts from the state the previous one left
 * (truncated backpropagation through time: no gradient flows into the starting state).
 */
final class EventNetwork {
    private static final double HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

    private final ParameterLayout p;
    private final StateLayout stateLayout;
    private final int nLayer;

    EventNetwork(ParameterLayout layout) {
        this.p = layout;
        this.stateLayout = layout.config.stateLayout();
        this.nLayer = layout.config.nLayer();
    }

    StateLayout stateLayout() {
        return stateLayout;
    }

    /** One key's events, normalized: z[t*F + i] = (x - mean) / std in float, categories (or null). */
    record Encoded(String key, int length, float[] z, int[] category) {}

    /** Activations and gradient scratch for stretches of up to {@code capacity} events; one per thread. */
    final class Workspace {
        final float[] input;
        final float[][] res;
        final float[][] rstd;
        final float[][] nrm;
        final float[][] xz;
        final float[][] window;
        final float[][] cpre;
        final float[][] u;
        final float[][] xdbl;
        final float[][] dtp;
        final float[][] delta;
        final float[][] decay;
        final float[][] h;
        final float[][] yss;
        final float[][] y;
        final float[][] mix;
        final float[][] a;
        final float[] resF;
        final float[] rstdF;
        final float[] hid;
        final float[] dHid;
        final float[] dRes;
        final float[] dNrm;
        final float[] dY;
        final float[] dXz;
        final float[] dU;
        final float[] dCpre;
        final float[] dXdbl;
        final float[] dDtp;
        final float[] dWindow;
        final float[] dh;
        final float[] dtBias;
        final float[] decayRow;
        final double[] headOut;
        final float[] dHead;

        Workspace(int capacity) {
            int d = p.d;
            int di = p.di;
            int ds = p.ds;
            int l = nLayer;
            input = new float[capacity * d];
            res = new float[l][capacity * d];
            rstd = new float[l][capacity];
            nrm = new float[l][capacity * d];
            xz = new float[l][capacity * 2 * di];
            window = new float[l][(p.dConv - 1 + capacity) * di];
            cpre = new float[l][capacity * di];
            u = new float[l][capacity * di];
            xdbl = new float[l][capacity * p.xps];
            dtp = new float[l][capacity * di];
            delta = new float[l][capacity * di];
            decay = new float[l][capacity * di * ds];
            h = new float[l][(capacity + 1) * di * ds];
            yss = new float[l][capacity * di];
            y = new float[l][capacity * di];
            mix = new float[l][capacity * d];
            a = new float[l][di * ds];
            resF = new float[capacity * d];
            rstdF = new float[capacity];
            hid = new float[capacity * d];
            dHid = new float[capacity * d];
            dRes = new float[capacity * d];
            dNrm = new float[capacity * d];
            dY = new float[capacity * di];
            dXz = new float[capacity * 2 * di];
            dU = new float[capacity * di];
            dCpre = new float[capacity * di];
            dXdbl = new float[capacity * p.xps];
            dDtp = new float[capacity * di];
            dWindow = new float[(p.dConv - 1 + capacity) * di];
            dh = new float[di * ds];
            dtBias = new float[di];
            decayRow = new float[di * ds];
            headOut = new double[2 * p.fields + p.categories];
            dHead = new float[capacity * (2 * p.fields + p.categories)];
        }
    }

    Workspace workspace(int capacity) {
        return new Workspace(capacity);
    }

    /**
     * Runs events {@code start .. start+length-1} of {@code seq} from {@code state} (left holding the state
     * after them) and returns the summed negative log-likelihood (nats, raw units: {@code logStdSum} is the
     * sum of log std over the numeric fields) of the events each position predicts: start+1 .. start+length,
     * those that exist. With {@code grad} non-null, adds the gradient of that sum with respect to {@code w}.
     */
    double run(float[] w, Encoded seq, int start, int length, float[] state, float[] grad, double logStdSum,
               Workspace ws) {
        forward(w, seq, start, length, state, ws);
        java.util.Arrays.fill(ws.dHid, 0, length * p.d, 0f);
        double loss = 0;
        for (int t = 0; t < length; t++) {
            int target = start + t + 1;
            if (target < seq.length()) {
                loss += heads(w, ws, t, seq, target, grad != null) + logStdSum;
            }
        }
        if (grad != null) {
            backward(w, seq, start, length, grad, ws);
        }
        return loss;
    }

    /** Events that a stretch predicts (a target exists). */
    static int targets(Encoded seq, int start, int length) {
        return Math.max(0, Math.min(start + length, seq.length() - 1) - start);
    }

    private void forward(float[] w, Encoded seq, int start, int length, float[] state, Workspace ws) {
        int d = p.d;
        int di = p.di;
        int ds = p.ds;
        int k = p.dConv;
        encode(w, seq, start, length, ws.input);
        for (int l = 0; l < nLayer; l++) {
            float[] res = ws.res[l];
            if (l == 0) {
                System.arraycopy(ws.input, 0, res, 0, length * d);
            } else {
                float[] prev = ws.res[l - 1];
                float[] mix = ws.mix[l - 1];
                for (int i = 0; i < length * d; i++) {
                    res[i] = prev[i] + mix[i];
                }
            }
            norm(res, w, p.norm[l], length, ws.rstd[l], ws.nrm[l]);
            matmul(ws.nrm[l], d, length, w, p.inProj[l], 2 * di, d, ws.xz[l], 2 * di, 0);
            // Conv inputs: the state's window (dConv-1 rows) followed by this stretch's x rows.
            float[] window = ws.window[l];
            int convOff = stateLayout.convOffset(l);
            System.arraycopy(state, convOff, window, 0, (k - 1) * di);
            for (int t = 0; t < length; t++) {
                System.arraycopy(ws.xz[l], t * 2 * di, window, (k - 1 + t) * di, di);
            }
            int cwo = p.convWeight[l];
            int cbo = p.convBias[l];
            for (int t = 0; t < length; t++) {
                for (int c = 0; c < di; c++) {
                    float acc = w[cbo + c];
                    for (int tap = 0; tap < k; tap++) {
                        acc += w[cwo + c * k + tap] * window[(t + tap) * di + c];
                    }
                    ws.cpre[l][t * di + c] = acc;
                    ws.u[l][t * di + c] = CpuMath.silu(acc);
                }
            }
            System.arraycopy(window, length * di, state, convOff, (k - 1) * di);
            matmul(ws.u[l], di, length, w, p.xProj[l], p.xps, di, ws.xdbl[l], p.xps, 0);
            matmul(ws.xdbl[l], p.xps, length, w, p.dtWeight[l], di, p.dtRank, ws.dtp[l], di, 0);
            float[] a = ws.a[l];
            for (int i = 0; i < di * ds; i++) {
                a[i] = (float) -Math.exp(w[p.aLog[l] + i]);
            }
            float[] h = ws.h[l];
            int ssmOff = stateLayout.ssmOffset(l);
            System.arraycopy(state, ssmOff, h, 0, di * ds);
            int zOff = di;
            float[] dtBias = ws.dtBias;
            System.arraycopy(w, p.dtBias[l], dtBias, 0, di);
            float[] decays = ws.decay[l];
            for (int t = 0; t < length; t++) {
                int xo = t * di;
                // delta = softplus(dt + bias) and the decays e^(delta*A) by the engine's own kernels
                System.arraycopy(ws.dtp[l], xo, ws.delta[l], xo, di);
                VectorOps.softplus(ws.delta[l], xo, dtBias, di);
                for (int c = 0; c < di; c++) {
                    ws.dtp[l][xo + c] += dtBias[c]; // the softplus's argument, for the backward pass
                }
                VectorOps.decays(ws.delta[l], xo, a, ws.decayRow, di, ds);
                System.arraycopy(ws.decayRow, 0, decays, t * di * ds, di * ds);
                int bo = t * p.xps + p.dtRank;
                int co = bo + ds;
                float[] xd = ws.xdbl[l];
                for (int c = 0; c < di; c++) {
                    float dt = ws.delta[l][xo + c];
                    float deltaX = dt * ws.u[l][xo + c];
                    int prev = t * di * ds + c * ds;
                    int cur = prev + di * ds;
                    float y0 = 0f;
                    float y1 = 0f;
                    float y2 = 0f;
                    float y3 = 0f;
                    int n = 0;
                    for (; n < ds; n++) {
                        float decay = decays[prev + n];
                        float hv = Math.fma(h[prev + n], decay, xd[bo + n] * deltaX);
                        h[cur + n] = hv;
                        // four partial sums, the tail in the first, as the scalar kernel's updateRow
                        switch (n < (ds & ~3) ? n & 3 : 0) {
                            case 0 -> y0 = Math.fma(hv, xd[co + n], y0);
                            case 1 -> y1 = Math.fma(hv, xd[co + n], y1);
                            case 2 -> y2 = Math.fma(hv, xd[co + n], y2);
                            default -> y3 = Math.fma(hv, xd[co + n], y3);
                        }
                    }
                    float ys = ((y0 + y1) + (y2 + y3)) + w[p.dSkip[l] + c] * ws.u[l][xo + c];
                    ws.yss[l][xo + c] = ys;
                    ws.y[l][xo + c] = ys * CpuMath.silu(ws.xz[l][t * 2 * di + zOff + c]);
                }
            }
            System.arraycopy(h, length * di * ds, state, ssmOff, di * ds);
            matmul(ws.y[l], di, length, w, p.outProj[l], d, di, ws.mix[l], d, 0);
        }
        float[] last = ws.res[nLayer - 1];
        float[] mix = ws.mix[nLayer - 1];
        for (int i = 0; i < length * d; i++) {
            ws.resF[i] = last[i] + mix[i];
        }
        norm(ws.resF, w, p.normF, length, ws.rstdF, ws.hid);
    }

    /** The backbone input of events start.. as {@link EventModel#encode} computes it. */
    private void encode(float[] w, Encoded seq, int start, int length, float[] out) {
        int d = p.d;
        int f = p.fields;
        for (int t = 0; t < length; t++) {
            int o = t * d;
            if (p.encoderBias >= 0) {
                System.arraycopy(w, p.encoderBias, out, o, d);
            } else {
                java.util.Arrays.fill(out, o, o + d, 0f);
            }
            for (int i = 0; i < f; i++) {
                float z = seq.z()[(start + t) * f + i];
                for (int j = 0; j < d; j++) {
                    out[o + j] += w[p.encoderWeight + j * f + i] * z;
                }
            }
            if (p.categories > 0) {
                int e = p.categoryEmbedding + seq.category()[start + t] * d;
                for (int j = 0; j < d; j++) {
                    out[o + j] += w[e + j];
                }
            }
        }
    }

    /**
     * The heads at position t against event {@code target}: returns its normalized-units NLL and, when
     * {@code withGradient}, the gradient in dHid[t] (and the head outputs' gradient in dHead[t]).
     */
    private double heads(float[] w, Workspace ws, int t, Encoded seq, int target, boolean withGradient) {
        int d = p.d;
        int f = p.fields;
        int ho = t * d;
        double nll = 0;
        double[] g = ws.headOut;
        for (int i = 0; i < f; i++) {
            double mu = dotDouble(w, p.gaussianBias + i, p.gaussianWeight + i * d, ws.hid, ho, d);
            double raw = dotDouble(w, p.gaussianBias + f + i, p.gaussianWeight + (f + i) * d, ws.hid, ho, d);
            double logVar = Math.max(-EventModel.LOG_VARIANCE_LIMIT, Math.min(EventModel.LOG_VARIANCE_LIMIT, raw));
            double r = seq.z()[target * f + i] - mu;
            double inv = Math.exp(-logVar);
            nll += HALF_LOG_2PI + 0.5 * logVar + 0.5 * r * r * inv;
            g[i] = -r * inv;
            g[f + i] = raw == logVar ? 0.5 - 0.5 * r * r * inv : 0;
        }
        if (p.categories > 0) {
            int kc = p.categories;
            double max = Double.NEGATIVE_INFINITY;
            for (int c = 0; c < kc; c++) {
                g[2 * f + c] = dotDouble(w, p.categoryBias < 0 ? -1 : p.categoryBias + c, p.categoryWeight + c * d, ws.hid, ho, d);
                max = Math.max(max, g[2 * f + c]);
            }
            int actual = seq.category()[target];
            double actualLogit = g[2 * f + actual];
            double sum = 0;
            for (int c = 0; c < kc; c++) {
                g[2 * f + c] = Math.exp(g[2 * f + c] - max);
                sum += g[2 * f + c];
            }
            nll += max + Math.log(sum) - actualLogit;
            for (int c = 0; c < kc; c++) {
                g[2 * f + c] = g[2 * f + c] / sum - (c == actual ? 1 : 0);
            }
        }
        if (withGradient) {
            int outs = 2 * f + p.categories;
            for (int r = 0; r < outs; r++) {
                float gr = (float) g[r];
                ws.dHead[t * outs + r] = gr;
                int o = r < 2 * f ? p.gaussianWeight + r * d : p.categoryWeight + (r - 2 * f) * d;
                for (int j = 0; j < d; j++) {
                    ws.dHid[ho + j] += gr * w[o + j];
                }
            }
        }
        return nll;
    }

    /** Bias (none when {@code biasAt} is negative) plus the row's dot product with the hidden, in double. */
    private static double dotDouble(float[] w, int biasAt, int rowAt, float[] h, int ho, int d) {
        double acc = biasAt >= 0 ? w[biasAt] : 0;
        for (int j = 0; j < d; j++) {
            acc += (double) w[rowAt + j] * h[ho + j];
        }
        return acc;
    }

    /** Adds the gradient of the loss whose d/d(hidden) is in ws.dHid (and head outputs in ws.dHead) to g. */
    private void backward(float[] w, Encoded seq, int start, int length, float[] g, Workspace ws) {
        int d = p.d;
        int di = p.di;
        int ds = p.ds;
        int k = p.dConv;
        int f = p.fields;
        int outs = 2 * f + p.categories;
        int predicting = targets(seq, start, length);
        for (int t = 0; t < predicting; t++) {
            for (int r = 0; r < outs; r++) {
                float gr = ws.dHead[t * outs + r];
                if (r < 2 * f) {
                    g[p.gaussianBias + r] += gr;
                    VectorOps.axpy(gr, ws.hid, t * d, g, p.gaussianWeight + r * d, d);
                } else {
                    if (p.categoryBias >= 0) {
                        g[p.categoryBias + r - 2 * f] += gr;
                    }
                    VectorOps.axpy(gr, ws.hid, t * d, g, p.categoryWeight + (r - 2 * f) * d, d);
                }
            }
        }
        // Final norm: dRes = d(resF).
        normBackward(ws.resF, w, p.normF, length, ws.rstdF, ws.dHid, ws.dRes, g);
        for (int l = nLayer - 1; l >= 0; l--) {
            // dRes holds d(loss)/d(res[l+1]) = d/d(mix[l]) and the residual path to res[l].
            float[] dMix = ws.dRes;
            // out_proj: mix = Wout y.
            java.util.Arrays.fill(ws.dY, 0, length * di, 0f);
            linearBackward(dMix, d, ws.y[l], di, length, w, p.outProj[l], d, di, ws.dY, di, g);
            java.util.Arrays.fill(ws.dXz, 0, length * 2 * di, 0f);
            java.util.Arrays.fill(ws.dU, 0, length * di, 0f);
            java.util.Arrays.fill(ws.dDtp, 0, length * di, 0f);
            java.util.Arrays.fill(ws.dXdbl, 0, length * p.xps, 0f);
            java.util.Arrays.fill(ws.dh, 0f);
            float[] a = ws.a[l];
            float[] h = ws.h[l];
            float[] xd = ws.xdbl[l];
            float[] xz = ws.xz[l];
            float[] yss = ws.yss[l];
            float[] u = ws.u[l];
            float[] delta = ws.delta[l];
            float[] dtp = ws.dtp[l];
            float[] decays = ws.decay[l];
            float[] dY = ws.dY;
            float[] dXz = ws.dXz;
            float[] dU = ws.dU;
            float[] dDtp = ws.dDtp;
            float[] dXdbl = ws.dXdbl;
            float[] dh = ws.dh;
            int dSkip = p.dSkip[l];
            int aLog = p.aLog[l];
            int xps = p.xps;
            for (int t = length - 1; t >= 0; t--) {
                int xo = t * di;
                int bo = t * xps + p.dtRank;
                int co = bo + ds;
                for (int c = 0; c < di; c++) {
                    float z = xz[t * 2 * di + di + c];
                    float sig = 1f / (1f + CpuMath.exp(-z));
                    float dy = dY[xo + c];
                    float dys = dy * z * sig;
                    dXz[t * 2 * di + di + c] = dy * yss[xo + c] * sig * (1f + z * (1f - sig));
                    float uc = u[xo + c];
                    g[dSkip + c] += dys * uc;
                    float du = dys * w[dSkip + c];
                    float dt = delta[xo + c];
                    float deltaX = dt * uc;
                    float dDelta = 0f;
                    float dDeltaX = 0f;
                    int prev = t * di * ds + c * ds;
                    int cur = prev + di * ds;
                    int row = c * ds;
                    for (int n = 0; n < ds; n++) {
                        // h_t = h_{t-1} * decay + B * deltaX;  y = sum h_t C
                        float dhv = dh[row + n] + dys * xd[co + n];
                        dXdbl[co + n] += dys * h[cur + n];
                        float decay = decays[prev + n];
                        float dPre = dhv * h[prev + n] * decay; // d/d(dt * a)
                        float an = a[row + n];
                        dDelta += dPre * an;
                        g[aLog + row + n] += dPre * dt * an; // a = -exp(A_log): da/dA_log = a
                        dXdbl[bo + n] += dhv * deltaX;
                        dDeltaX += dhv * xd[bo + n];
                        dh[row + n] = dhv * decay;
                    }
                    dDelta += dDeltaX * uc;
                    du += dDeltaX * dt;
                    dU[xo + c] += du;
                    float pre = dtp[xo + c];
                    dDtp[xo + c] = pre > 20f ? dDelta : dDelta / (1f + CpuMath.exp(-pre));
                }
            }
            // dt_proj (no bias in the product; dt bias added before the softplus).
            for (int t = 0; t < length; t++) {
                for (int c = 0; c < di; c++) {
                    g[p.dtBias[l] + c] += ws.dDtp[t * di + c];
                }
            }
            linearBackward(ws.dDtp, di, ws.xdbl[l], p.xps, length, w, p.dtWeight[l], di, p.dtRank, ws.dXdbl, p.xps, g);
            // x_proj: xdbl = Wx u.
            linearBackward(ws.dXdbl, p.xps, ws.u[l], di, length, w, p.xProj[l], p.xps, di, ws.dU, di, g);
            // SiLU after the conv.
            for (int i = 0; i < length * di; i++) {
                float x = ws.cpre[l][i];
                float sig = 1f / (1f + CpuMath.exp(-x));
                ws.dCpre[i] = ws.dU[i] * sig * (1f + x * (1f - sig));
            }
            // Causal conv over the window: inputs before this stretch (the starting state) get no gradient.
            java.util.Arrays.fill(ws.dWindow, 0, (k - 1 + length) * di, 0f);
            float[] window = ws.window[l];
            for (int t = 0; t < length; t++) {
                for (int c = 0; c < di; c++) {
                    float dc = ws.dCpre[t * di + c];
                    g[p.convBias[l] + c] += dc;
                    for (int tap = 0; tap < k; tap++) {
                        g[p.convWeight[l] + c * k + tap] += dc * window[(t + tap) * di + c];
                        ws.dWindow[(t + tap) * di + c] += dc * w[p.convWeight[l] + c * k + tap];
                    }
                }
            }
            for (int t = 0; t < length; t++) {
                System.arraycopy(ws.dWindow, (k - 1 + t) * di, ws.dXz, t * 2 * di, di);
            }
            // in_proj: xz = Win nrm.
            java.util.Arrays.fill(ws.dNrm, 0, length * d, 0f);
            linearBackward(ws.dXz, 2 * di, ws.nrm[l], d, length, w, p.inProj[l], 2 * di, d, ws.dNrm, d, g);
            // Block norm; res[l] feeds both the norm and the residual, so dRes accumulates.
            normBackwardAccumulate(ws.res[l], w, p.norm[l], length, ws.rstd[l], ws.dNrm, ws.dRes, g);
        }
        // Encoder: input = Wenc z + benc + E[category].
        for (int t = 0; t < length; t++) {
            int o = t * d;
            if (p.encoderBias >= 0) {
                for (int j = 0; j < d; j++) {
                    g[p.encoderBias + j] += ws.dRes[o + j];
                }
            }
            for (int i = 0; i < f; i++) {
                float z = seq.z()[(start + t) * f + i];
                for (int j = 0; j < d; j++) {
                    g[p.encoderWeight + j * f + i] += ws.dRes[o + j] * z;
                }
            }
            if (p.categories > 0) {
                VectorOps.axpy(1f, ws.dRes, o, g, p.categoryEmbedding + seq.category()[start + t] * d, d);
            }
        }
    }

    /**
     * out[t][j] = sum_i in[t][i] * W[j][i] for t &lt; rows, j &lt; outDim: one fused multiply-add chain per
     * output over i in order from 0, exactly the engine's matrix product. Four outputs advance together
     * (independent chains, so the additions overlap) without changing any chain's order.
     */
    private static void matmul(float[] in, int ldIn, int rows, float[] w, int wOff, int outDim, int inDim,
                               float[] out, int ldOut, int outOff) {
        for (int t = 0; t < rows; t++) {
            int io = t * ldIn;
            int oo = outOff + t * ldOut;
            int j = 0;
            for (; j + 3 < outDim; j += 4) {
                int w0 = wOff + j * inDim;
                int w1 = w0 + inDim;
                int w2 = w1 + inDim;
                int w3 = w2 + inDim;
                float a0 = 0f;
                float a1 = 0f;
                float a2 = 0f;
                float a3 = 0f;
                for (int i = 0; i < inDim; i++) {
                    float x = in[io + i];
                    a0 = Math.fma(x, w[w0 + i], a0);
                    a1 = Math.fma(x, w[w1 + i], a1);
                    a2 = Math.fma(x, w[w2 + i], a2);
                    a3 = Math.fma(x, w[w3 + i], a3);
                }
                out[oo + j] = a0;
                out[oo + j + 1] = a1;
                out[oo + j + 2] = a2;
                out[oo + j + 3] = a3;
            }
            for (; j < outDim; j++) {
                int wo = wOff + j * inDim;
                float acc = 0f;
                for (int i = 0; i < inDim; i++) {
                    acc = Math.fma(in[io + i], w[wo + i], acc);
                }
                out[oo + j] = acc;
            }
        }
    }

    /**
     * For out = W in (per row t): adds dW += dOut^T in to g at wOff and dIn += W^T dOut (dIn rows of
     * stride ldDIn, the first inDim columns).
     */
    private static void linearBackward(float[] dOut, int ldDOut, float[] in, int ldIn, int rows, float[] w, int wOff,
                                       int outDim, int inDim, float[] dIn, int ldDIn, float[] g) {
        for (int t = 0; t < rows; t++) {
            for (int j = 0; j < outDim; j++) {
                float go = dOut[t * ldDOut + j];
                if (go == 0f) {
                    continue;
                }
                int wo = wOff + j * inDim;
                VectorOps.axpy(go, in, t * ldIn, g, wo, inDim);
                VectorOps.axpy(go, w, wo, dIn, t * ldDIn, inDim);
            }
        }
    }

    /** RMSNorm as the engine computes it: out = x * rstd * weight, rstd from a double sum of squares. */
    private void norm(float[] in, float[] w, int weightOff, int rows, float[] rstdOut, float[] out) {
        int d = p.d;
        float eps = p.config.normEps();
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            double sumSq = 0;
            for (int i = 0; i < d; i++) {
                double v = in[o + i];
                sumSq += v * v;
            }
            float rstd = (float) (1.0 / Math.sqrt(sumSq / d + eps));
            rstdOut[r] = rstd;
            for (int i = 0; i < d; i++) {
                out[o + i] = in[o + i] * rstd * w[weightOff + i];
            }
        }
    }

    /** dIn = RMSNorm backward of dOut (overwritten into dIn); weight gradient into g. */
    private void normBackward(float[] in, float[] w, int weightOff, int rows, float[] rstd, float[] dOut, float[] dIn,
                              float[] g) {
        java.util.Arrays.fill(dIn, 0, rows * p.d, 0f);
        normBackwardAccumulate(in, w, weightOff, rows, rstd, dOut, dIn, g);
    }

    /** dIn += RMSNorm backward of dOut; weight gradient into g. */
    private void normBackwardAccumulate(float[] in, float[] w, int weightOff, int rows, float[] rstd, float[] dOut,
                                        float[] dIn, float[] g) {
        int d = p.d;
        for (int r = 0; r < rows; r++) {
            int o = r * d;
            float s = rstd[r];
            double dot = 0;
            for (int i = 0; i < d; i++) {
                g[weightOff + i] += dOut[o + i] * in[o + i] * s;
                dot += (double) dOut[o + i] * w[weightOff + i] * in[o + i];
            }
            float coef = (float) (dot * s * s * s / d);
            for (int i = 0; i < d; i++) {
                dIn[o + i] += s * w[weightOff + i] * dOut[o + i] - in[o + i] * coef;
            }
        }
    }
}

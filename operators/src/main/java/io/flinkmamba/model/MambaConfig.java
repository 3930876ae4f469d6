package io.flinkmamba.model;

import io.flinkmamba.state.StateLayout;

/**
 * The architecture of a Mamba language or event model, as {@code mamba_ssm}'s {@code MambaConfig}
 * describes it (the Hugging Face {@code MambaConfig} and {@code Mamba2Config} map onto it, see
 * {@link ConfigParser}). Immutable; derived sizes are computed here so there is one definition of each.
 *
 * @param layer         Mamba-1 or Mamba-2 mixer
 * @param dModel        width of the residual stream
 * @param nLayer        number of blocks
 * @param vocabSize     rows of the embedding and LM head after padding; 0 for a model fed float vectors
 * @param dState        SSM state size N
 * @param dConv         causal depthwise conv width
 * @param expand        d_inner = expand * d_model
 * @param dtRank        Mamba-1 only: rank of the dt projection
 * @param headDim       Mamba-2 only: channels per head
 * @param nGroups       Mamba-2 only: groups sharing B and C
 * @param gatedRmsNorm  Mamba-2 only: RMSNorm of y * SiLU(z) per group (else plain gating)
 * @param normBeforeGate Mamba-2 only: normalize y before gating with SiLU(z)
 * @param dHasHdim      Mamba-2 only: D per channel (else per head)
 * @param rmsNorm       block and final norms are RMSNorm (else LayerNorm with bias)
 * @param normEps       epsilon of all norms
 * @param projBias      in_proj and out_proj have biases
 * @param convBias      conv1d has a bias
 * @param tieEmbeddings the LM head is the embedding matrix
 */
public record MambaConfig(
        LayerType layer,
        int dModel,
        int nLayer,
        int vocabSize,
        int dState,
        int dConv,
        int expand,
        int dtRank,
        int headDim,
        int nGroups,
        boolean gatedRmsNorm,
        boolean normBeforeGate,
        boolean dHasHdim,
        boolean rmsNorm,
        float normEps,
        boolean projBias,
        boolean convBias,
        boolean tieEmbeddings) {

    public enum LayerType { MAMBA1, MAMBA2 }

    public MambaConfig {
        require(dModel > 0, "d_model must be positive, got " + dModel);
        require(nLayer > 0, "n_layer must be positive, got " + nLayer);
        require(vocabSize >= 0, "vocab_size must not be negative, got " + vocabSize);
        require(dState > 0, "d_state must be positive, got " + dState);
        require(dConv >= 2, "d_conv must be at least 2, got " + dConv);
        require(expand > 0, "expand must be positive, got " + expand);
        require(normEps > 0, "norm epsilon must be positive, got " + normEps);
        if (layer == LayerType.MAMBA1) {
            require(dtRank > 0, "dt_rank must be positive, got " + dtRank);
        } else {
            require(headDim > 0, "headdim must be positive, got " + headDim);
            require(nGroups > 0, "ngroups must be positive, got " + nGroups);
            int dInner = expand * dModel;
            require(dInner % headDim == 0, "d_inner " + dInner + " (expand * d_model) is not a multiple of headdim " + headDim);
            require((dInner / headDim) % nGroups == 0,
                    "nheads " + (dInner / headDim) + " is not a multiple of ngroups " + nGroups);
        }
    }

    private static void require(boolean ok, String message) {
        if (!ok) {
            throw new IllegalArgumentException("invalid Mamba config: " + message);
        }
    }

    public int dInner() { return expand * dModel; }

    /** Mamba-2 heads; Mamba-1 has none. */
    public int nHeads() { return layer == LayerType.MAMBA2 ? dInner() / headDim : 0; }

    /** Channels that go through the conv: x for Mamba-1; x, B and C for Mamba-2. */
    public int convChannels() {
        return layer == LayerType.MAMBA1 ? dInner() : dInner() + 2 * nGroups * dState;
    }

    /** Output width of in_proj: x, z for Mamba-1; z, xBC, dt for Mamba-2. */
    public int inProjSize() {
        return layer == LayerType.MAMBA1 ? 2 * dInner() : dInner() + convChannels() + nHeads();
    }

    /** Mamba-1 only: output width of x_proj (dt, B, C). */
    public int xProjSize() { return dtRank + 2 * dState; }

    public boolean hasLmHead() { return vocabSize > 0; }

    public StateLayout stateLayout() {
        return new StateLayout(nLayer, dConv, convChannels(), dInner(), dState);
    }

    /** The model's floating point operations of one recurrent step for one key, for throughput figures. */
    public long flopsPerStep() {
        long di = dInner();
        long perLayer;
        if (layer == LayerType.MAMBA1) {
            perLayer = 2L * dModel * inProjSize() + 2L * di * xProjSize() + 2L * dtRank * di + 2L * di * dModel
                    + 2L * di * dConv + 5L * di * dState;
        } else {
            perLayer = 2L * dModel * inProjSize() + 2L * di * dModel + 2L * convChannels() * dConv + 5L * di * dState;
        }
        return nLayer * perLayer + (hasLmHead() ? 2L * dModel * vocabSize : 0);
    }
}

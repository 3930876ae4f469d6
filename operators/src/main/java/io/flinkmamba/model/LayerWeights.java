package io.flinkmamba.model;

/**
 * One block's parameters, in the reference's (PyTorch) layouts: a linear weight is (out, in) row-major.
 * Fields that a layer type or config does not have are null.
 *
 * @param norm           block norm weight (d_model)
 * @param normBias       block norm bias (d_model), LayerNorm only
 * @param inProj         (inProjSize, d_model)
 * @param inProjBias     (inProjSize) when projBias
 * @param conv           depthwise conv weight (convChannels, d_conv), newest tap last
 * @param convBias       (convChannels) when convBias
 * @param xProj          Mamba-1: (dt_rank + 2*d_state, d_inner)
 * @param dtProj         Mamba-1: (d_inner, dt_rank)
 * @param dtBias         Mamba-1: dt_proj.bias (d_inner); Mamba-2: dt_bias (nheads)
 * @param aLog           Mamba-1: (d_inner, d_state); Mamba-2: (nheads); A = -exp(A_log)
 * @param d              skip: Mamba-1 (d_inner); Mamba-2 (nheads) or (d_inner) when D_has_hdim
 * @param gatedNorm      Mamba-2 with gated RMSNorm: (d_inner)
 * @param outProj        (d_model, d_inner)
 * @param outProjBias    (d_model) when projBias
 */
public record LayerWeights(
        float[] norm,
        float[] normBias,
        float[] inProj,
        float[] inProjBias,
        float[] conv,
        float[] convBias,
        float[] xProj,
        float[] dtProj,
        float[] dtBias,
        float[] aLog,
        float[] d,
        float[] gatedNorm,
        float[] outProj,
        float[] outProjBias) {
}

package io.flinkmamba.model;

import java.util.List;

/**
 * A loaded Mamba model: its config and float32 weights in the reference's layouts.
 *
 * @param config     the architecture
 * @param embedding  (vocab, d_model), or null for a model fed float vectors
 * @param layers     one entry per block
 * @param normF      final norm weight (d_model)
 * @param normFBias  final norm bias, LayerNorm only
 * @param lmHead     (vocab, d_model); the same array as the embedding when tied; null without a vocabulary
 */
public record MambaModel(
        MambaConfig config,
        float[] embedding,
        List<LayerWeights> layers,
        float[] normF,
        float[] normFBias,
        float[] lmHead) {

    public MambaModel {
        layers = List.copyOf(layers);
        if (layers.size() != config.nLayer()) {
            throw new IllegalArgumentException("model has " + layers.size() + " layers, config says " + config.nLayer());
        }
    }
}

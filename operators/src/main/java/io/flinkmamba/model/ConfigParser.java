package io.flinkmamba.model;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.model.MambaConfig.LayerType;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads {@code config.json} in either ecosystem form, with the defaults each reference defines:
 * <ul>
 *   <li>{@code mamba_ssm}'s {@code MambaConfig} (d_model, n_layer, vocab_size, ssm_cfg, rms_norm, ...),
 *       recognized by {@code d_model};</li>
 *   <li>Hugging Face {@code transformers}' {@code MambaConfig} ({@code model_type} "mamba") and
 *       {@code Mamba2Config} ("mamba2"), recognized by {@code hidden_size}.</li>
 * </ul>
 * Settings that only matter for training (dt_min, initializers, chunk_size, ...) are ignored.
 */
public final class ConfigParser {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ConfigParser() {}

    public static MambaConfig read(Path configJson) throws ModelFormatException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(configJson));
        } catch (IOException e) {
            throw new ModelFormatException(configJson + ": cannot read config: " + e.getMessage(), e);
        }
        try {
            return parse(root);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(configJson + ": " + e.getMessage(), e);
        }
    }

    /** Parses a config tree; bad or unsupported settings throw IllegalArgumentException naming them. */
    public static MambaConfig parse(JsonNode root) {
        if (root == null || !root.isObject()) {
            throw new IllegalArgumentException("config must be a JSON object");
        }
        if (root.has("d_model")) {
            return parseMambaSsm(root);
        }
        if (root.has("hidden_size")) {
            return parseTransformers(root);
        }
        throw new IllegalArgumentException(
                "not a Mamba config: expected d_model (mamba_ssm) or hidden_size (transformers)");
    }

    private static MambaConfig parseMambaSsm(JsonNode root) {
        int dModel = intField(root, "d_model", -1);
        int nLayer = intField(root, "n_layer", 64);
        if (intField(root, "d_intermediate", 0) != 0) {
            throw new IllegalArgumentException("d_intermediate > 0 (MLP blocks) is not supported");
        }
        JsonNode attn = root.get("attn_layer_idx");
        if (attn != null && attn.isArray() && attn.size() > 0) {
            throw new IllegalArgumentException("attn_layer_idx (attention blocks) is not supported");
        }
        int vocab = intField(root, "vocab_size", 50277);
        int pad = intField(root, "pad_vocab_size_multiple", 8);
        if (pad < 1) {
            throw new IllegalArgumentException("pad_vocab_size_multiple must be positive, got " + pad);
        }
        if (vocab % pad != 0) {
            vocab += pad - vocab % pad;
        }
        boolean rmsNorm = boolField(root, "rms_norm", true);
        boolean tie = boolField(root, "tie_embeddings", true);
        JsonNode ssm = root.path("ssm_cfg");
        if (!ssm.isMissingNode() && !ssm.isObject()) {
            throw new IllegalArgumentException("ssm_cfg must be an object");
        }
        String layerName = ssm.path("layer").asText("Mamba1");
        float eps = 1e-5f;
        switch (layerName) {
            case "Mamba1": {
                int dState = intField(ssm, "d_state", 16);
                int dConv = intField(ssm, "d_conv", 4);
                int expand = intField(ssm, "expand", 2);
                int dtRank = rankField(ssm, "dt_rank", dModel);
                return new MambaConfig(LayerType.MAMBA1, dModel, nLayer, vocab, dState, dConv, expand, dtRank,
                        0, 0, false, false, false, rmsNorm, eps,
                        boolField(ssm, "bias", false), boolField(ssm, "conv_bias", true), tie);
            }
            case "Mamba2": {
                int expand = intField(ssm, "expand", 2);
                JsonNode dSsm = ssm.get("d_ssm");
                if (dSsm != null && !dSsm.isNull() && dSsm.asInt() != expand * dModel) {
                    throw new IllegalArgumentException("ssm_cfg.d_ssm != expand * d_model (gated MLP inside the mixer) "
                            + "is not supported");
                }
                return new MambaConfig(LayerType.MAMBA2, dModel, nLayer, vocab, intField(ssm, "d_state", 128),
                        intField(ssm, "d_conv", 4), expand, 0, intField(ssm, "headdim", 64),
                        intField(ssm, "ngroups", 1), boolField(ssm, "rmsnorm", true),
                        boolField(ssm, "norm_before_gate", false), boolField(ssm, "D_has_hdim", false), rmsNorm, eps,
                        boolField(ssm, "bias", false), boolField(ssm, "conv_bias", true), tie);
            }
            default:
                throw new IllegalArgumentException("ssm_cfg.layer '" + layerName + "' is not supported (Mamba1 or Mamba2)");
        }
    }

    private static MambaConfig parseTransformers(JsonNode root) {
        String type = root.path("model_type").asText("mamba");
        int dModel = intField(root, "hidden_size", -1);
        int nLayer = intField(root, "num_hidden_layers", -1);
        float eps = (float) doubleField(root, "layer_norm_epsilon", 1e-5);
        int expand = intField(root, "expand", 2);
        int dConv = intField(root, "conv_kernel", 4);
        boolean projBias = boolField(root, "use_bias", false);
        boolean convBias = boolField(root, "use_conv_bias", true);
        switch (type) {
            case "mamba": {
                int dInner = intField(root, "intermediate_size", expand * dModel);
                if (dInner != expand * dModel) {
                    throw new IllegalArgumentException("intermediate_size " + dInner + " != expand * hidden_size");
                }
                return new MambaConfig(LayerType.MAMBA1, dModel, nLayer, intField(root, "vocab_size", 50280),
                        intField(root, "state_size", 16), dConv, expand, rankField(root, "time_step_rank", dModel),
                        0, 0, false, false, false, true, eps, projBias, convBias,
                        boolField(root, "tie_word_embeddings", true));
            }
            case "mamba2": {
                int headDim = intField(root, "head_dim", 64);
                int nHeads = intField(root, "num_heads", expand * dModel / headDim);
                if (nHeads * headDim != expand * dModel) {
                    throw new IllegalArgumentException("num_heads * head_dim (" + nHeads + " * " + headDim
                            + ") != expand * hidden_size (" + expand * dModel + ")");
                }
                return new MambaConfig(LayerType.MAMBA2, dModel, nLayer, intField(root, "vocab_size", 32768),
                        intField(root, "state_size", 128), dConv, expand, 0, headDim, intField(root, "n_groups", 8),
                        boolField(root, "rms_norm", true), boolField(root, "norm_before_gate", false), false, true, eps,
                        projBias, convBias,
                        boolField(root, "tie_word_embeddings", false));
            }
            default:
                throw new IllegalArgumentException("model_type '" + type + "' is not supported (mamba or mamba2)");
        }
    }

    private static int intField(JsonNode node, String name, int defaultValue) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            if (defaultValue < 0) {
                throw new IllegalArgumentException("missing required field '" + name + "'");
            }
            return defaultValue;
        }
        if (!v.canConvertToExactIntegral() || !v.canConvertToInt()) {
            throw new IllegalArgumentException("field '" + name + "' must be an integer, got " + v);
        }
        return v.asInt();
    }

    private static double doubleField(JsonNode node, String name, double defaultValue) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (!v.isNumber()) {
            throw new IllegalArgumentException("field '" + name + "' must be a number, got " + v);
        }
        return v.asDouble();
    }

    private static boolean boolField(JsonNode node, String name, boolean defaultValue) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull()) {
            return defaultValue;
        }
        if (!v.isBoolean()) {
            throw new IllegalArgumentException("field '" + name + "' must be true or false, got " + v);
        }
        return v.asBoolean();
    }

    /** dt_rank / time_step_rank: an integer or "auto" = ceil(d_model / 16). */
    private static int rankField(JsonNode node, String name, int dModel) {
        JsonNode v = node.get(name);
        if (v == null || v.isNull() || (v.isTextual() && v.asText().equals("auto"))) {
            return (dModel + 15) / 16;
        }
        return intField(node, name, -1);
    }
}

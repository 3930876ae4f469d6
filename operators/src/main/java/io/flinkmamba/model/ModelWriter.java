package io.flinkmamba.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.safetensors.DType;
import io.flinkmamba.safetensors.SafetensorsWriter;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.function.Consumer;

/**
 * Writes a model folder in the {@code mamba_ssm} form ({@code config.json} and {@code model.safetensors}
 * under the official names) that {@link ModelLoader} and the official implementation both read.
 */
public final class ModelWriter {
    private static final ObjectMapper JSON = new ObjectMapper();

    private ModelWriter() {}

    public static void write(MambaModel model, Path dir, DType dtype) throws IOException {
        write(model, dir, dtype, out -> { });
    }

    /**
     * As {@link #write(MambaModel, Path, DType)}, adding the tensors {@code extraTensors} puts into the same
     * {@code model.safetensors} (an event model's encoder and heads, under non-official names).
     */
    public static void write(MambaModel model, Path dir, DType dtype, Consumer<SafetensorsWriter> extraTensors)
            throws IOException {
        MambaConfig c = model.config();
        if (c.normEps() != 1e-5f) {
            throw new IllegalArgumentException("the mamba_ssm config form fixes the norm epsilon at 1e-5, model has "
                    + c.normEps());
        }
        Files.createDirectories(dir);
        JSON.writerWithDefaultPrettyPrinter().writeValue(dir.resolve("config.json").toFile(), configJson(c));

        SafetensorsWriter out = new SafetensorsWriter().metadata("format", "pt");
        int d = c.dModel();
        int di = c.dInner();
        if (c.hasLmHead()) {
            out.add("backbone.embedding.weight", dtype, model.embedding(), c.vocabSize(), d);
            if (model.lmHead() != model.embedding()) {
                out.add("lm_head.weight", dtype, model.lmHead(), c.vocabSize(), d);
            }
        }
        for (int l = 0; l < c.nLayer(); l++) {
            LayerWeights w = model.layers().get(l);
            String p = "backbone.layers." + l + ".";
            String m = p + "mixer.";
            out.add(p + "norm.weight", dtype, w.norm(), d);
            if (w.normBias() != null) {
                out.add(p + "norm.bias", dtype, w.normBias(), d);
            }
            out.add(m + "in_proj.weight", dtype, w.inProj(), c.inProjSize(), d);
            if (w.inProjBias() != null) {
                out.add(m + "in_proj.bias", dtype, w.inProjBias(), c.inProjSize());
            }
            out.add(m + "conv1d.weight", dtype, w.conv(), c.convChannels(), 1, c.dConv());
            if (w.convBias() != null) {
                out.add(m + "conv1d.bias", dtype, w.convBias(), c.convChannels());
            }
            if (c.layer() == LayerType.MAMBA1) {
                out.add(m + "x_proj.weight", dtype, w.xProj(), c.xProjSize(), di);
                out.add(m + "dt_proj.weight", dtype, w.dtProj(), di, c.dtRank());
                out.add(m + "dt_proj.bias", dtype, w.dtBias(), di);
                out.add(m + "A_log", dtype, w.aLog(), di, c.dState());
            } else {
                out.add(m + "dt_bias", dtype, w.dtBias(), c.nHeads());
                out.add(m + "A_log", dtype, w.aLog(), c.nHeads());
                if (w.gatedNorm() != null) {
                    out.add(m + "norm.weight", dtype, w.gatedNorm(), di);
                }
            }
            out.add(m + "D", dtype, w.d(), w.d().length);
            out.add(m + "out_proj.weight", dtype, w.outProj(), d, di);
            if (w.outProjBias() != null) {
                out.add(m + "out_proj.bias", dtype, w.outProjBias(), d);
            }
        }
        out.add("backbone.norm_f.weight", dtype, model.normF(), d);
        if (model.normFBias() != null) {
            out.add("backbone.norm_f.bias", dtype, model.normFBias(), d);
        }
        extraTensors.accept(out);
        out.write(dir.resolve("model.safetensors"));
    }

    static ObjectNode configJson(MambaConfig c) {
        ObjectNode root = JSON.createObjectNode();
        root.put("d_model", c.dModel());
        root.put("d_intermediate", 0);
        root.put("n_layer", c.nLayer());
        root.put("vocab_size", c.vocabSize());
        ObjectNode ssm = root.putObject("ssm_cfg");
        ssm.put("layer", c.layer() == LayerType.MAMBA1 ? "Mamba1" : "Mamba2");
        ssm.put("d_state", c.dState());
        ssm.put("d_conv", c.dConv());
        ssm.put("expand", c.expand());
        if (c.layer() == LayerType.MAMBA1) {
            ssm.put("dt_rank", c.dtRank());
        } else {
            ssm.put("headdim", c.headDim());
            ssm.put("ngroups", c.nGroups());
            ssm.put("rmsnorm", c.gatedRmsNorm());
            ssm.put("norm_before_gate", c.normBeforeGate());
            ssm.put("D_has_hdim", c.dHasHdim());
        }
        ssm.put("bias", c.projBias());
        ssm.put("conv_bias", c.convBias());
        root.put("rms_norm", c.rmsNorm());
        root.put("residual_in_fp32", true);
        root.put("fused_add_norm", false);
        root.put("pad_vocab_size_multiple", 1);
        root.put("tie_embeddings", c.tieEmbeddings());
        return root;
    }
}

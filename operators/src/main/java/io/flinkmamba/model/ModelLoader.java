package io.flinkmamba.model;

import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.safetensors.Safetensors;
import io.flinkmamba.safetensors.SafetensorsException;
import io.flinkmamba.safetensors.TensorInfo;
import io.flinkmamba.safetensors.TensorSource;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * Loads a model folder: {@code config.json} plus {@code model.safetensors} or a sharded
 * {@code model.safetensors.index.json}, under the {@code mamba_ssm} names
 * ({@code backbone.embedding.weight}) or the Hugging Face names ({@code backbone.embeddings.weight}).
 * Every tensor the config implies must be present with its exact shape and every tensor present must be
 * used; F32, F16 and BF16 are accepted and held as float32. The LM head is tied to the embedding when
 * {@code lm_head.weight} is absent.
 */
public final class ModelLoader {
    private ModelLoader() {}

    public static MambaModel load(Path dir) throws ModelFormatException {
        return load(dir, Set.of());
    }

    /**
     * Loads the model and tolerates the tensors in {@code otherTensors} (which a caller reads itself, such as
     * an event model's encoder and heads that {@code flink-mamba.json} declares); any other tensor not used
     * by the backbone is still an error.
     */
    public static MambaModel load(Path dir, Set<String> otherTensors) throws ModelFormatException {
        if (!Files.isDirectory(dir)) {
            throw new ModelFormatException(dir + ": not a model folder (expected config.json and model.safetensors)");
        }
        MambaConfig config = ConfigParser.read(dir.resolve("config.json"));
        try (TensorSource tensors = Safetensors.openCheckpoint(dir)) {
            return fromTensors(config, tensors, otherTensors);
        } catch (SafetensorsException e) {
            throw new ModelFormatException(e.getMessage(), e);
        }
    }

    /** Builds a model from tensors already open; names, shapes and completeness are checked. */
    public static MambaModel fromTensors(MambaConfig config, TensorSource tensors) throws ModelFormatException {
        return fromTensors(config, tensors, Set.of());
    }

    /** As {@link #fromTensors(MambaConfig, TensorSource)}, tolerating {@code otherTensors}. */
    public static MambaModel fromTensors(MambaConfig config, TensorSource tensors, Set<String> otherTensors)
            throws ModelFormatException {
        try {
            return new Reader(config, tensors, otherTensors).read();
        } catch (SafetensorsException e) {
            throw new ModelFormatException(e.getMessage(), e);
        }
    }

    private static final class Reader {
        private final MambaConfig c;
        private final TensorSource tensors;
        private final Set<String> unused;

        Reader(MambaConfig config, TensorSource tensors, Set<String> otherTensors) {
            this.c = config;
            this.tensors = tensors;
            this.unused = new TreeSet<>(tensors.names());
            this.unused.removeAll(otherTensors);
        }

        MambaModel read() throws ModelFormatException, SafetensorsException {
            int d = c.dModel();
            float[] embedding = null;
            float[] lmHead = null;
            if (c.hasLmHead()) {
                String embeddingName = tensors.contains("backbone.embeddings.weight")
                        ? "backbone.embeddings.weight" : "backbone.embedding.weight";
                embedding = take(embeddingName, c.vocabSize(), d);
                lmHead = tensors.contains("lm_head.weight") ? take("lm_head.weight", c.vocabSize(), d) : embedding;
            }
            List<LayerWeights> layers = new ArrayList<>();
            for (int i = 0; i < c.nLayer(); i++) {
                layers.add(layer("backbone.layers." + i + "."));
            }
            float[] normF = take("backbone.norm_f.weight", d);
            float[] normFBias = c.rmsNorm() ? null : take("backbone.norm_f.bias", d);
            if (!unused.isEmpty()) {
                throw new ModelFormatException(tensors.path() + ": unexpected tensor(s) for this config: " + unused
                        + (unused.stream().anyMatch(n -> n.startsWith("event.")) ? " (an event model's tensors are "
                        + "accepted only where its flink-mamba.json declares them)" : ""));
            }
            return new MambaModel(c, embedding, layers, normF, normFBias, lmHead);
        }

        private LayerWeights layer(String p) throws ModelFormatException, SafetensorsException {
            int d = c.dModel();
            int di = c.dInner();
            String m = p + "mixer.";
            float[] norm = take(p + "norm.weight", d);
            float[] normBias = c.rmsNorm() ? null : take(p + "norm.bias", d);
            float[] inProj = take(m + "in_proj.weight", c.inProjSize(), d);
            float[] inProjBias = c.projBias() ? take(m + "in_proj.bias", c.inProjSize()) : null;
            float[] conv = take(m + "conv1d.weight", c.convChannels(), 1, c.dConv());
            float[] convBias = c.convBias() ? take(m + "conv1d.bias", c.convChannels()) : null;
            float[] outProj = take(m + "out_proj.weight", d, di);
            float[] outProjBias = c.projBias() ? take(m + "out_proj.bias", d) : null;
            if (c.layer() == LayerType.MAMBA1) {
                return new LayerWeights(norm, normBias, inProj, inProjBias, conv, convBias,
                        take(m + "x_proj.weight", c.xProjSize(), di),
                        take(m + "dt_proj.weight", di, c.dtRank()),
                        take(m + "dt_proj.bias", di),
                        take(m + "A_log", di, c.dState()),
                        take(m + "D", di),
                        null, outProj, outProjBias);
            }
            int nh = c.nHeads();
            return new LayerWeights(norm, normBias, inProj, inProjBias, conv, convBias, null, null,
                    take(m + "dt_bias", nh),
                    take(m + "A_log", nh),
                    take(m + "D", c.dHasHdim() ? di : nh),
                    c.gatedRmsNorm() ? take(m + "norm.weight", di) : null,
                    outProj, outProjBias);
        }

        private float[] take(String name, long... shape) throws ModelFormatException, SafetensorsException {
            unused.remove(name);
            return checkedTensor(tensors, name, "the config implies", shape);
        }
    }

    /**
     * Tensor {@code name} as float32, checked: present, of {@code shape} (which, in the error message,
     * {@code impliedBy}: "the config implies"), and every value finite.
     */
    public static float[] checkedTensor(TensorSource tensors, String name, String impliedBy, long... shape)
            throws ModelFormatException, SafetensorsException {
        if (!tensors.contains(name)) {
            throw new ModelFormatException(tensors.path() + ": missing tensor " + name + " (expected shape "
                    + Arrays.toString(shape) + ")");
        }
        TensorInfo info = tensors.info(name);
        if (!Arrays.equals(info.shape(), shape)) {
            throw new ModelFormatException(tensors.path() + ": tensor " + name + " has shape " + info.shapeString()
                    + " but " + impliedBy + " " + Arrays.toString(shape));
        }
        float[] values = tensors.readFloats(name);
        for (int i = 0; i < values.length; i++) {
            if (!Float.isFinite(values[i])) {
                throw new ModelFormatException(tensors.path() + ": tensor " + name + " holds " + values[i]
                        + " at flat index " + i);
            }
        }
        return values;
    }
}

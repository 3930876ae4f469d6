package io.flinkmamba.train;

import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.event.InputTransform;
import io.flinkmamba.model.LayerWeights;
import io.flinkmamba.model.MambaConfig;
import io.flinkmamba.model.MambaConfig.LayerType;
import io.flinkmamba.model.MambaModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Every trainable tensor of an event model as one segment of a flat float array, so that the optimizer,
 * gradient buffers and clipping work on plain arrays. Mamba-1 backbones with RMSNorm, a conv bias and no
 * projection biases (the form {@link io.flinkmamba.event.EventModels} creates) only.
 *
 * <p>A token language model (a config with a vocabulary) is the special case of a categorical field only
 * (the padded vocabulary), no encoder bias, the input the embedding row ({@code backbone.embedding.weight})
 * and the head the tied embedding without a bias: the category embedding and the category head are one
 * segment, so both gradients add into it.
 */
final class ParameterLayout {

    /** A named tensor at {@code offset}, {@code size} floats; {@code decay}: AdamW weight decay applies. */
    record Segment(String name, int offset, int size, boolean decay) {}

    final EventSchema schema;
    final MambaConfig config;
    final int d;
    final int di;
    final int ds;
    final int dtRank;
    final int dConv;
    final int xps;
    final int fields;
    final int categories;
    final int encoderWeight;
    final int encoderBias;
    final int categoryEmbedding;
    final int[] norm;
    final int[] inProj;
    final int[] convWeight;
    final int[] convBias;
    final int[] xProj;
    final int[] dtWeight;
    final int[] dtBias;
    final int[] aLog;
    final int[] dSkip;
    final int[] outProj;
    final int normF;
    final int gaussianWeight;
    final int gaussianBias;
    final int categoryWeight;
    final int categoryBias;
    final int size;
    final boolean tokens;
    final List<Segment> segments = new ArrayList<>();
    private int next;

    ParameterLayout(EventSchema schema, MambaConfig c) {
        if (c.layer() != LayerType.MAMBA1 || !c.rmsNorm() || c.projBias() || !c.convBias()) {
            throw new IllegalArgumentException("the trainer handles Mamba-1 backbones with RMSNorm, a conv"
                    + " bias and no projection biases; got " + c);
        }
        this.tokens = c.hasLmHead();
        if (tokens && (!c.tieEmbeddings() || schema.numericCount() > 0 || schema.categoryCount() != c.vocabSize())) {
            throw new IllegalArgumentException("a token language model has tied embeddings and one categorical field of"
                    + " vocab_size " + c.vocabSize() + " categories; got " + schema + " for " + c);
        }
        this.schema = schema;
        this.config = c;
        this.d = c.dModel();
        this.di = c.dInner();
        this.ds = c.dState();
        this.dtRank = c.dtRank();
        this.dConv = c.dConv();
        this.xps = c.xProjSize();
        this.fields = schema.numericCount();
        this.categories = schema.categoryCount();
        encoderWeight = fields > 0 ? add("event.encoder.weight", d * fields, true) : -1;
        encoderBias = tokens ? -1 : add("event.encoder.bias", d, false);
        categoryEmbedding = tokens ? add("backbone.embedding.weight", categories * d, false)
                : categories > 0 ? add("event.category_embedding.weight", categories * d, false) : -1;
        int n = c.nLayer();
        norm = new int[n];
        inProj = new int[n];
        convWeight = new int[n];
        convBias = new int[n];
        xProj = new int[n];
        dtWeight = new int[n];
        dtBias = new int[n];
        aLog = new int[n];
        dSkip = new int[n];
        outProj = new int[n];
        for (int l = 0; l < n; l++) {
            String p = "backbone.layers." + l + ".";
            String m = p + "mixer.";
            norm[l] = add(p + "norm.weight", d, false);
            inProj[l] = add(m + "in_proj.weight", 2 * di * d, true);
            convWeight[l] = add(m + "conv1d.weight", di * dConv, true);
            convBias[l] = add(m + "conv1d.bias", di, false);
            xProj[l] = add(m + "x_proj.weight", xps * di, true);
            dtWeight[l] = add(m + "dt_proj.weight", di * dtRank, true);
            dtBias[l] = add(m + "dt_proj.bias", di, false);
            aLog[l] = add(m + "A_log", di * ds, false);
            dSkip[l] = add(m + "D", di, false);
            outProj[l] = add(m + "out_proj.weight", d * di, true);
        }
        normF = add("backbone.norm_f.weight", d, false);
        gaussianWeight = fields > 0 ? add("event.gaussian_head.weight", 2 * fields * d, true) : -1;
        gaussianBias = fields > 0 ? add("event.gaussian_head.bias", 2 * fields, false) : -1;
        categoryWeight = tokens ? categoryEmbedding
                : categories > 0 ? add("event.category_head.weight", categories * d, true) : -1;
        categoryBias = tokens || categories == 0 ? -1 : add("event.category_head.bias", categories, false);
        this.size = next;
    }

    private int add(String name, int n, boolean decay) {
        int offset = next;
        segments.add(new Segment(name, offset, n, decay));
        next += n;
        return offset;
    }

    /** The model's parameters as one flat array. */
    float[] flatten(EventModel model) {
        float[] p = new float[size];
        put(p, encoderWeight, model.encoderWeight());
        put(p, encoderBias, model.encoderBias());
        put(p, categoryEmbedding, model.categoryEmbedding());
        putBackbone(p, model.backbone());
        put(p, gaussianWeight, model.gaussianWeight());
        put(p, gaussianBias, model.gaussianBias());
        put(p, categoryWeight, model.categoryWeight());
        put(p, categoryBias, model.categoryBias());
        return p;
    }

    /** A token language model's parameters as one flat array. */
    float[] flatten(MambaModel languageModel) {
        float[] p = new float[size];
        put(p, categoryEmbedding, languageModel.embedding());
        putBackbone(p, languageModel);
        return p;
    }

    private void putBackbone(float[] p, MambaModel b) {
        for (int l = 0; l < config.nLayer(); l++) {
            LayerWeights w = b.layers().get(l);
            put(p, norm[l], w.norm());
            put(p, inProj[l], w.inProj());
            put(p, convWeight[l], w.conv());
            put(p, convBias[l], w.convBias());
            put(p, xProj[l], w.xProj());
            put(p, dtWeight[l], w.dtProj());
            put(p, dtBias[l], w.dtBias());
            put(p, aLog[l], w.aLog());
            put(p, dSkip[l], w.d());
            put(p, outProj[l], w.outProj());
        }
        put(p, normF, b.normF());
    }

    /** An event model holding copies of {@code p}, with the given normalization and input transform. */
    EventModel model(float[] p, float[] mean, float[] std, InputTransform inputTransform) {
        MambaModel backbone = new MambaModel(config, null, layers(p), get(p, normF, d), null, null);
        return new EventModel(schema, mean.clone(), std.clone(), backbone,
                get(p, encoderWeight, d * fields), get(p, encoderBias, d), get(p, categoryEmbedding, categories * d),
                get(p, gaussianWeight, 2 * fields * d), get(p, gaussianBias, 2 * fields),
                get(p, categoryWeight, categories * d), get(p, categoryBias, categories), inputTransform);
    }

    /** A token language model holding copies of {@code p}, its LM head the embedding (tied). */
    MambaModel languageModel(float[] p) {
        float[] embedding = get(p, categoryEmbedding, categories * d);
        return new MambaModel(config, embedding, layers(p), get(p, normF, d), null, embedding);
    }

    private List<LayerWeights> layers(float[] p) {
        List<LayerWeights> layers = new ArrayList<>();
        for (int l = 0; l < config.nLayer(); l++) {
            layers.add(new LayerWeights(get(p, norm[l], d), null, get(p, inProj[l], 2 * di * d), null,
                    get(p, convWeight[l], di * dConv), get(p, convBias[l], di), get(p, xProj[l], xps * di),
                    get(p, dtWeight[l], di * dtRank), get(p, dtBias[l], di), get(p, aLog[l], di * ds),
                    get(p, dSkip[l], di), null, get(p, outProj[l], d * di), null));
        }
        return layers;
    }

    private static void put(float[] p, int offset, float[] values) {
        if (offset >= 0) {
            System.arraycopy(values, 0, p, offset, values.length);
        }
    }

    private static float[] get(float[] p, int offset, int n) {
        return offset < 0 ? null : Arrays.copyOfRange(p, offset, offset + n);
    }
}

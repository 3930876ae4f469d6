package io.flinkmamba.nab;

import io.flinkmamba.event.SeriesFeatures;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.train.EventTrainer;
import io.flinkmamba.train.TrainingListener;
import io.flinkmamba.train.TrainingOptions;
import io.flinkmamba.train.TrainingResult;
import io.flinkmamba.train.TrainingSequence;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * K-fold training by series: series i belongs to fold {@code i % k} (corpus order, so every fold mixes the
 * corpus's categories), and fold f's model trains on the series of the other folds only, so no model has
 * seen the series it scores. The model learns to predict a series' next {@link SeriesFeatures} value.
 */
public final class NabTraining {
    /** The event model's one numeric field: the standardized value. */
    public static final EventSchema SCHEMA = new EventSchema(List.of("normalized"), null, List.of());

    private NabTraining() {}

    public static int[] folds(int series, int k) {
        if (k < 2 || k > series) {
            throw new IllegalArgumentException("folds must be between 2 and the number of series (" + series
                    + "), got " + k);
        }
        int[] folds = new int[series];
        for (int i = 0; i < series; i++) {
            folds[i] = i % k;
        }
        return folds;
    }

    /** The training sequences of fold {@code fold}'s model: the other folds' series, at most maxRows each. */
    public static List<TrainingSequence> sequences(NabCorpus corpus, int[] folds, int fold, int maxRows) {
        List<TrainingSequence> out = new ArrayList<>();
        List<Series> series = corpus.series();
        for (int i = 0; i < series.size(); i++) {
            if (folds[i] == fold) {
                continue;
            }
            float[] normalized = SeriesFeatures.normalized(series.get(i).values());
            int n = Math.min(normalized.length, maxRows);
            float[][] numeric = new float[n][];
            for (int t = 0; t < n; t++) {
                numeric[t] = new float[] {normalized[t]};
            }
            out.add(new TrainingSequence(series.get(i).name(), numeric, null));
        }
        return out;
    }

    public static TrainingResult train(NabCorpus corpus, int[] folds, int fold, int maxRows, TrainingOptions options,
                                       Path outDir, TrainingListener listener) throws IOException {
        return EventTrainer.train(SCHEMA, sequences(corpus, folds, fold, maxRows), options, outDir, listener);
    }
}

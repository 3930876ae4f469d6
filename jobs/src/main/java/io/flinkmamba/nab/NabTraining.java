package io.flinkmamba.nab;

import io.flinkmamba.event.EventSchema;
import io.flinkmamba.event.InputTransform;
import io.flinkmamba.event.SeriesFeatures;
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
    /** The event model's one numeric field: the value, standardized before the model sees it ({@link #TRANSFORM}). */
    public static final EventSchema SCHEMA = new EventSchema(List.of("normalized"), null, List.of());
    /** What the job does to a value before the model: {@link SeriesFeatures}' running standardization. */
    public static final InputTransform TRANSFORM = InputTransform.RUNNING_STANDARDIZED;

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

    /**
     * The training sequences of fold {@code fold}'s model: the other folds' series, at most maxRows raw values
     * each (the trainer standardizes them, {@link #TRANSFORM}).
     */
    public static List<TrainingSequence> sequences(NabCorpus corpus, int[] folds, int fold, int maxRows) {
        List<TrainingSequence> out = new ArrayList<>();
        List<Series> series = corpus.series();
        for (int i = 0; i < series.size(); i++) {
            if (folds[i] == fold) {
                continue;
            }
            double[] values = series.get(i).values();
            int n = Math.min(values.length, maxRows);
            double[][] numeric = new double[n][];
            for (int t = 0; t < n; t++) {
                numeric[t] = new double[] {values[t]};
            }
            out.add(new TrainingSequence(series.get(i).name(), numeric, null));
        }
        return out;
    }

    public static TrainingResult train(NabCorpus corpus, int[] folds, int fold, int maxRows, TrainingOptions options,
                                       Path outDir, TrainingListener listener) throws IOException {
        return EventTrainer.train(SCHEMA, sequences(corpus, folds, fold, maxRows), options.withInputTransform(TRANSFORM),
                outDir, listener);
    }
}

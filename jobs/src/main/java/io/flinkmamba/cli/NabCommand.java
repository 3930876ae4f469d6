package io.flinkmamba.cli;

import io.flinkmamba.event.DefaultEventModel;
import io.flinkmamba.jobs.anomaly.AnomalyResult;
import io.flinkmamba.jobs.anomaly.DetectorOptions;
import io.flinkmamba.nab.NabBenchmark;
import io.flinkmamba.nab.NabCorpus;
import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.nab.NabJob;
import io.flinkmamba.nab.NabResults;
import io.flinkmamba.nab.NabResultsScoring;
import io.flinkmamba.nab.NabTraining;
import io.flinkmamba.nab.Profile;
import io.flinkmamba.train.TrainingOptions;
import io.flinkmamba.train.TrainingResult;
import io.flinkmamba.operator.MambaOptions;
import org.apache.flink.configuration.Configuration;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code nab --nab-dir DIR}: the Numenta Anomaly Benchmark with a Mamba event model in the Flink operator.
 * Trains one model per fold (k-fold by series, no model sees the series it scores), runs every series as
 * one key through the operator on a local MiniCluster in event-time order, writes NAB results files and
 * scores them with NAB's scoring ({@link NabBenchmark}).
 */
@Command(name = "nab",
        mixinStandardHelpOptions = true,
        description = "Runs the Numenta Anomaly Benchmark: k-fold by series, one event model per fold trained on"
                + " the other folds' series, every series one key through the Mamba operator on a local Flink"
                + " MiniCluster in event-time order; writes NAB results files, scores them with NAB's three"
                + " profiles (threshold optimized over the corpus, normalized against the null and perfect"
                + " detectors) and prints as the last line"
                + " `nab standard=<s> reward_low_FP_rate=<s> reward_low_FN_rate=<s>`.")
final class NabCommand implements Callable<Integer> {
    static final String DETECTOR = "flinkMamba";

    @Option(names = "--nab-dir", required = true,
            description = "A labelled corpus in NAB's layout: data/, labels/combined_windows.json, optionally"
                    + " config/profiles.json (NAB's three profiles without it).")
    Path nabDir;

    @Option(names = "--out", defaultValue = "nab-results",
            description = "Output folder: models/fold-<f>/ and the results in NAB's layout under " + DETECTOR
                    + "/ (default nab-results).")
    Path out;

    @Option(names = "--files", split = ",",
            description = "Only these series (paths under data/, comma-separated; default all).")
    List<String> files;

    @Option(names = "--detector", split = ",", defaultValue = "mamba",
            description = "Detectors to run on the same corpus, comma-separated: mamba (the anomaly job's default),"
                    + " rcf (Random Cut Forest); default mamba. Several print their scores side by side.")
    List<DetectorOptions.Kind> detectors;

    @Option(names = "--model",
            description = "Score every series zero-shot with this event model (a folder, or default for the shipped"
                    + " model) instead of training k-fold models.")
    String model;

    @Option(names = "--folds", defaultValue = "2", description = "Folds of the k-fold split by series (default 2).")
    int folds;

    @Option(names = "--epochs", defaultValue = "3", description = "Training epochs per fold model (default 3).")
    int epochs;

    @Option(names = "--d-model", defaultValue = "16", description = "Model width (default 16).")
    int dModel;

    @Option(names = "--layers", defaultValue = "1", description = "Mamba layers (default 1).")
    int layers;

    @Option(names = "--train-rows", defaultValue = "4000",
            description = "Training rows taken from the start of each training series (default 4000).")
    int trainRows;

    @Option(names = "--batch-size", defaultValue = "4", description = "Series per optimizer batch (default 4).")
    int batchSize;

    @Option(names = "--learning-rate", defaultValue = "0.003", description = "Peak learning rate (default 0.003).")
    double learningRate;

    @Option(names = "--seed", defaultValue = "1", description = "Training seed (default 1).")
    long seed;

    @Option(names = "--threads", defaultValue = "2",
            description = "Training threads and the job's parallelism (default 2).")
    int threads;

    @Option(names = "--results-only", paramLabel = "DIR",
            description = "Runs no detector: scores the results files of one detector's folder DIR in NAB's layout"
                    + " (DIR/<category>/<detector>_<name>.csv or .csv.gz, the detector named by DIR, as NAB's"
                    + " results/<detector>/) against the corpus of --nab-dir.")
    Path resultsOnly;

    @Override
    public Integer call() throws Exception {
        if (resultsOnly != null) {
            return NabResultsScoring.run(nabDir, resultsOnly, System.out, System.err);
        }
        if (epochs < 1 || dModel < 1 || layers < 1 || trainRows < 2 || threads < 1 || batchSize < 1
                || !(learningRate > 0)) {
            System.err.println("nab: --epochs, --d-model, --layers, --threads, --batch-size, --learning-rate must be"
                    + " positive, --train-rows at least 2");
            return 2;
        }
        try {
            return run();
        } catch (IOException | IllegalArgumentException e) {
            System.err.println("nab: " + e.getMessage());
            return 2;
        }
    }

    private int run() throws Exception {
        long started = System.nanoTime();
        NabCorpus all = NabCorpus.load(nabDir);
        NabCorpus corpus = files == null || files.isEmpty() ? all : all.subset(files);
        List<Profile> profiles = all.profiles();
        all.report().forEach(line -> System.out.println("nab: " + line));
        List<Series> series = corpus.series();
        int[] foldOf = NabTraining.folds(series.size(), folds);
        System.out.printf(Locale.ROOT, "nab: %d series, %d rows, %d windows; k-fold by series, k=%d: each fold's"
                        + " model trains on the other folds' series only (first %d rows of each), never on a series"
                        + " it scores; the labels are used by the scorer only%n", series.size(),
                series.stream().mapToInt(Series::size).sum(),
                series.stream().mapToInt(s -> corpus.windows(s.name()).size()).sum(), folds, trainRows);

        Map<String, Map<String, Double>> byDetector = new LinkedHashMap<>();
        for (DetectorOptions.Kind detector : detectors) {
            List<Configuration> foldDetectors = detector == DetectorOptions.Kind.RCF
                    ? List.of(rcfDetector()) : mambaDetectors(corpus, foldOf);
            int[] detectorFolds = detector == DetectorOptions.Kind.RCF || model != null ? new int[series.size()] : foldOf;
            long t0 = System.nanoTime();
            Map<String, AnomalyResult[]> results = NabJob.run(corpus, detectorFolds, foldDetectors, threads);
            System.out.printf(Locale.ROOT, "%s: %d series through the anomaly job's detector (anomaly.detector: %s;"
                            + " MiniCluster, parallelism %d, RocksDB) in %.1f s%n", name(detector), series.size(),
                    detector, threads, (System.nanoTime() - t0) / 1e9);
            byDetector.put(name(detector), score(corpus, profiles, name(detector), results));
        }
        System.out.printf(Locale.ROOT, "results in %s; total %.1f s%n", out.toAbsolutePath(),
                (System.nanoTime() - started) / 1e9);
        if (byDetector.size() > 1) {
            System.out.printf(Locale.ROOT, "%-16s", "detector");
            profiles.forEach(p -> System.out.printf(Locale.ROOT, " %19s", p.name()));
            System.out.println();
            byDetector.forEach((name, scores) -> {
                System.out.printf(Locale.ROOT, "%-16s", name);
                scores.values().forEach(v -> System.out.printf(Locale.ROOT, " %19.2f", v));
                System.out.println();
            });
        }
        byDetector.forEach((name, scores) -> {
            StringBuilder last = new StringBuilder(byDetector.size() > 1 ? "nab detector=" + name : "nab");
            scores.forEach((profile, score) -> last.append(String.format(Locale.ROOT, " %s=%.2f", profile, score)));
            System.out.println(last);
        });
        return 0;
    }

    /** The results folder's detector name. */
    private static String name(DetectorOptions.Kind detector) {
        return detector == DetectorOptions.Kind.RCF ? DETECTOR + "Rcf" : DETECTOR;
    }

    private static Configuration rcfDetector() {
        Configuration config = new Configuration();
        config.set(DetectorOptions.DETECTOR, DetectorOptions.Kind.RCF);
        return config;
    }

    /** One Mamba detector per fold: the fold's model, trained on the other folds' series, or the given model. */
    private List<Configuration> mambaDetectors(NabCorpus corpus, int[] foldOf) throws IOException {
        List<Path> models = new ArrayList<>();
        if (model != null) {
            models.add(DefaultEventModel.resolve(model.equals("default") ? DefaultEventModel.SETTING : model));
            System.out.println("nab: every series scored zero-shot by the model " + model + " (no training)");
        } else {
            TrainingOptions options = TrainingOptions.defaults().withEpochs(epochs).withDModel(dModel)
                    .withNLayer(layers).withThreads(threads).withSeed(seed).withBatchSize(batchSize)
                    .withLearningRate(learningRate);
            for (int f = 0; f < folds; f++) {
                long t0 = System.nanoTime();
                Path dir = out.resolve("models").resolve("fold-" + f);
                int fold = f;
                TrainingResult r = NabTraining.train(corpus, foldOf, f, trainRows, options, dir,
                        (epoch, train, validation) -> System.out.printf(Locale.ROOT,
                                "  fold %d epoch %d: train %.4f validation %.4f%n", fold, epoch, train, validation));
                int scored = 0;
                for (int fi : foldOf) {
                    scored += fi == f ? 1 : 0;
                }
                System.out.printf(Locale.ROOT, "fold %d: trained on %d series (%d epochs run, kept the best by"
                                + " validation: train loss %.4f, validation %.4f; %.1f s), scores %d series%n", f,
                        corpus.series().size() - scored, r.epochs(), r.trainLoss(), r.validationLoss(),
                        (System.nanoTime() - t0) / 1e9, scored);
                models.add(r.modelDir());
            }
        }
        List<Configuration> detectors = new ArrayList<>();
        for (Path dir : models) {
            Configuration config = new Configuration();
            config.set(MambaOptions.MODEL_DIR, dir.toString());
            detectors.add(config);
        }
        return detectors;
    }

    /** Writes a detector's results files, reads them back and scores every profile; the normalized scores. */
    private Map<String, Double> score(NabCorpus corpus, List<Profile> profiles, String detector,
                                      Map<String, AnomalyResult[]> results) throws IOException {
        Path resultsDir = out.toAbsolutePath();
        for (Series s : corpus.series()) {
            AnomalyResult[] rows = results.get(s.name());
            double[] anomalyScores = new double[rows.length];
            for (int r = 0; r < rows.length; r++) {
                anomalyScores[r] = rows[r].anomalyScore;
            }
            NabResults.write(resultsDir, detector, corpus, s, anomalyScores);
        }
        Map<String, double[]> written = NabResults.read(resultsDir, detector, corpus);
        Map<String, Double> normalized = new LinkedHashMap<>();
        for (Profile p : profiles) {
            NabBenchmark b = NabBenchmark.optimized(corpus, written, p);
            NabResults.writeScores(resultsDir, detector, b);
            System.out.printf(Locale.ROOT, "%s %-19s threshold %.6f  raw %.4f (null %.1f, perfect %.1f)  TP rows %d,"
                            + " FP rows %d  score %.2f%n", detector, p.name(), b.total().threshold(), b.total().score(),
                    b.nullScore(), b.perfectScore(), b.total().tp(), b.total().fp(), b.normalized());
            normalized.put(p.name(), b.normalized());
        }
        return normalized;
    }
}

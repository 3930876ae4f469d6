package io.flinkmamba.cli;

import io.flinkmamba.train.EventTrainer;
import io.flinkmamba.train.TrainingListener;
import io.flinkmamba.train.TrainingOptions;
import io.flinkmamba.train.TrainingResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * Trains an event model on keyed events from a CSV or JSON-lines file and writes the model folder
 * ({@code config.json}, {@code model.safetensors}, {@code flink-mamba.json}) and {@code loss-curve.html}.
 * Progress: a live line on a terminal, else one line per epoch. The last line is
 * {@code trained epochs=... train_nll=... validation_nll=... events_per_s=... model=DIR}.
 */
@Command(name = "train",
        mixinStandardHelpOptions = true,
        description = {"Trains an event model (numeric fields through a Gaussian head, an optional categorical field"
                + " through a softmax head, a Mamba-1 backbone) on keyed events from a CSV file with a header row or"
                + " from JSON lines, and writes a model folder the operator loads with nothing else, plus"
                + " loss-curve.html.",
                "Keys are split into training and validation; training stops early when the validation loss has"
                        + " not improved for --patience epochs, and the best epoch is kept."})
final class TrainCommand implements Callable<Integer> {

    @Option(names = "--input", required = true, description = "CSV (header row) or JSON-lines file of events.")
    Path input;

    @Option(names = "--format", defaultValue = "auto",
            description = "csv, jsonl, or auto: by the extension, .jsonl/.ndjson/.json are JSON lines (default auto).")
    String format;

    @Option(names = "--key", required = true, description = "Field holding the key.")
    String keyField;

    @Option(names = "--time", required = true,
            description = "Field holding the timestamp: epoch milliseconds, an ISO-8601 instant, or a local date-time"
                    + " (read as UTC). Each key's events are ordered by it.")
    String timeField;

    @Option(names = "--numeric", split = ",", description = "Numeric fields, comma-separated.")
    List<String> numericFields = List.of();

    @Option(names = "--category", description = "Categorical field (its vocabulary is the values seen).")
    String categoryField;

    @Option(names = "--out", required = true, description = "Output folder for the model and loss-curve.html.")
    Path out;

    @Option(names = "--d-model", defaultValue = "32", description = "Backbone width (default 32).")
    int dModel;

    @Option(names = "--layers", defaultValue = "2", description = "Mamba-1 layers (default 2).")
    int layers;

    @Option(names = "--d-state", defaultValue = "16", description = "SSM state size (default 16).")
    int dState;

    @Option(names = "--epochs", defaultValue = "20", description = "Most epochs (default 20).")
    int epochs;

    @Option(names = "--bptt", defaultValue = "64", description = "Events per backpropagation stretch (default 64).")
    int bptt;

    @Option(names = "--lr", defaultValue = "3e-3", description = "Peak learning rate (default 3e-3).")
    double learningRate;

    @Option(names = "--weight-decay", defaultValue = "0.01", description = "AdamW weight decay (default 0.01).")
    double weightDecay;

    @Option(names = "--batch-size", defaultValue = "16", description = "Keys per optimizer batch (default 16).")
    int batchSize;

    @Option(names = "--threads", defaultValue = "0", description = "Worker threads (default 0: one per core).")
    int threads;

    @Option(names = "--seed", defaultValue = "42", description = "Random seed (default 42).")
    long seed;

    @Option(names = "--validation-share", defaultValue = "0.2",
            description = "Share of the keys held out for validation and early stopping (default 0.2).")
    double validationShare;

    @Option(names = "--patience", defaultValue = "3",
            description = "Epochs without a better validation loss before stopping (default 3).")
    int patience;

    @Option(names = "--skip-invalid", description = "Skip (and count) invalid rows instead of failing on the first.")
    boolean skipInvalid;

    @Option(names = "--progress", defaultValue = "auto",
            description = "live (one updating line), lines (one line per epoch), or auto: live on a terminal"
                    + " (default auto).")
    String progress;

    @Override
    public Integer call() throws IOException {
        PrintStream outStream = System.out;
        if (numericFields.isEmpty() && categoryField == null) {
            System.err.println("train: give --numeric fields, a --category field, or both");
            return 2;
        }
        EventFile.Contents contents;
        TrainingOptions options;
        try {
            contents = new EventFile(keyField, timeField, numericFields, categoryField, skipInvalid)
                    .read(input, format);
            options = new TrainingOptions(dModel, layers, dState, epochs, bptt, learningRate, weightDecay, 1.0,
                    threads > 0 ? threads : Runtime.getRuntime().availableProcessors(), seed, validationShare,
                    patience, batchSize);
        } catch (IllegalArgumentException e) {
            System.err.println("train: " + e.getMessage());
            return 1;
        }
        outStream.printf(Locale.ROOT, "train: %d events of %d keys from %s%s; numeric %s, category %s%n",
                contents.events(), contents.sequences().size(), input,
                contents.skipped() > 0 ? " (" + contents.skipped() + " invalid rows skipped)" : "",
                contents.schema().numericFields(), categoryField == null ? "none"
                        : categoryField + " " + contents.schema().categories());
        boolean live = progress.equals("live") || (progress.equals("auto") && System.console() != null);
        TrainingListener listener = new TrainingListener() {
            @Override
            public void epoch(int epoch, double train, double validation) {
                outStream.printf(Locale.ROOT, "%sepoch %d/%d train_nll=%.5f validation_nll=%.5f%n", live ? "\r" : "",
                        epoch, epochs, train, validation);
            }

            @Override
            public void batch(int epoch, int done, int total, double loss) {
                if (live) {
                    outStream.printf(Locale.ROOT, "\repoch %d/%d [%-30s] %d/%d batch_nll=%.4f", epoch, epochs,
                            "=".repeat(30 * done / total), done, total, loss);
                    outStream.flush();
                }
            }
        };
        TrainingResult result;
        try {
            result = EventTrainer.train(contents.schema(), contents.sequences(), options, out, listener);
        } catch (IllegalArgumentException e) {
            System.err.println("train: " + e.getMessage());
            return 1;
        }
        Files.createDirectories(out);
        LossCurve.write(out.resolve("loss-curve.html"), "flink-mamba training: " + input.getFileName(),
                result.curve());
        outStream.printf(Locale.ROOT, "trained epochs=%d train_nll=%.5f validation_nll=%.5f events_per_s=%.0f model=%s%n",
                result.epochs(), result.trainLoss(), result.validationLoss(), result.eventsPerSecond(), out);
        return 0;
    }
}

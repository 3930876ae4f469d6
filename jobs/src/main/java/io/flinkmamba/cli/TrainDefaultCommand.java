package io.flinkmamba.cli;

import io.flinkmamba.train.DefaultModelTraining;
import io.flinkmamba.train.DefaultModelTraining.Recipe;
import io.flinkmamba.train.TrainingResult;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code train-default --out DIR}: regenerates the shipped default event model ({@link DefaultModelTraining})
 * from its synthetic corpus; the last line is {@code trained epochs=... validation_nll=... model=DIR}.
 */
@Command(name = "train-default",
        mixinStandardHelpOptions = true,
        description = {"Trains the default event model (the one shipped in the jar, setting builtin:default) from"
                + " synthetic series only: daily and weekly seasons, trends, level shifts, variance changes, counts,"
                + " flat series with steps, random walks and aperiodic series, generated from the seed. One numeric"
                + " field, value, standardized per key by its running mean and standard deviation before the model"
                + " (input_transform running_standardized). With the default settings it reproduces the shipped"
                + " model.safetensors byte for byte on the same JVM and CPU kernels."})
final class TrainDefaultCommand implements Callable<Integer> {
    @Option(names = "--out", required = true, description = "Output folder for the model and loss-curve.html.")
    Path out;

    @Option(names = "--seed", defaultValue = "" + DefaultModelTraining.SHIPPED_SEED,
            description = "Seed of the corpus and the training (default ${DEFAULT-VALUE}, the shipped model's).")
    long seed;

    @Option(names = "--series-per-family", defaultValue = "" + DefaultModelTraining.SHIPPED_SERIES_PER_FAMILY,
            description = "Synthetic series of each family (default ${DEFAULT-VALUE}).")
    int seriesPerFamily;

    @Option(names = "--length", defaultValue = "" + DefaultModelTraining.SHIPPED_LENGTH,
            description = "Values per synthetic series (default ${DEFAULT-VALUE}).")
    int length;

    @Override
    public Integer call() throws IOException {
        Recipe recipe;
        try {
            recipe = DefaultModelTraining.recipe(seed, seriesPerFamily, length);
        } catch (IllegalArgumentException e) {
            System.err.println("train-default: " + e.getMessage());
            return 2;
        }
        System.out.printf(Locale.ROOT, "train-default: %d synthetic series per family, %d values each, seed %d;"
                        + " d_model %d, %d layer, %d epochs%n", seriesPerFamily, length, seed,
                recipe.options().dModel(), recipe.options().nLayer(), recipe.options().epochs());
        TrainingResult result = DefaultModelTraining.train(recipe, out, (epoch, train, validation) ->
                System.out.printf(Locale.ROOT, "epoch %d/%d train_nll=%.5f validation_nll=%.5f%n", epoch,
                        recipe.options().epochs(), train, validation));
        Files.createDirectories(out);
        LossCurve.write(out.resolve("loss-curve.html"), "flink-mamba default model", result.curve());
        System.out.printf(Locale.ROOT, "trained epochs=%d train_nll=%.5f validation_nll=%.5f model=%s%n",
                result.epochs(), result.trainLoss(), result.validationLoss(), out);
        return 0;
    }
}

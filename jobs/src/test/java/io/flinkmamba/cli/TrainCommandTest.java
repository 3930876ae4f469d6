package io.flinkmamba.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.event.DefaultEventModel;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.InputTransform;
import io.flinkmamba.model.MambaModel;
import io.flinkmamba.model.ModelLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TrainCommandTest {
    @TempDir
    Path dir;

    /** Twelve hosts, a daily-ish sine in latency and a request kind that follows a cycle. */
    private static List<String[]> events() {
        SplittableRandom random = new SplittableRandom(1);
        List<String[]> rows = new ArrayList<>();
        String[] kinds = {"get", "put", "get", "delete"};
        for (int host = 0; host < 12; host++) {
            for (int t = 0; t < 60; t++) {
                double latency = 20 + 5 * Math.sin(t / 4.0 + host) + random.nextGaussian();
                rows.add(new String[] {"host-" + host, Long.toString(1_700_000_000_000L + t * 60_000L),
                        String.format(Locale.ROOT, "%.3f", latency), kinds[(t + host) % 4]});
            }
        }
        java.util.Collections.shuffle(rows, new java.util.Random(2)); // the command orders each key by time
        return rows;
    }

    private static String[] args(Path input, Path out, int epochs, String... more) {
        List<String> args = new ArrayList<>(List.of("train", "--input", input.toString(), "--out", out.toString(),
                "--key", "host", "--time", "ts", "--numeric", "latency", "--category", "kind", "--d-model", "8",
                "--layers", "1", "--d-state", "4", "--epochs", Integer.toString(epochs), "--threads", "2",
                "--progress", "lines"));
        args.addAll(List.of(more));
        return args.toArray(String[]::new);
    }

    @Test
    void trainsFromCsvAndWritesALoadableModelAndALossCurve() throws Exception {
        StringBuilder csv = new StringBuilder("host,ts,latency,kind\n");
        for (String[] r : events()) {
            csv.append(String.join(",", r)).append('\n');
        }
        Path input = Files.writeString(dir.resolve("events.csv"), csv);
        Path out = dir.resolve("model");
        CliRun run = CliRun.of(args(input, out, 3));
        assertEquals(0, run.exit(), run.out() + run.err());
        assertTrue(run.out().contains("720 events of 12 keys"), run.out());
        assertTrue(run.out().contains("epoch 1/3 train_nll="), run.out());
        assertTrue(run.lastLine().matches("trained epochs=\\d+ train_nll=\\S+ validation_nll=\\S+ events_per_s=\\d+ model=.*"),
                run.lastLine());
        EventModel model = EventModel.load(out);
        assertEquals(List.of("latency"), model.schema().numericFields());
        assertEquals(List.of("delete", "get", "put"), model.schema().categories());
        assertEquals(InputTransform.NONE, model.inputTransform());
        String html = Files.readString(out.resolve("loss-curve.html"));
        assertTrue(html.contains("<svg") && html.contains("<polyline") && html.contains("validation"), html);
    }

    @Test
    void theInputTransformIsDeclaredByTheModelAndAnUnknownOneRefused() throws Exception {
        StringBuilder csv = new StringBuilder("host,ts,latency,kind\n");
        for (String[] r : events()) {
            csv.append(String.join(",", r)).append('\n');
        }
        Path input = Files.writeString(dir.resolve("events.csv"), csv);
        CliRun standardized = CliRun.of(args(input, dir.resolve("s"), 1, "--input-transform", "running_standardized"));
        assertEquals(0, standardized.exit(), standardized.out() + standardized.err());
        assertEquals(InputTransform.RUNNING_STANDARDIZED, EventModel.load(dir.resolve("s")).inputTransform());

        CliRun unknown = CliRun.of(args(input, dir.resolve("u"), 1, "--input-transform", "log"));
        assertEquals(2, unknown.exit());
        assertEquals("train: --input-transform: unknown input transform 'log' (known: none, running_standardized)",
                unknown.err().strip());
    }

    @Test
    void fineTunesTheDefaultModelOnEventsOfItsSchemaOnly() throws Exception {
        StringBuilder values = new StringBuilder("host,ts,value\n");
        StringBuilder latencies = new StringBuilder("host,ts,latency,kind\n");
        for (String[] r : events()) {
            values.append(r[0]).append(',').append(r[1]).append(',').append(r[2]).append('\n');
            latencies.append(String.join(",", r)).append('\n');
        }
        Path valueFile = Files.writeString(dir.resolve("values.csv"), values);
        Path out = dir.resolve("tuned");
        CliRun tuned = CliRun.of("train", "--input", valueFile.toString(), "--out", out.toString(), "--key", "host",
                "--time", "ts", "--numeric", "value", "--from", "default", "--epochs", "1", "--threads", "2",
                "--progress", "lines");
        assertEquals(0, tuned.exit(), tuned.out() + tuned.err());
        EventModel model = EventModel.load(out);
        assertEquals(InputTransform.RUNNING_STANDARDIZED, model.inputTransform());
        assertEquals(DefaultEventModel.load().backbone().config(), model.backbone().config());

        assertEquals(2, CliRun.of(args(valueFile, dir.resolve("y"), 1, "--from", dir.resolve("none").toString()))
                .exit());
        CliRun otherTransform = CliRun.of("train", "--input", valueFile.toString(), "--out", dir.resolve("z").toString(),
                "--key", "host", "--time", "ts", "--numeric", "value", "--from", "builtin:default",
                "--input-transform", "none");
        assertEquals(2, otherTransform.exit());
        assertEquals("train: --from builtin:default: the model takes input transform running_standardized, not none",
                otherTransform.err().strip());
        Files.writeString(dir.resolve("events.csv"), latencies);
        CliRun otherSchema = CliRun.of(args(dir.resolve("events.csv"), dir.resolve("x"), 1, "--from", "default"));
        assertEquals(1, otherSchema.exit());
        assertEquals("train: --from default: the model's schema is numeric [value], no category, the events' numeric"
                + " [latency], category kind [delete, get, put]", otherSchema.err().strip());
    }

    @Test
    void regeneratesTheDefaultModelByteForByteAtATinySize() throws Exception {
        byte[][] weights = new byte[2][];
        for (int i = 0; i < 2; i++) {
            Path out = dir.resolve("default-" + i);
            CliRun run = CliRun.of("train-default", "--out", out.toString(), "--series-per-family", "1", "--length",
                    "150");
            assertEquals(0, run.exit(), run.out() + run.err());
            assertTrue(run.lastLine().matches("trained epochs=\\d+ train_nll=\\S+ validation_nll=\\S+ model=.*"),
                    run.lastLine());
            weights[i] = Files.readAllBytes(out.resolve("model.safetensors"));
            assertEquals(InputTransform.RUNNING_STANDARDIZED, EventModel.load(out).inputTransform());
        }
        org.junit.jupiter.api.Assertions.assertArrayEquals(weights[0], weights[1]);
    }

    @Test
    void trainsFromJsonLines() throws Exception {
        StringBuilder jsonl = new StringBuilder();
        for (String[] r : events()) {
            jsonl.append(String.format(Locale.ROOT, "{\"host\":\"%s\",\"ts\":%s,\"latency\":%s,\"kind\":\"%s\"}%n",
                    r[0], r[1], r[2], r[3]));
        }
        Path input = Files.writeString(dir.resolve("events.jsonl"), jsonl);
        CliRun run = CliRun.of(args(input, dir.resolve("m"), 1));
        assertEquals(0, run.exit(), run.out() + run.err());
        assertTrue(EventModel.isEventModel(dir.resolve("m")));
    }

    @Test
    void anInvalidRowIsAClearErrorOrSkippedWhenAsked() throws Exception {
        StringBuilder csv = new StringBuilder("host,ts,latency,kind\n");
        List<String[]> rows = events();
        for (int i = 0; i < rows.size(); i++) {
            csv.append(String.join(",", rows.get(i))).append('\n');
            if (i == 4) {
                csv.append("host-1,1700000000000,fast,get\n");
            }
        }
        Path input = Files.writeString(dir.resolve("bad.csv"), csv);
        CliRun failed = CliRun.of(args(input, dir.resolve("x"), 1));
        assertEquals(1, failed.exit());
        assertTrue(failed.err().contains("line 7: numeric field 'latency' is 'fast'"), failed.err());
        assertTrue(!Files.exists(dir.resolve("x")), "nothing written");

        CliRun skipped = CliRun.of(args(input, dir.resolve("y"), 1, "--skip-invalid"));
        assertEquals(0, skipped.exit(), skipped.out() + skipped.err());
        assertTrue(skipped.out().contains("(1 invalid rows skipped)"), skipped.out());
    }

    @Test
    void trainsATokenLanguageModelInTheOfficialFormatWithItsVocabulary() throws Exception {
        StringBuilder jsonl = new StringBuilder();
        for (String[] r : events()) {
            jsonl.append(String.format(Locale.ROOT, "{\"host\":\"%s\",\"ts\":%s,\"kind\":\"%s\"}%n", r[0], r[1], r[3]));
        }
        Path input = Files.writeString(dir.resolve("tokens.jsonl"), jsonl);
        Path out = dir.resolve("lm");
        CliRun run = CliRun.of("train", "--input", input.toString(), "--out", out.toString(), "--key", "host",
                "--time", "ts", "--token-field", "kind", "--d-model", "8", "--layers", "1", "--d-state", "4",
                "--epochs", "8", "--batch-size", "2", "--lr", "1e-2", "--threads", "2", "--progress", "lines");
        assertEquals(0, run.exit(), run.out() + run.err());
        assertTrue(run.out().contains("token language model on kind, 3 tokens"), run.out());
        assertTrue(run.lastLine().startsWith("trained epochs="), run.lastLine());
        try (var files = Files.list(out)) {
            assertEquals(List.of("config.json", "loss-curve.html", "model.safetensors", "vocab.json"),
                    files.map(p -> p.getFileName().toString()).sorted().toList());
        }
        MambaModel model = ModelLoader.load(out);
        assertEquals(8, model.config().vocabSize(), "3 tokens padded to a multiple of 8");
        JsonNode vocabulary = new ObjectMapper().readTree(out.resolve("vocab.json").toFile());
        assertEquals("flink-mamba-vocabulary", vocabulary.get("format").asText());
        assertEquals("kind", vocabulary.get("field").asText());
        assertEquals("[\"delete\",\"get\",\"put\"]", vocabulary.get("tokens").toString());
        // The held-out keys' tokens (a cycle get put get delete) are better predicted than by a uniform guess.
        double validation = Double.parseDouble(run.lastLine().replaceAll(".* validation_nll=(\\S+) .*", "$1"));
        assertTrue(validation > 0 && validation < Math.log(3), run.lastLine());

        CliRun mixed = CliRun.of("train", "--input", input.toString(), "--out", dir.resolve("x").toString(), "--key",
                "host", "--time", "ts", "--token-field", "kind", "--category", "kind");
        assertEquals(2, mixed.exit());
        assertTrue(mixed.err().contains("--token-field"), mixed.err());
    }
}

package io.flinkmamba.nab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoField;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;

/**
 * The NAB corpus as NAB's own runner sees it: the series under {@code data/} (named by their path relative to
 * it, e.g. {@code realKnownCause/nyc_taxi.csv}) and the anomaly windows of {@code labels/combined_windows.json}.
 */
public final class NabCorpus {
    /** NAB's timestamps: {@code 2014-04-10 07:15:00}, labels with an optional fraction ({@code .000000}). */
    static final DateTimeFormatter TIMESTAMP = new DateTimeFormatterBuilder()
            .appendPattern("yyyy-MM-dd HH:mm:ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
            .toFormatter();
    /** How results files write timestamps (NAB's data format). */
    static final DateTimeFormatter TIMESTAMP_OUT = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss");

    /** One series: its rows in file order. */
    public record Series(String name, LocalDateTime[] timestamps, double[] values) {
        public int size() {
            return timestamps.length;
        }
    }

    /** An anomaly window, both ends inclusive. */
    public record Window(LocalDateTime start, LocalDateTime end) {}

    private final Path root;
    private final List<Series> series;
    private final Map<String, List<Window>> windows;

    private NabCorpus(Path root, List<Series> series, Map<String, List<Window>> windows) {
        this.root = root;
        this.series = series;
        this.windows = windows;
    }

    /** Reads every series under {@code nabDir/data} and the windows; each series must have its labels entry. */
    public static NabCorpus load(Path nabDir) throws IOException {
        Path data = nabDir.resolve("data");
        Path labels = nabDir.resolve("labels").resolve("combined_windows.json");
        if (!Files.isDirectory(data) || !Files.isRegularFile(labels)) {
            throw new IOException(nabDir + " is not a NAB folder (needs data/ and labels/combined_windows.json)");
        }
        Map<String, List<Window>> windows = readWindows(labels);
        List<Series> series = new ArrayList<>();
        try (Stream<Path> files = Files.walk(data)) {
            for (Path file : files.filter(p -> p.toString().endsWith(".csv")).sorted().toList()) {
                String name = data.relativize(file).toString().replace('\\', '/');
                if (!windows.containsKey(name)) {
                    throw new IOException(labels + " has no entry for data file " + name);
                }
                series.add(readSeries(file, name));
            }
        }
        if (series.isEmpty()) {
            throw new IOException(data + " holds no .csv series");
        }
        return new NabCorpus(nabDir, List.copyOf(series), windows);
    }

    public Path root() {
        return root;
    }

    public List<Series> series() {
        return series;
    }

    /** The series of these names (e.g. a subset for a quick run), in the corpus order. */
    public NabCorpus subset(List<String> names) {
        List<Series> chosen = series.stream().filter(s -> names.contains(s.name())).toList();
        if (chosen.size() != names.size()) {
            List<String> missing = new ArrayList<>(names);
            missing.removeAll(chosen.stream().map(Series::name).toList());
            throw new IllegalArgumentException("not in the corpus: " + missing);
        }
        return new NabCorpus(root, chosen, windows);
    }

    public List<Window> windows(String name) {
        List<Window> w = windows.get(name);
        if (w == null) {
            throw new IllegalArgumentException("no labels for " + name);
        }
        return w;
    }

    /** All windows of the labels file: NAB's perfect detector scores one TP weight for each. */
    public int windowCount() {
        return windows.values().stream().mapToInt(List::size).sum();
    }

    /** True for the rows of the series that lie inside one of its windows (NAB's {@code label} column). */
    public boolean[] labels(Series s) {
        boolean[] inside = new boolean[s.size()];
        for (Window w : windows(s.name())) {
            for (int i = 0; i < inside.length; i++) {
                LocalDateTime t = s.timestamps()[i];
                inside[i] |= !t.isBefore(w.start()) && !t.isAfter(w.end());
            }
        }
        return inside;
    }

    private static Map<String, List<Window>> readWindows(Path labels) throws IOException {
        JsonNode root = new ObjectMapper().readTree(labels.toFile());
        Map<String, List<Window>> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            List<Window> list = new ArrayList<>();
            for (JsonNode w : e.getValue()) {
                if (!w.isArray() || w.size() != 2) {
                    throw new IOException(labels + ": " + e.getKey() + ": a window must be [start, end], got " + w);
                }
                Window window = new Window(parse(w.get(0).asText(), labels), parse(w.get(1).asText(), labels));
                if (window.end().isBefore(window.start())) {
                    throw new IOException(labels + ": " + e.getKey() + ": window ends before it starts: " + w);
                }
                list.add(window);
            }
            out.put(e.getKey(), Collections.unmodifiableList(list));
        }
        return out;
    }

    private static Series readSeries(Path file, String name) throws IOException {
        List<LocalDateTime> timestamps = new ArrayList<>();
        double[] values = new double[1024];
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            Columns columns = Columns.of(in.readLine(), file, "timestamp", "value");
            String line;
            int row = 0;
            while ((line = in.readLine()) != null) {
                row++;
                if (line.isBlank()) {
                    continue;
                }
                String[] cells = columns.cells(line, file, row);
                if (timestamps.size() == values.length) {
                    values = Arrays.copyOf(values, values.length * 2);
                }
                values[timestamps.size()] = number(cells[1], file, row);
                timestamps.add(parse(cells[0], file));
            }
        }
        if (timestamps.isEmpty()) {
            throw new IOException(file + " has no rows");
        }
        return new Series(name, timestamps.toArray(LocalDateTime[]::new), Arrays.copyOf(values, timestamps.size()));
    }

    /**
     * The {@code anomaly_score} column of a detector's NAB results file ({@code .csv} or {@code .csv.gz}),
     * checked row by row against the series' timestamps.
     */
    public static double[] readAnomalyScores(Path resultsFile, Series series) throws IOException {
        double[] scores = new double[series.size()];
        try (BufferedReader in = open(resultsFile)) {
            Columns columns = Columns.of(in.readLine(), resultsFile, "timestamp", "anomaly_score");
            String line;
            int row = 0;
            while ((line = in.readLine()) != null) {
                if (line.isBlank()) {
                    continue;
                }
                if (row == scores.length) {
                    throw new IOException(resultsFile + " has more rows than " + series.name() + " ("
                            + scores.length + ")");
                }
                String[] cells = columns.cells(line, resultsFile, row + 1);
                if (!parse(cells[0], resultsFile).equals(series.timestamps()[row])) {
                    throw new IOException(resultsFile + " row " + (row + 1) + ": timestamp " + cells[0]
                            + " differs from the data's " + series.timestamps()[row]);
                }
                scores[row] = number(cells[1], resultsFile, row + 1);
                row++;
            }
            if (row != scores.length) {
                throw new IOException(resultsFile + " has " + row + " rows, " + series.name() + " " + scores.length);
            }
        }
        return scores;
    }

    private static BufferedReader open(Path file) throws IOException {
        var raw = Files.newInputStream(file);
        var in = file.toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw;
        return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
    }

    static LocalDateTime parse(String text, Path file) throws IOException {
        try {
            return LocalDateTime.parse(text.strip(), TIMESTAMP);
        } catch (DateTimeParseException e) {
            throw new IOException(file + ": bad timestamp '" + text + "' (expected yyyy-MM-dd HH:mm:ss)", e);
        }
    }

    private static double number(String text, Path file, int row) throws IOException {
        try {
            double v = Double.parseDouble(text.strip());
            if (Double.isFinite(v)) {
                return v;
            }
        } catch (NumberFormatException ignored) {
            // reported below
        }
        throw new IOException(file + " row " + row + ": not a finite number: '" + text + "'");
    }

    /** The positions of the wanted columns in a CSV header. */
    private record Columns(int[] index, int width) {
        static Columns of(String header, Path file, String... wanted) throws IOException {
            if (header == null) {
                throw new IOException(file + " is empty");
            }
            List<String> names = Arrays.stream(header.split(",", -1)).map(String::strip).toList();
            int[] index = new int[wanted.length];
            for (int i = 0; i < wanted.length; i++) {
                index[i] = names.indexOf(wanted[i]);
                if (index[i] < 0) {
                    throw new IOException(file + ": header " + names + " lacks column " + wanted[i]);
                }
            }
            return new Columns(index, names.size());
        }

        String[] cells(String line, Path file, int row) throws IOException {
            String[] all = line.split(",", -1);
            if (all.length != width) {
                throw new IOException(file + " row " + row + ": " + all.length + " cells, header has " + width);
            }
            String[] out = new String[index.length];
            for (int i = 0; i < index.length; i++) {
                out[i] = all[index[i]];
            }
            return out;
        }
    }
}

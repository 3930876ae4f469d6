package io.flinkmamba.nab;

import io.flinkmamba.nab.CorpusNotes.Kind;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * A labelled corpus in NAB's layout, as NAB's own runner sees it: the series under {@code data/} (every
 * {@code .csv} below it, named by its path relative to it, e.g. {@code realKnownCause/nyc_taxi.csv}), the
 * anomaly windows of {@code labels/combined_windows.json}, and the profiles of {@code config/profiles.json}
 * (NAB's three when absent, {@link Profile#NAB}).
 *
 * <p>A data file has a header with a {@code timestamp} and a {@code value} column (others are ignored) and
 * one row per line ({@link NabTimestamps}: NAB's format or ISO 8601). Rows are kept in file order and
 * scored by position, as NAB does: gaps (irregular intervals) are fine, and a timestamp that repeats the
 * previous row's or goes back is kept (counted; NAB's own corpus has both). A row whose value is missing (empty, NaN,
 * null, None, NA, n/a, or infinite) is kept, so that every detector's results stay row-aligned with the
 * data, and gets the previous row's value ({@link Series#filled}). The rules that change or leave out data
 * are counted in {@link #notes()}; everything else that is wrong is an {@link IOException} of one line
 * naming the file, the line and the problem.
 */
public final class NabCorpus {
    private static final Set<String> MISSING = Set.of("", "nan", "null", "none", "na", "n/a");

    /**
     * One series: its rows in file order. {@code filled} are the rows whose value was missing in the file
     * (ascending): their value is the previous row's (the first value of the file for the rows before it).
     */
    public record Series(String name, LocalDateTime[] timestamps, double[] values, int[] filled) {
        /** A series with every value given. */
        public Series(String name, LocalDateTime[] timestamps, double[] values) {
            this(name, timestamps, values, new int[0]);
        }

        public int size() {
            return timestamps.length;
        }

        /** How many rows had no value of their own. */
        public int filledRows() {
            return filled.length;
        }
    }

    /** An anomaly window, both ends inclusive; in a loaded corpus both ends are timestamps of the file. */
    public record Window(LocalDateTime start, LocalDateTime end) {}

    private final Path root;
    private final List<Series> series;
    private final Map<String, List<Window>> windows;
    private final List<Profile> profiles;
    private final boolean defaultProfiles;
    private final CorpusNotes notes;

    private NabCorpus(Path root, List<Series> series, Map<String, List<Window>> windows, List<Profile> profiles,
                      boolean defaultProfiles, CorpusNotes notes) {
        this.root = root;
        this.series = series;
        this.windows = windows;
        this.profiles = profiles;
        this.defaultProfiles = defaultProfiles;
        this.notes = notes;
    }

    /** Reads every labelled series under {@code nabDir/data}, its windows and the profiles. */
    public static NabCorpus load(Path nabDir) throws IOException {
        Path data = nabDir.resolve("data");
        Path labels = nabDir.resolve("labels").resolve("combined_windows.json");
        if (!Files.isDirectory(data) || !Files.isRegularFile(labels)) {
            throw new IOException(nabDir + " is not a NAB folder (needs data/ and labels/combined_windows.json)");
        }
        CorpusNotes notes = new CorpusNotes();
        Map<String, List<Window>> labelled = NabLabels.read(labels);
        List<Path> files;
        try (Stream<Path> walk = Files.walk(data)) {
            files = walk.filter(p -> p.toString().endsWith(".csv") && Files.isRegularFile(p)).sorted().toList();
        }
        if (files.isEmpty()) {
            throw new IOException(data + " holds no .csv file");
        }
        List<Series> series = new ArrayList<>();
        List<String> names = new ArrayList<>();
        for (Path file : files) {
            String name = data.relativize(file).toString().replace('\\', '/');
            names.add(name);
            if (labelled.containsKey(name)) {
                series.add(readSeries(file, name, notes));
            } else {
                notes.count(Kind.UNLABELLED_FILE, file.toString());
            }
        }
        for (String name : labelled.keySet()) {
            if (!names.contains(name)) {
                notes.count(Kind.UNKNOWN_LABELS, labels + ": " + name);
            }
        }
        if (series.isEmpty()) {
            throw new IOException(labels + " has an entry for none of the " + files.size() + " data files");
        }
        Map<String, List<Window>> windows = new LinkedHashMap<>();
        for (Series s : series) {
            windows.put(s.name(), NabLabels.fit(labels + ": " + s.name(), labelled.get(s.name()), s, notes));
        }
        Path profilesJson = nabDir.resolve("config").resolve("profiles.json");
        boolean defaults = !Files.exists(profilesJson);
        List<Profile> profiles = defaults ? Profile.NAB : Profile.load(profilesJson);
        return new NabCorpus(nabDir, List.copyOf(series), windows, profiles, defaults, notes);
    }

    public Path root() {
        return root;
    }

    public List<Series> series() {
        return series;
    }

    /** The scoring profiles: those of {@code config/profiles.json}, or NAB's three without it. */
    public List<Profile> profiles() {
        return profiles;
    }

    /** What loading changed or left out, by rule (empty for NAB's own corpus). */
    public CorpusNotes notes() {
        return notes;
    }

    /** What the command prints about the corpus: its size, where the profiles come from, then the notes. */
    public List<String> report() {
        List<String> lines = new ArrayList<>();
        lines.add(String.format(Locale.ROOT, "corpus %s: %d series, %d rows, %d windows; profiles %s (%s)", root,
                series.size(), series.stream().mapToInt(Series::size).sum(), windowCount(),
                String.join(", ", profiles.stream().map(Profile::name).toList()),
                defaultProfiles ? "NAB's, no config/profiles.json" : "config/profiles.json"));
        lines.addAll(notes.lines());
        return lines;
    }

    /** The series of these names (e.g. a subset for a quick run), in the corpus order. */
    public NabCorpus subset(List<String> names) {
        List<Series> chosen = series.stream().filter(s -> names.contains(s.name())).toList();
        if (chosen.size() != names.size()) {
            List<String> missing = new ArrayList<>(names);
            missing.removeAll(chosen.stream().map(Series::name).toList());
            throw new IllegalArgumentException("not in the corpus: " + missing);
        }
        return new NabCorpus(root, chosen, windows, profiles, defaultProfiles, notes);
    }

    public List<Window> windows(String name) {
        List<Window> w = windows.get(name);
        if (w == null) {
            throw new IllegalArgumentException("no labels for " + name);
        }
        return w;
    }

    /** The windows of the corpus's series: NAB's perfect detector scores one TP weight for each. */
    public int windowCount() {
        return series.stream().mapToInt(s -> windows(s.name()).size()).sum();
    }

    /** True for the rows of the series that lie inside one of its windows (NAB's {@code label} column). */
    public boolean[] labels(Series s) {
        boolean[] inside = new boolean[s.size()];
        LocalDateTime[] t = s.timestamps();
        for (Window w : windows(s.name())) {
            for (int i = 0; i < t.length; i++) {
                inside[i] |= !t[i].isBefore(w.start()) && !t[i].isAfter(w.end());
            }
        }
        return inside;
    }

    private static Series readSeries(Path file, String name, CorpusNotes notes) throws IOException {
        List<LocalDateTime> timestamps = new ArrayList<>();
        double[] values = new double[1024];
        int[] missing = new int[16];
        int missingCount = 0;
        try (NabCsv csv = NabCsv.open(file)) {
            int time = csv.column("timestamp");
            int value = csv.column("value");
            if (csv.width() > 2) {
                notes.count(Kind.EXTRA_COLUMNS, file.toString());
            }
            String previousText = null;
            for (String[] cells = csv.next(notes); cells != null; cells = csv.next(notes)) {
                LocalDateTime t = NabTimestamps.parse(cells[time]);
                if (t == null) {
                    throw new IOException(csv.where() + ": timestamp '" + cells[time] + "' is not "
                            + NabTimestamps.EXPECTED);
                }
                if (!timestamps.isEmpty()) {
                    LocalDateTime previous = timestamps.get(timestamps.size() - 1);
                    if (t.equals(previous)) {
                        notes.count(Kind.REPEATED_TIMESTAMP, csv.where());
                    } else if (t.isBefore(previous)) {
                        notes.count(Kind.BACKWARD_TIMESTAMP, csv.where() + " ('" + cells[time] + "' after '"
                                + previousText + "')");
                    }
                }
                previousText = cells[time];
                int row = timestamps.size();
                if (row == values.length) {
                    values = Arrays.copyOf(values, row * 2);
                }
                values[row] = number(cells[value], csv);
                if (Double.isNaN(values[row])) {
                    notes.count(Kind.MISSING_VALUE, csv.where());
                    if (missingCount == missing.length) {
                        missing = Arrays.copyOf(missing, missingCount * 2);
                    }
                    missing[missingCount++] = row;
                }
                timestamps.add(t);
            }
        }
        if (timestamps.isEmpty()) {
            throw new IOException(file + ": a header and no rows");
        }
        double[] filled = Arrays.copyOf(values, timestamps.size());
        carryForward(filled, file);
        return new Series(name, timestamps.toArray(LocalDateTime[]::new), filled, Arrays.copyOf(missing, missingCount));
    }

    /** The cell's value, NaN when missing (infinite counts as missing); text that is no number is an error. */
    private static double number(String text, NabCsv csv) throws IOException {
        if (MISSING.contains(text.toLowerCase(Locale.ROOT))) {
            return Double.NaN;
        }
        try {
            double v = Double.parseDouble(text);
            return Double.isFinite(v) ? v : Double.NaN;
        } catch (NumberFormatException e) {
            throw new IOException(csv.where() + ": value '" + text + "' is not a number");
        }
    }

    /** Each NaN becomes the previous value; the leading ones the first value. */
    private static void carryForward(double[] values, Path file) throws IOException {
        int first = 0;
        while (first < values.length && Double.isNaN(values[first])) {
            first++;
        }
        if (first == values.length) {
            throw new IOException(file + ": no row has a value");
        }
        Arrays.fill(values, 0, first, values[first]);
        for (int i = first + 1; i < values.length; i++) {
            if (Double.isNaN(values[i])) {
                values[i] = values[i - 1];
            }
        }
    }
}

package io.flinkmamba.nab;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.nab.CorpusNotes.Kind;
import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.nab.NabCorpus.Window;

import java.io.IOException;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * {@code labels/combined_windows.json}: for each data file (by its path under {@code data/}) a list of
 * anomaly windows {@code [start, end]}, both ends inclusive. {@link #fit} turns a file's windows into windows
 * whose limits are rows of the file, which is how NAB's scorer matches them.
 */
final class NabLabels {
    private NabLabels() {}

    /** The windows of every entry, as written (each start at or before its end, else an error). */
    static Map<String, List<Window>> read(Path labels) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION).readTree(labels.toFile());
        } catch (JsonProcessingException e) {
            String at = e.getLocation() == null ? "" : " at line " + e.getLocation().getLineNr();
            throw new IOException(labels + ": not valid JSON" + at + ": " + String.valueOf(e.getOriginalMessage()).lines().findFirst()
                    .orElse(""));
        }
        if (root == null || !root.isObject()) {
            throw new IOException(labels + ": not a JSON object of data file names to lists of windows");
        }
        Map<String, List<Window>> out = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String entry = labels + ": " + e.getKey();
            if (!e.getValue().isArray()) {
                throw new IOException(entry + ": not a list of windows");
            }
            List<Window> list = new ArrayList<>();
            int k = 0;
            for (JsonNode w : e.getValue()) {
                String where = entry + " window " + ++k;
                if (!w.isArray() || w.size() != 2 || !w.get(0).isTextual() || !w.get(1).isTextual()) {
                    throw new IOException(where + ": not [start, end] timestamps: " + w);
                }
                Window window = new Window(timestamp(w.get(0).asText(), where), timestamp(w.get(1).asText(), where));
                if (window.end().isBefore(window.start())) {
                    throw new IOException(where + ": starts after it ends: " + w);
                }
                list.add(window);
            }
            out.put(e.getKey(), list);
        }
        return out;
    }

    private static LocalDateTime timestamp(String text, String where) throws IOException {
        LocalDateTime t = NabTimestamps.parse(text);
        if (t == null) {
            throw new IOException(where + ": timestamp '" + text + "' is not " + NabTimestamps.EXPECTED);
        }
        return t;
    }

    /**
     * The file's windows as NAB's scorer needs them, as rows of the file in file order. A limit that is a
     * row's timestamp is the first row at it, as NAB matches it. Otherwise (counted as narrowed) the window
     * starts at the first row after its start, and ends at the last row of the run from its start row whose
     * timestamps stay before its end (at the first row of that timestamp, should it repeat). A window left with
     * no row is dropped (counted). Sorted by first row, a window that shares a row with the one before is
     * merged into it (counted).
     */
    static List<Window> fit(String labelsEntry, List<Window> windows, Series series, CorpusNotes notes) {
        LocalDateTime[] t = series.timestamps();
        List<int[]> rows = new ArrayList<>();
        for (Window w : windows) {
            String where = labelsEntry + " window [" + NabTimestamps.OUT.format(w.start()) + ", "
                    + NabTimestamps.OUT.format(w.end()) + "]";
            int first = firstRowAt(t, w.start());
            int last = firstRowAt(t, w.end());
            boolean narrowed = first < 0 || last < 0;
            if (first < 0) {
                first = firstRowAfter(t, w.start());
            }
            if (last < 0 && first < t.length) {
                last = first - 1;
                while (last + 1 < t.length && t[last + 1].isBefore(w.end())) {
                    last++;
                }
                last = last < first ? -1 : firstRowAt(t, t[last]);
            }
            if (first >= t.length || last < first) {
                notes.count(Kind.WINDOW_DROPPED, where);
                continue;
            }
            if (narrowed) {
                notes.count(Kind.WINDOW_NARROWED, where);
            }
            rows.add(new int[] {first, last});
        }
        rows.sort(Comparator.comparingInt((int[] r) -> r[0]));
        List<int[]> merged = new ArrayList<>();
        for (int[] r : rows) {
            int[] previous = merged.isEmpty() ? null : merged.get(merged.size() - 1);
            if (previous != null && r[0] <= previous[1]) {
                notes.count(Kind.WINDOW_MERGED, labelsEntry + " window [" + NabTimestamps.OUT.format(t[r[0]]) + ", "
                        + NabTimestamps.OUT.format(t[r[1]]) + "]");
                previous[1] = Math.max(previous[1], r[1]);
            } else {
                merged.add(r);
            }
        }
        return merged.stream().map(r -> new Window(t[r[0]], t[r[1]])).toList();
    }

    /** The first row at {@code when}, or -1. */
    private static int firstRowAt(LocalDateTime[] t, LocalDateTime when) {
        for (int i = 0; i < t.length; i++) {
            if (t[i].equals(when)) {
                return i;
            }
        }
        return -1;
    }

    /** The first row after {@code when} (the row count when there is none); it is the first row at its time. */
    private static int firstRowAfter(LocalDateTime[] t, LocalDateTime when) {
        int i = 0;
        while (i < t.length && !t[i].isAfter(when)) {
            i++;
        }
        return i;
    }
}

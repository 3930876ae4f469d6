package io.flinkmamba.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.MappingIterator;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.csv.CsvMapper;
import com.fasterxml.jackson.dataformat.csv.CsvParser;
import com.fasterxml.jackson.dataformat.csv.CsvSchema;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.train.TrainingSequence;

import java.io.BufferedReader;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * Keyed events from a CSV file (with a header row) or JSON lines (one object per line): a key field, a
 * timestamp field (epoch milliseconds, ISO-8601 instant, or a local date-time such as
 * {@code 2014-04-01 00:00:00}, read as UTC), numeric fields and an optional categorical field. Each key's
 * events are ordered by timestamp (stable for equal times); the categories are the values seen, sorted.
 */
final class EventFile {

    /** The sequences and their schema; {@code skipped} rows were invalid (only with skipInvalid). */
    record Contents(EventSchema schema, List<TrainingSequence> sequences, long events, long skipped) {}

    private record Row(long time, float[] numeric, String category) {}

    private final String keyField;
    private final String timeField;
    private final List<String> numericFields;
    private final String categoryField;
    private final boolean skipInvalid;

    EventFile(String keyField, String timeField, List<String> numericFields, String categoryField,
              boolean skipInvalid) {
        this.keyField = keyField;
        this.timeField = timeField;
        this.numericFields = List.copyOf(numericFields);
        this.categoryField = categoryField;
        this.skipInvalid = skipInvalid;
    }

    /** Reads {@code file}; format "csv", "jsonl", or "auto" (by the file name's extension). */
    Contents read(Path file, String format) throws IOException {
        String kind = format.equals("auto") ? (file.getFileName().toString().toLowerCase(java.util.Locale.ROOT)
                .matches(".*\\.(jsonl|ndjson|json)") ? "jsonl" : "csv") : format;
        Map<String, List<Row>> byKey = new LinkedHashMap<>();
        long[] skipped = new long[1];
        long events;
        switch (kind) {
            case "csv" -> events = readCsv(file, byKey, skipped);
            case "jsonl" -> events = readJsonLines(file, byKey, skipped);
            default -> throw new IllegalArgumentException("unknown input format '" + format + "' (csv, jsonl, auto)");
        }
        if (byKey.isEmpty()) {
            throw new IllegalArgumentException(file + ": no events");
        }
        TreeSet<String> categories = new TreeSet<>();
        if (categoryField != null) {
            byKey.values().forEach(rows -> rows.forEach(r -> categories.add(r.category())));
        }
        EventSchema schema = new EventSchema(numericFields, categoryField, new ArrayList<>(categories));
        List<TrainingSequence> sequences = new ArrayList<>();
        for (Map.Entry<String, List<Row>> e : byKey.entrySet()) {
            List<Row> rows = e.getValue();
            rows.sort(Comparator.comparingLong(Row::time));
            float[][] numeric = new float[rows.size()][];
            int[] category = categoryField == null ? null : new int[rows.size()];
            for (int t = 0; t < rows.size(); t++) {
                numeric[t] = rows.get(t).numeric();
                if (category != null) {
                    category[t] = schema.categoryIndex(rows.get(t).category());
                }
            }
            sequences.add(new TrainingSequence(e.getKey(), numeric, category));
        }
        return new Contents(schema, sequences, events, skipped[0]);
    }

    private long readCsv(Path file, Map<String, List<Row>> byKey, long[] skipped) throws IOException {
        CsvMapper mapper = new CsvMapper();
        mapper.enable(CsvParser.Feature.TRIM_SPACES);
        long events = 0;
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
             MappingIterator<Map<String, String>> rows = mapper.readerForMapOf(String.class)
                     .with(CsvSchema.emptySchema().withHeader()).readValues(reader)) {
            long line = 1;
            while (rows.hasNextValue()) {
                line++;
                Map<String, String> row;
                try {
                    row = rows.nextValue();
                } catch (RuntimeException e) {
                    events += invalid(file, line, "not a CSV row: " + e.getMessage(), skipped);
                    continue;
                }
                events += add(file, line, row::get, byKey, skipped);
            }
        }
        return events;
    }

    private long readJsonLines(Path file, Map<String, List<Row>> byKey, long[] skipped) throws IOException {
        ObjectMapper mapper = new ObjectMapper();
        long events = 0;
        long line = 0;
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String text = reader.readLine(); text != null; text = reader.readLine()) {
                line++;
                if (text.isBlank()) {
                    continue;
                }
                JsonNode node;
                try {
                    node = mapper.readTree(text);
                } catch (IOException e) {
                    events += invalid(file, line, "not JSON: " + e.getMessage().lines().findFirst().orElse(""), skipped);
                    continue;
                }
                if (!node.isObject()) {
                    events += invalid(file, line, "not a JSON object", skipped);
                    continue;
                }
                events += add(file, line, field -> {
                    JsonNode value = node.get(field);
                    return value == null || value.isNull() ? null : value.asText();
                }, byKey, skipped);
            }
        }
        return events;
    }

    /** Adds one row; returns 1 when added, 0 when skipped; throws for an invalid row without skipInvalid. */
    private long add(Path file, long line, java.util.function.Function<String, String> field,
                     Map<String, List<Row>> byKey, long[] skipped) {
        String key = field.apply(keyField);
        if (key == null || key.isEmpty()) {
            return invalid(file, line, "no key field '" + keyField + "'", skipped);
        }
        String timeText = field.apply(timeField);
        Long time = timeText == null ? null : parseTime(timeText);
        if (time == null) {
            return invalid(file, line, "timestamp field '" + timeField + "' is "
                    + (timeText == null ? "missing" : "'" + timeText + "', not epoch milliseconds or a date-time"), skipped);
        }
        float[] numeric = new float[numericFields.size()];
        for (int i = 0; i < numeric.length; i++) {
            String text = field.apply(numericFields.get(i));
            float value;
            try {
                value = text == null ? Float.NaN : Float.parseFloat(text);
            } catch (NumberFormatException e) {
                value = Float.NaN;
            }
            if (!Float.isFinite(value)) {
                return invalid(file, line, "numeric field '" + numericFields.get(i) + "' is "
                        + (text == null ? "missing" : "'" + text + "'"), skipped);
            }
            numeric[i] = value;
        }
        String category = null;
        if (categoryField != null) {
            category = field.apply(categoryField);
            if (category == null || category.isEmpty()) {
                return invalid(file, line, "categorical field '" + categoryField + "' is missing", skipped);
            }
        }
        byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(new Row(time, numeric, category));
        return 1;
    }

    private long invalid(Path file, long line, String why, long[] skipped) {
        if (!skipInvalid) {
            throw new IllegalArgumentException(file + " line " + line + ": " + why
                    + " (--skip-invalid skips such rows)");
        }
        skipped[0]++;
        return 0;
    }

    /** Epoch milliseconds, an ISO-8601 instant, or a local date-time (UTC); null when none of these. */
    static Long parseTime(String text) {
        String t = text.trim();
        try {
            return Long.parseLong(t);
        } catch (NumberFormatException ignored) {
            // not epoch milliseconds
        }
        try {
            return Instant.parse(t).toEpochMilli();
        } catch (DateTimeParseException ignored) {
            // not an instant
        }
        try {
            return LocalDateTime.parse(t.replace(' ', 'T')).toInstant(ZoneOffset.UTC).toEpochMilli();
        } catch (DateTimeParseException ignored) {
            return null;
        }
    }
}

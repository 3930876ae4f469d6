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
import java.util.function.Function;

/**
 * Keyed events from a CSV file (with a header row) or JSON lines (one object per line): a key field, a
 * timestamp field (epoch milliseconds, ISO-8601 instant, or a local date-time such as
 * {@code 2014-04-01 00:00:00}, read as UTC), numeric fields and an optional categorical field. Each key's
 * events are ordered by timestamp (stable for equal times); the categories are the values seen, sorted.
 * Other sources of JSON events (a Kafka topic, {@link TopicSnapshot}) add them through {@link Events}.
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
        Events events = new Events();
        switch (kind) {
            case "csv" -> readCsv(file, events);
            case "jsonl" -> readJsonLines(file, events);
            default -> throw new IllegalArgumentException("unknown input format '" + format + "' (csv, jsonl, auto)");
        }
        return events.contents(file.toString());
    }

    /** An empty collection of events to fill one record at a time, from a source other than a file. */
    Events events() {
        return new Events();
    }

    private void readCsv(Path file, Events events) throws IOException {
        CsvMapper mapper = new CsvMapper();
        mapper.enable(CsvParser.Feature.TRIM_SPACES);
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8);
             MappingIterator<Map<String, String>> rows = mapper.readerForMapOf(String.class)
                     .with(CsvSchema.emptySchema().withHeader()).readValues(reader)) {
            String source = file + " line ";
            long line = 1;
            while (rows.hasNextValue()) {
                line++;
                Map<String, String> row;
                try {
                    row = rows.nextValue();
                } catch (RuntimeException e) {
                    events.invalid(source, line, "not a CSV row: " + e.getMessage());
                    continue;
                }
                events.add(source, line, row::get);
            }
        }
    }

    private void readJsonLines(Path file, Events events) throws IOException {
        String source = file + " line ";
        long line = 0;
        try (BufferedReader reader = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            for (String text = reader.readLine(); text != null; text = reader.readLine()) {
                line++;
                if (!text.isBlank()) {
                    events.addJson(source, line, text);
                }
            }
        }
    }

    /**
     * Events grouped by key in the order they were added; {@link #contents} orders each key's events by time.
     * An invalid record throws, naming where it came from, or is counted and skipped with skipInvalid. A record
     * is named by its source and position, {@code source + position} ("data.csv line 7", "topic t partition 0
     * offset 42"), joined only for an invalid one.
     */
    final class Events {
        private final ObjectMapper mapper = new ObjectMapper();
        private final Map<String, List<Row>> byKey = new LinkedHashMap<>();
        private long events;
        private long skipped;

        /** Adds one JSON object, at {@code position} of {@code source} (a file's line, a topic's offset). */
        void addJson(String source, long position, String text) {
            JsonNode node;
            try {
                node = mapper.readTree(text);
            } catch (IOException e) {
                invalid(source, position, "not JSON: " + e.getMessage().lines().findFirst().orElse(""));
                return;
            }
            if (node == null || !node.isObject()) {
                invalid(source, position, "not a JSON object");
                return;
            }
            add(source, position, field -> {
                JsonNode value = node.get(field);
                return value == null || value.isNull() ? null : value.asText();
            });
        }

        /** Adds one record given by its fields' text (null when absent). */
        void add(String source, long position, Function<String, String> field) {
            String key = field.apply(keyField);
            if (key == null || key.isEmpty()) {
                invalid(source, position, "no key field '" + keyField + "'");
                return;
            }
            String timeText = field.apply(timeField);
            Long time = timeText == null ? null : parseTime(timeText);
            if (time == null) {
                invalid(source, position, "timestamp field '" + timeField + "' is "
                        + (timeText == null ? "missing" : "'" + timeText + "', not epoch milliseconds or a date-time"));
                return;
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
                    invalid(source, position, "numeric field '" + numericFields.get(i) + "' is "
                            + (text == null ? "missing" : "'" + text + "'"));
                    return;
                }
                numeric[i] = value;
            }
            String category = null;
            if (categoryField != null) {
                category = field.apply(categoryField);
                if (category == null || category.isEmpty()) {
                    invalid(source, position, "categorical field '" + categoryField + "' is missing");
                    return;
                }
            }
            byKey.computeIfAbsent(key, k -> new ArrayList<>()).add(new Row(time, numeric, category));
            events++;
        }

        /** An invalid record: fails the read, or with skipInvalid counts it. */
        void invalid(String source, long position, String why) {
            if (!skipInvalid) {
                throw new IllegalArgumentException(source + position + ": " + why
                        + " (--skip-invalid skips such rows)");
            }
            skipped++;
        }

        /** The sequences (each key's events ordered by time, stable for equal times) and their schema. */
        Contents contents(String source) {
            if (byKey.isEmpty()) {
                throw new IllegalArgumentException(source + ": no events");
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
                double[][] numeric = new double[rows.size()][];
                int[] category = categoryField == null ? null : new int[rows.size()];
                for (int t = 0; t < rows.size(); t++) {
                    numeric[t] = widened(rows.get(t).numeric());
                    if (category != null) {
                        category[t] = schema.categoryIndex(rows.get(t).category());
                    }
                }
                sequences.add(new TrainingSequence(e.getKey(), numeric, category));
            }
            return new Contents(schema, sequences, events, skipped);
        }
    }

    private static double[] widened(float[] values) {
        double[] out = new double[values.length];
        for (int i = 0; i < values.length; i++) {
            out[i] = values[i];
        }
        return out;
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

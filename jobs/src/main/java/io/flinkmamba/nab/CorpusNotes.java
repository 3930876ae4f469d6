package io.flinkmamba.nab;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * What reading a corpus (or a detector's results) kept but changed, or left out, by rule: how often each
 * rule applied and where first. Bad data that no rule covers is an error instead, never a note.
 */
public final class CorpusNotes {
    /** The rules, each with what it does, as the command prints it after the count. */
    public enum Kind {
        BLANK_LINE("blank lines: skipped"),
        EXTRA_COLUMNS("files with more columns than the ones read: the others ignored"),
        REPEATED_TIMESTAMP("rows whose timestamp repeats the previous row's: kept, scored by position (as NAB"
                + " does)"),
        BACKWARD_TIMESTAMP("rows whose timestamp is before the previous row's: kept in file order, scored by"
                + " position (as NAB does)"),
        MISSING_VALUE("rows with an empty, NaN or infinite value: kept, with the previous row's value (the first"
                + " value for the rows before it)"),
        UNLABELLED_FILE("data files with no labels entry: left out of the corpus"),
        UNKNOWN_LABELS("labels entries that name no data file: ignored"),
        WINDOW_NARROWED("windows whose limits are no row's timestamp (or lie past the file's ends): narrowed to the"
                + " rows inside"),
        WINDOW_DROPPED("windows with no row inside (outside the file's time range, or between two rows): dropped"),
        WINDOW_MERGED("windows that overlap an earlier window of the file: merged into it"),
        EXTRA_RESULTS("results files of no series of the corpus: ignored"),
        MISSING_SCORE("results rows with an empty or NaN anomaly_score: scored 0");

        private final String rule;

        Kind(String rule) {
            this.rule = rule;
        }

        public String rule() {
            return rule;
        }
    }

    private final Map<Kind, Integer> counts = new EnumMap<>(Kind.class);
    private final Map<Kind, String> first = new EnumMap<>(Kind.class);

    /** One more case of the rule, at {@code where} (a file and line, a labels entry). */
    void count(Kind kind, String where) {
        counts.merge(kind, 1, Integer::sum);
        first.putIfAbsent(kind, where);
    }

    public int count(Kind kind) {
        return counts.getOrDefault(kind, 0);
    }

    public boolean isEmpty() {
        return counts.isEmpty();
    }

    /** One line per rule that applied: {@code <count> <rule> (first: <where>)}, in the rules' order. */
    public List<String> lines() {
        List<String> lines = new ArrayList<>();
        counts.forEach((kind, n) -> lines.add(n + " " + kind.rule() + " (first: " + first.get(kind) + ")"));
        return lines;
    }
}

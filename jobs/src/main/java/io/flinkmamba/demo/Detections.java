package io.flinkmamba.demo;

import io.flinkmamba.demo.SyntheticMetrics.Anomaly;
import io.flinkmamba.demo.SyntheticMetrics.Kind;
import io.flinkmamba.demo.SyntheticMetrics.Series;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;

/**
 * Scores detections against the injected anomalies. An event is flagged when its anomaly score reaches the
 * threshold; flagged events of a key less than {@link #MERGE_GAP} events apart form one alarm, placed at its first
 * event. An alarm is a true positive when it starts inside an anomaly's window, from its first changed event to
 * {@link #WINDOW} events after its last; an anomaly is detected when an alarm starts inside its window.
 * Precision = true-positive alarms / alarms; recall = detected anomalies / anomalies.
 */
public final class Detections {
    /** Events after an anomaly's last changed event in which an alarm still counts for it. */
    public static final int WINDOW = 30;
    /** Flagged events closer than this belong to one alarm. */
    public static final int MERGE_GAP = 10;

    /** The result; {@code alarms} per key, as event indices. */
    public record Result(int anomalies, int detected, int alarmCount, int truePositiveAlarms,
                         Map<Kind, int[]> detectedByKind, Map<String, List<Integer>> alarms) {
        public double precision() {
            return alarmCount == 0 ? 0 : (double) truePositiveAlarms / alarmCount;
        }

        public double recall() {
            return anomalies == 0 ? 0 : (double) detected / anomalies;
        }
    }

    private Detections() {}

    /** {@code anomalyScores} per key, per event index (NaN where the job gave none). */
    public static Result evaluate(List<Series> series, Map<String, double[]> anomalyScores, double threshold) {
        int anomalies = 0;
        int detected = 0;
        int alarmCount = 0;
        int truePositives = 0;
        Map<Kind, int[]> byKind = new EnumMap<>(Kind.class);
        for (Kind kind : Kind.values()) {
            byKind.put(kind, new int[2]);
        }
        Map<String, List<Integer>> alarmsByKey = new java.util.LinkedHashMap<>();
        for (Series s : series) {
            List<Integer> alarms = alarms(anomalyScores.get(s.key()), threshold);
            alarmsByKey.put(s.key(), alarms);
            alarmCount += alarms.size();
            for (int alarm : alarms) {
                if (s.anomalies().stream().anyMatch(a -> inWindow(a, alarm))) {
                    truePositives++;
                }
            }
            for (Anomaly a : s.anomalies()) {
                anomalies++;
                byKind.get(a.kind())[1]++;
                if (alarms.stream().anyMatch(alarm -> inWindow(a, alarm))) {
                    detected++;
                    byKind.get(a.kind())[0]++;
                }
            }
        }
        return new Result(anomalies, detected, alarmCount, truePositives, byKind, alarmsByKey);
    }

    static boolean inWindow(Anomaly a, int event) {
        return event >= a.start() && event < a.end() + WINDOW;
    }

    static List<Integer> alarms(double[] likelihood, double threshold) {
        List<Integer> alarms = new ArrayList<>();
        int lastFlagged = Integer.MIN_VALUE / 2;
        for (int t = 0; t < likelihood.length; t++) {
            if (likelihood[t] >= threshold) {
                if (t - lastFlagged >= MERGE_GAP) {
                    alarms.add(t);
                }
                lastFlagged = t;
            }
        }
        return alarms;
    }
}

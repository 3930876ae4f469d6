package io.flinkmamba.nab;

import io.flinkmamba.nab.NabCorpus.Series;
import io.flinkmamba.nab.NabCorpus.Window;

import java.time.LocalDateTime;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.stream.IntStream;

/**
 * NAB's scoring (its {@code nab/sweeper.py}, NAB 1.x) for one profile.
 *
 * <p>{@link #sweep} gives each row the NAB score it would earn if it were a detection: inside a window the
 * scaled sigmoid of its position relative to the window's end (divided by the sigmoid at the window's
 * start so that the earliest row earns the full TP weight); outside every window, a false positive whose
 * cost depends on how far past the preceding window's end it lies (the full FP weight before the first
 * window). Rows of the probation period (the first {@code min(floor(0.15 n), 750)} rows) never count.
 * At a threshold, a row is a detection when its anomaly score is at or above it; each window counts its
 * best (earliest) detection, or minus the FN weight when it has none; false positives add up.
 */
public final class Sweeper {
    /** The share of each file's rows that NAB leaves out (at most {@code 0.15 * 5000} rows). */
    public static final double PROBATION_PERCENT = 0.15;
    /** NAB's starting threshold, above every anomaly score in [0, 1]: nothing is detected. */
    public static final double NOTHING_DETECTED = 1.1;

    private final Profile profile;

    public Sweeper(Profile profile) {
        this.profile = profile;
    }

    public Profile profile() {
        return profile;
    }

    /** The rows of one file that count, with what each would earn as a detection. */
    public record SweptFile(String name, int rows, double[] anomalyScores, double[] sweepScores,
                            int[] window, int windowCount) {}

    /** One file's (or the corpus's) result at a threshold: NAB's score and its row counts. */
    public record Score(double threshold, double score, int tp, int tn, int fp, int fn, int rows) {
        Score plus(Score o) {
            return new Score(threshold, score + o.score, tp + o.tp, tn + o.tn, fp + o.fp, fn + o.fn, rows + o.rows);
        }
    }

    /** The probation period of a file of {@code rows} rows, as NAB computes it. */
    public static double probationLength(int rows) {
        return Math.min(Math.floor(PROBATION_PERCENT * rows), PROBATION_PERCENT * 5000);
    }

    /** NAB's scaled sigmoid: 2 sigmoid(-5 x) - 1, and -1 once more than 3 window lengths past a window. */
    public static double scaledSigmoid(double relativePosition) {
        return relativePosition > 3.0 ? -1.0 : 2 / (1 + Math.exp(5 * relativePosition)) - 1.0;
    }

    /**
     * Each row's would-be score. Windows are matched by exact timestamps, in order, as NAB does: a window
     * whose start or end is not one of the file's timestamps is an error.
     */
    public SweptFile sweep(Series series, List<Window> windows, double[] anomalyScores) {
        LocalDateTime[] t = series.timestamps();
        if (anomalyScores.length != t.length) {
            throw new IllegalArgumentException(series.name() + ": " + anomalyScores.length
                    + " anomaly scores for " + t.length + " rows");
        }
        int[] starts = new int[windows.size()];
        int[] ends = new int[windows.size()];
        for (int w = 0; w < windows.size(); w++) {
            starts[w] = indexOf(t, windows.get(w).start(), series.name());
            ends[w] = indexOf(t, windows.get(w).end(), series.name());
            if (w > 0 && starts[w] <= ends[w - 1]) {
                throw new IllegalArgumentException(series.name() + ": windows overlap or are out of order");
            }
        }
        double maxTp = scaledSigmoid(-1.0);
        double probation = probationLength(t.length);
        int first = (int) Math.ceil(probation);
        int n = t.length - first;
        double[] scores = Arrays.copyOfRange(anomalyScores, first, t.length);
        double[] sweep = new double[n];
        int[] window = new int[n];
        boolean[] windowCounts = new boolean[windows.size()];
        int next = 0;
        int current = -1;
        int previous = -1;
        for (int i = 0; i < t.length; i++) {
            if (next < windows.size() && i == starts[next]) {
                current = next++;
            }
            double weighted;
            if (current >= 0) {
                double width = ends[current] - starts[current] + 1;
                weighted = scaledSigmoid(-(ends[current] - i + 1) / width) * profile.tpWeight() / maxTp;
            } else if (previous < 0) {
                weighted = -1.0 * profile.fpWeight();
            } else {
                double width = ends[previous] - starts[previous] + 1;
                weighted = scaledSigmoid(Math.abs(ends[previous] - i) / (width - 1)) * profile.fpWeight();
            }
            if (i >= probation) {
                sweep[i - first] = weighted;
                window[i - first] = current;
                if (current >= 0) {
                    windowCounts[current] = true;
                }
            }
            if (current >= 0 && i == ends[current]) {
                previous = current;
                current = -1;
            }
        }
        // a window wholly inside the probation period is not scored at all (neither TP nor FN)
        int counted = renumber(window, windowCounts);
        return new SweptFile(series.name(), t.length, scores, sweep, window, counted);
    }

    /** Numbers the counted windows 0..k-1 in {@code window} and returns k. */
    private static int renumber(int[] window, boolean[] counts) {
        int[] id = new int[counts.length];
        int k = 0;
        for (int w = 0; w < counts.length; w++) {
            id[w] = counts[w] ? k++ : -1;
        }
        for (int i = 0; i < window.length; i++) {
            window[i] = window[i] < 0 ? -1 : id[window[i]];
        }
        return k;
    }

    private static int indexOf(LocalDateTime[] t, LocalDateTime when, String name) {
        for (int i = 0; i < t.length; i++) {
            if (t[i].equals(when)) {
                return i;
            }
        }
        throw new IllegalArgumentException(name + ": window limit " + when + " is not a timestamp of the file");
    }

    /** The file's score at a threshold (a row with anomaly score >= threshold is a detection). */
    public Score score(SweptFile f, double threshold) {
        double[] best = new double[f.windowCount()];
        Arrays.fill(best, -profile.fnWeight());
        double fpScore = 0;
        int tp = 0;
        int tn = 0;
        int fp = 0;
        int fn = 0;
        for (int i = 0; i < f.anomalyScores().length; i++) {
            boolean detected = f.anomalyScores()[i] >= threshold;
            int w = f.window()[i];
            if (w >= 0) {
                if (detected) {
                    tp++;
                    best[w] = Math.max(best[w], f.sweepScores()[i]);
                } else {
                    fn++;
                }
            } else if (detected) {
                fp++;
                fpScore += f.sweepScores()[i];
            } else {
                tn++;
            }
        }
        return new Score(threshold, fpScore + Arrays.stream(best).sum(), tp, tn, fp, fn, f.rows());
    }

    /** The corpus's score at a threshold: the sum over its files. */
    public Score score(List<SweptFile> files, double threshold) {
        Score total = new Score(threshold, 0, 0, 0, 0, 0, 0);
        for (SweptFile f : files) {
            total = total.plus(score(f, threshold));
        }
        return total;
    }

    /**
     * The threshold that maximizes the corpus's score, as NAB's optimizer finds it: every distinct anomaly
     * score of the counted rows (and {@link #NOTHING_DETECTED}) is a candidate; ties go to the higher one.
     */
    public Score optimize(List<SweptFile> files) {
        int total = files.stream().mapToInt(f -> f.anomalyScores().length).sum();
        double[] scores = new double[total];
        double[] sweep = new double[total];
        int[] window = new int[total];
        int offset = 0;
        int windowOffset = 0;
        for (SweptFile f : files) {
            int n = f.anomalyScores().length;
            System.arraycopy(f.anomalyScores(), 0, scores, offset, n);
            System.arraycopy(f.sweepScores(), 0, sweep, offset, n);
            for (int i = 0; i < n; i++) {
                window[offset + i] = f.window()[i] < 0 ? -1 : windowOffset + f.window()[i];
            }
            offset += n;
            windowOffset += f.windowCount();
        }
        double[] best = new double[windowOffset];
        Arrays.fill(best, -profile.fnWeight());
        double score = -profile.fnWeight() * windowOffset;
        double bestScore = score;
        double bestThreshold = NOTHING_DETECTED;
        Integer[] order = IntStream.range(0, total).boxed().toArray(Integer[]::new);
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> scores[i]).reversed());
        for (int k = 0; k < total; ) {
            double threshold = scores[order[k]];
            for (; k < total && scores[order[k]] == threshold; k++) {
                int i = order[k];
                int w = window[i];
                if (w < 0) {
                    score += sweep[i];
                } else if (sweep[i] > best[w]) {
                    score += sweep[i] - best[w];
                    best[w] = sweep[i];
                }
            }
            if (score > bestScore) {
                bestScore = score;
                bestThreshold = threshold;
            }
        }
        // recomputed at the chosen threshold so that the counts come with it and no running sum is trusted
        return score(files, bestThreshold);
    }
}

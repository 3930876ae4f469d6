package io.flinkmamba.jobs.anomaly;

import java.io.Serializable;
import java.util.Arrays;

/**
 * A contextual signal that a one-step predictor cannot give: how far a value lies from the values at the
 * same phase of the series' period in the previous {@code periods} periods (from their median, so that one
 * unusual earlier period does not count), in standard deviations of the series so far. A one-step model
 * follows a level or pattern change within a few rows (a holiday, a day that jumps down or stays flat);
 * this residual stays large for as long as the changed period lasts.
 *
 * <p>The period is a day or a week in rows, rows per day from the series' first interval, if the series'
 * autocorrelation at that lag is above {@code minAutocorrelation}: after {@code periods} days, the day's
 * (over the rows so far); after {@code periods} weeks, the larger of the day's and the week's (over the
 * rows so far), which then stays. No period (and so no residual) when neither is, or a day has fewer than
 * two rows. The residual is NaN while there is no period or fewer than {@code periods} periods have been
 * seen. Causal: it uses the series' past and present only.
 *
 * <p>The state is a plain {@code double[STATE_SIZE]}, zero for a new series: rows seen, first timestamp,
 * rows per day (-1: no period possible), the period in rows (0: none), then per candidate lag (day, week)
 * the sums of its autocorrelation; the past values themselves, the last {@code periods} weeks of rows
 * (only the last {@code periods} periods once the period is final), are in a {@link History}.
 */
public final class SeasonalResidual implements Serializable {
    private static final long serialVersionUID = 1L;
    public static final int DEFAULT_PERIODS = 3;
    public static final double DEFAULT_MIN_AUTOCORRELATION = 0.5;
    /** A week of rows a minute apart. */
    public static final int DEFAULT_MAX_PERIOD_ROWS = 7 * 24 * 60;
    static final long DAY_MILLIS = 86_400_000L;
    private static final int DAYS_PER_WEEK = 7;
    private static final int ROWS = 0;
    private static final int FIRST_TIMESTAMP = 1;
    private static final int ROWS_PER_DAY = 2;
    private static final int PERIOD = 3;
    private static final int LAG_SUMS = 4;
    /** Per lag: pairs, sum of the earlier values, of the later ones, of their squares, of their products. */
    private static final int SUMS = 6;
    public static final int STATE_SIZE = LAG_SUMS + 2 * SUMS;

    private final int periods;
    private final double minAutocorrelation;
    private final int maxPeriodRows;

    /**
     * @param periods             earlier periods whose median at the same phase the residual is taken from
     * @param minAutocorrelation  the autocorrelation at a lag above which the lag counts as the period
     * @param maxPeriodRows       series with more rows per week than this get no period (bounds the history)
     */
    public SeasonalResidual(int periods, double minAutocorrelation, int maxPeriodRows) {
        if (periods < 1 || !(minAutocorrelation >= -1 && minAutocorrelation < 1) || maxPeriodRows < 2) {
            throw new IllegalArgumentException("seasonal residual: periods must be at least 1 (is " + periods
                    + "), the autocorrelation in [-1, 1) (is " + minAutocorrelation + "), the period rows at least 2"
                    + " (is " + maxPeriodRows + ")");
        }
        this.periods = periods;
        this.minAutocorrelation = minAutocorrelation;
        this.maxPeriodRows = maxPeriodRows;
    }

    public static SeasonalResidual withDefaults() {
        return new SeasonalResidual(DEFAULT_PERIODS, DEFAULT_MIN_AUTOCORRELATION, DEFAULT_MAX_PERIOD_ROWS);
    }

    public int periods() {
        return periods;
    }

    /** A series' past values by row (the job keeps them in Flink keyed state). */
    public interface History {
        double get(long row) throws Exception;

        void put(long row, double value) throws Exception;

        void remove(long row) throws Exception;

        void clear() throws Exception;
    }

    /**
     * The residual of {@code value} (at {@code timestampMillis}) given the state and history of the series
     * so far, {@code scale} being the series' standard deviation before it; then takes the value in.
     */
    public double next(double[] state, History history, long timestampMillis, double value, double scale)
            throws Exception {
        return next(state, 0, history, timestampMillis, value, scale);
    }

    /**
     * {@link #next(double[], History, long, double, double)} on the state in
     * {@code state[offset, offset + STATE_SIZE)}.
     */
    public double next(double[] state, int offset, History history, long timestampMillis, double value,
                              double scale) throws Exception {
        if (offset < 0 || offset + STATE_SIZE > state.length) {
            throw new IllegalArgumentException("seasonal residual state at " + offset + " needs " + STATE_SIZE
                    + " values, the array has " + state.length);
        }
        long row = (long) state[offset + ROWS];
        state[offset + ROWS] = row + 1;
        if (row == 0) {
            state[offset + FIRST_TIMESTAMP] = timestampMillis;
        } else if (row == 1) {
            double interval = timestampMillis - state[offset + FIRST_TIMESTAMP];
            long rowsPerDay = interval > 0 ? Math.round(DAY_MILLIS / interval) : 0;
            state[offset + ROWS_PER_DAY] = rowsPerDay >= 2 && DAYS_PER_WEEK * rowsPerDay <= maxPeriodRows
                    ? rowsPerDay : -1;
        }
        if (state[offset + ROWS_PER_DAY] < 0) {
            if (row == 1) {
                history.clear();
            }
            return Double.NaN;
        }
        history.put(row, value);
        if (row == 0) {
            return Double.NaN;
        }
        long day = (long) state[offset + ROWS_PER_DAY];
        long week = DAYS_PER_WEEK * day;
        if (row < periods * week) {
            addPair(state, offset + LAG_SUMS, history, row, day, value);
            addPair(state, offset + LAG_SUMS + SUMS, history, row, week, value);
            if (row + 1 == periods * day) {
                state[offset + PERIOD] = autocorrelation(state, offset + LAG_SUMS) > minAutocorrelation ? day : 0;
            } else if (row + 1 == periods * week) {
                double byDay = autocorrelation(state, offset + LAG_SUMS);
                double byWeek = autocorrelation(state, offset + LAG_SUMS + SUMS);
                state[offset + PERIOD] =
                        Math.max(byDay, byWeek) <= minAutocorrelation ? 0 : byWeek > byDay ? week : day;
                if (state[offset + PERIOD] == 0) {
                    state[offset + ROWS_PER_DAY] = -1; // no period from now on: the past values are not needed
                    history.clear();
                    return Double.NaN;
                }
            }
        }
        double residual = Double.NaN;
        long period = (long) state[offset + PERIOD];
        if (period > 0 && row >= periods * period) {
            double[] earlier = new double[periods];
            for (int k = 1; k <= periods; k++) {
                earlier[k - 1] = history.get(row - k * period);
            }
            residual = (value - median(earlier)) / scale;
        }
        if (row >= periods * week) {
            history.remove(row - periods * period);
        } else if (row + 1 == periods * week && period == day) {
            // The day is final: later rows read only rows after row - periods * day (the earliest this row read).
            for (long r = 0; r <= row - periods * day; r++) {
                history.remove(r);
            }
        }
        return residual;
    }

    /** The period chosen so far, in rows; 0 for none (yet). */
    static long period(double[] state) {
        return (long) state[PERIOD];
    }

    /** Adds the pair (the value {@code lag} rows back, this row's {@code later}) to the lag's sums at {@code at}. */
    private static void addPair(double[] state, int at, History history, long row, long lag, double later)
            throws Exception {
        if (row < lag) {
            return;
        }
        double earlier = history.get(row - lag);
        state[at] += 1;
        state[at + 1] += earlier;
        state[at + 2] += later;
        state[at + 3] += earlier * earlier;
        state[at + 4] += later * later;
        state[at + 5] += earlier * later;
    }

    /** Pearson's correlation of the lag's pairs; 0 without variation. */
    static double autocorrelation(double[] state, int at) {
        double n = state[at];
        if (n < 2) {
            return 0;
        }
        double covariance = state[at + 5] - state[at + 1] * state[at + 2] / n;
        double earlierVariance = state[at + 3] - state[at + 1] * state[at + 1] / n;
        double laterVariance = state[at + 4] - state[at + 2] * state[at + 2] / n;
        return earlierVariance > 0 && laterVariance > 0
                ? covariance / Math.sqrt(earlierVariance * laterVariance) : 0;
    }

    private static double median(double[] values) {
        Arrays.sort(values);
        int n = values.length;
        return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
    }
}

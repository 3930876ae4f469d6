package io.flinkmamba.jobs.anomaly;

import io.flinkmamba.event.SeriesFeatures;
import org.junit.jupiter.api.Test;

import java.util.HashMap;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.function.LongToDoubleFunction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SeasonalResidualTest {
    private static final long HOUR = 3_600_000L;
    private static final int DAY = 24;
    private static final int WEEK = 7 * DAY;
    private static final SeasonalResidual RESIDUAL = SeasonalResidual.withDefaults();
    private static final int PERIODS = RESIDUAL.periods();

    /** A series' residuals row by row, with its history in a map, as the job keeps it in a map state. */
    private static final class Run {
        final Map<Long, Double> values = new HashMap<>();
        final double[] state = new double[SeasonalResidual.STATE_SIZE];
        final double[] features = SeriesFeatures.newState();
        int maxHistory;
        long next;
        final SeasonalResidual.History history = new SeasonalResidual.History() {
            @Override
            public double get(long row) {
                Double v = values.get(row);
                if (v == null) {
                    throw new AssertionError("row " + row + " is not in the history");
                }
                return v;
            }

            @Override
            public void put(long row, double value) {
                values.put(row, value);
                maxHistory = Math.max(maxHistory, values.size());
            }

            @Override
            public void remove(long row) {
                values.remove(row);
            }

            @Override
            public void clear() {
                values.clear();
            }
        };

        /** The residuals of the series' next rows up to {@code rows} (exclusive), by row. */
        double[] run(int rows, long interval, LongToDoubleFunction value) throws Exception {
            double[] out = new double[rows];
            for (; next < rows; next++) {
                double v = value.applyAsDouble(next);
                double scale = SeriesFeatures.next(features, v).scale();
                out[(int) next] = RESIDUAL.next(state, history, next * interval, v, scale);
            }
            return out;
        }
    }

    private static double dailyWave(long row, SplittableRandom noise) {
        return 10 + 5 * Math.sin(2 * Math.PI * row / DAY) + 0.1 * noise.nextDouble();
    }

    @Test
    void aDayUnlikeTheEarlierOnesStandsOutForAsLongAsItLasts() throws Exception {
        SplittableRandom noise = new SplittableRandom(7);
        int flatDay = 30;
        Run run = new Run();
        double[] residual = run.run(40 * DAY, HOUR,
                r -> r / DAY == flatDay ? 10 + 0.1 * noise.nextDouble() : dailyWave(r, noise));
        for (int r = 0; r < PERIODS * DAY; r++) {
            assertTrue(Double.isNaN(residual[r]), "no residual before three periods, row " + r);
        }
        assertTrue(SeasonalResidual.period(run.state) == DAY || SeasonalResidual.period(run.state) == WEEK);
        for (int r = PERIODS * WEEK; r < flatDay * DAY; r++) {
            assertTrue(Math.abs(residual[r]) < 0.1, "an ordinary day, row " + r + ": " + residual[r]);
        }
        int far = 0;
        for (int r = flatDay * DAY; r < (flatDay + 1) * DAY; r++) {
            far += Math.abs(residual[r]) > 0.5 ? 1 : 0;
        }
        assertTrue(far > DAY / 2, "most of the flat day is far from the earlier days: " + far);
        for (int r = (flatDay + 1) * DAY; r < 40 * DAY; r++) {
            assertTrue(Math.abs(residual[r]) < 0.1, "one unusual earlier day does not count (median), row " + r);
        }
        assertTrue(run.maxHistory <= PERIODS * WEEK + 1, "history " + run.maxHistory);
    }

    @Test
    void onceTheDayIsFinalOnlyItsLastPeriodsDaysAreKept() throws Exception {
        SplittableRandom noise = new SplittableRandom(5);
        // A daily wave on a level that drifts over ten days: a day back is closer than a week back.
        LongToDoubleFunction series = r -> dailyWave(r, noise) + 2 * Math.sin(2 * Math.PI * (r / DAY) / 10.0);
        Run run = new Run();
        run.run(PERIODS * WEEK - 1, HOUR, series);
        assertEquals(PERIODS * WEEK - 1, run.values.size(), "every row until the choice is final");
        // A row whose earlier values were dropped would fail the history's get.
        double[] residual = run.run(5 * WEEK, HOUR, series);
        assertEquals(DAY, SeasonalResidual.period(run.state), "the day, after three weeks");
        assertEquals(PERIODS * DAY, run.values.size(), "the last three days");
        for (int r = PERIODS * WEEK - 1; r < 5 * WEEK; r++) {
            assertTrue(Double.isFinite(residual[r]), "row " + r + ": " + residual[r]);
        }
    }

    @Test
    void aWeeklyPatternTakesTheWeekAsItsPeriod() throws Exception {
        SplittableRandom noise = new SplittableRandom(3);
        // Weekdays follow a daily wave, weekends stay low: by the day, every Saturday would be an anomaly.
        LongToDoubleFunction series = r -> (r / DAY) % 7 >= 5 ? 2 + 0.1 * noise.nextDouble() : dailyWave(r, noise);
        Run run = new Run();
        run.run(PERIODS * DAY, HOUR, series);
        assertEquals(DAY, SeasonalResidual.period(run.state), "after three (week) days, the day");
        double[] residual = run.run(6 * WEEK, HOUR, series);
        assertEquals(WEEK, SeasonalResidual.period(run.state), "after three weeks, the week");
        for (int r = PERIODS * WEEK; r < 6 * WEEK; r++) {
            assertTrue(Math.abs(residual[r]) < 0.1, "row " + r + ": " + residual[r]);
        }
    }

    @Test
    void noPeriodInNoiseOrDailyRows() throws Exception {
        SplittableRandom noise = new SplittableRandom(11);
        Run run = new Run();
        double[] residual = run.run(4 * WEEK, HOUR, r -> noise.nextDouble());
        for (double r : residual) {
            assertTrue(Double.isNaN(r));
        }
        assertEquals(0, SeasonalResidual.period(run.state));
        assertTrue(run.values.isEmpty(), "the past values are dropped once no period can come");

        Run secondly = new Run(); // more rows per week than the history may hold: no period at all
        for (double r : secondly.run(2000, 1000, r -> Math.sin(2 * Math.PI * r / 100))) {
            assertTrue(Double.isNaN(r));
        }
        assertTrue(secondly.values.isEmpty());

        Run daily = new Run();
        for (double r : daily.run(100, 24 * HOUR, r -> Math.sin(r))) {
            assertTrue(Double.isNaN(r));
        }
        assertTrue(daily.values.isEmpty());
    }
}

package io.flinkmamba.cli;

import org.junit.jupiter.api.Test;


import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class OperatorBenchCommandTest {

    @Test
    void tinyRunPrintsEveryCellAndEndsWithTheSpeedup() {
        CliRun run = CliRun.of("bench", "operator", "--keys", "200", "--events", "400", "--models", "small",
                "--warmup-events", "0", "--bundle-size", "64", "--max-delay-ms", "20", "--cache-size", "50");
        assertEquals(0, run.exit(), run.out() + run.err());
        assertTrue(run.lastLine().matches("speedup \\S+"), run.lastLine());
        double speedup = Double.parseDouble(run.lastLine().substring("speedup ".length()));
        assertTrue(speedup > 0 && Double.isFinite(speedup), run.lastLine());
        for (String row : new String[] {"uniform/small    naive", "uniform/small    mamba", "zipf/small       naive",
                "zipf/small       mamba"}) {
            assertTrue(run.out().contains(row), row + " in\n" + run.out());
        }
    }

    @Test
    void helpAndBadOptions() {
        CliRun help = CliRun.of("bench", "operator", "--help");
        assertEquals(0, help.exit());
        assertTrue(help.out().contains("Usage:") && help.out().contains("--keys"), help.out());
        assertEquals(2, CliRun.of("bench", "operator", "--models", "huge").exit());
        assertEquals(2, CliRun.of("bench", "operator", "--keys", "0").exit());
    }

    @Test
    void latencyHistogramQuantilesAreWithinTheBucketPrecision() {
        LatencyHistogram h = new LatencyHistogram();
        for (long v = 1; v <= 100_000; v++) {
            h.record(v * 1_000);
        }
        assertEquals(100_000, h.count());
        assertEquals(50_000_000, h.quantile(0.5), 50_000_000 / 64.0);
        assertEquals(99_000_000, h.quantile(0.99), 99_000_000 / 64.0);
        for (long v : new long[] {0, 1, 127, 128, 129, 255, 256, 1L << 40, Long.MAX_VALUE}) {
            int i = LatencyHistogram.index(v);
            assertTrue(LatencyHistogram.lowerBound(i) <= v
                    && v - LatencyHistogram.lowerBound(i) < LatencyHistogram.width(i), "value " + v);
        }
    }

    @Test
    void zipfSamplingFollowsTheDistribution() {
        double[] cdf = OperatorBenchCommand.zipfCdf(100_000, 1.1);
        int[] counts = new int[3];
        int n = 200_000;
        for (long i = 0; i < n; i++) {
            int rank = OperatorBenchCommand.zipfRank(cdf, OperatorBenchCommand.unit(OperatorBenchCommand.mix(i)));
            if (rank < counts.length) {
                counts[rank]++;
            }
        }
        for (int r = 0; r < counts.length; r++) {
            double expected = (r == 0 ? cdf[0] : cdf[r] - cdf[r - 1]) * n;
            assertEquals(expected, counts[r], 5 * Math.sqrt(expected), "rank " + (r + 1));
        }
        assertEquals(0, OperatorBenchCommand.zipfRank(cdf, 0.0));
        assertEquals(cdf.length - 1, OperatorBenchCommand.zipfRank(cdf, Math.nextDown(1.0)));
    }
}

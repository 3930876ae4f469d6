package io.flinkmamba.cli;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.time.Duration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Command-line durations: Flink's format with a unit, as in the job configuration. */
class DurationConverterTest {
    @Test
    void readsFlinksFormatAndIsoAndRefusesABareNumber() {
        DurationConverter converter = new DurationConverter();
        assertEquals(Duration.ofSeconds(5), converter.convert("5s"));
        assertEquals(Duration.ofMillis(250), converter.convert("250ms"));
        assertEquals(Duration.ofMinutes(10), converter.convert("10min"));
        assertEquals(Duration.ofMinutes(30), converter.convert("PT30M"));
        assertEquals("'5' has no unit; write e.g. 5s (units: ms, s, min, h, d)",
                assertThrows(CommandLine.TypeConversionException.class, () -> converter.convert("5")).getMessage());
        assertThrows(CommandLine.TypeConversionException.class, () -> converter.convert("soon"));
    }

    @Test
    void everyCommandTakesIt() {
        CliRun soak = CliRun.of("soak", "--sample", "5");
        assertEquals(2, soak.exit());
        assertTrue(soak.err().contains("'5' has no unit; write e.g. 5s"), soak.err());
        CliRun run = CliRun.of("run", "anomaly", "--config", "absent.yaml", "--progress-every", "10");
        assertEquals(2, run.exit());
        assertTrue(run.err().contains("'10' has no unit; write e.g. 10s"), run.err());
        CommandLine.ParseResult soakDefaults = FlinkMambaCli.commandLine().parseArgs("soak", "--sample", "2s",
                "--duration", "1min", "--checkpoint-interval", "500ms");
        SoakCommand parsed = (SoakCommand) soakDefaults.subcommand().commandSpec().userObject();
        assertEquals(Duration.ofSeconds(2), parsed.sample);
        assertEquals(Duration.ofMinutes(1), parsed.duration);
        assertEquals(Duration.ofMillis(500), parsed.checkpointInterval);
        assertEquals(Duration.ZERO, parsed.killEvery);
    }
}

package io.flinkmamba.cli;

import org.apache.flink.util.TimeUtils;
import picocli.CommandLine;

import java.time.Duration;
import java.time.format.DateTimeParseException;

/**
 * Command-line durations in Flink's format, as in the job configuration ({@code 500ms}, {@code 5s},
 * {@code 10min}, {@code 2h}); ISO-8601 ({@code PT10M}) is read too. A bare number is refused: its unit
 * would be a guess.
 */
final class DurationConverter implements CommandLine.ITypeConverter<Duration> {
    @Override
    public Duration convert(String text) {
        String value = text.strip();
        if (value.matches("[0-9]+")) {
            throw new CommandLine.TypeConversionException("'" + value + "' has no unit; write e.g. " + value
                    + "s (units: ms, s, min, h, d)");
        }
        try {
            return value.startsWith("P") || value.startsWith("p") ? Duration.parse(value) : TimeUtils.parseDuration(value);
        } catch (IllegalArgumentException | DateTimeParseException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a duration such as 5s, 10min or 2h");
        }
    }
}

package io.flinkmamba.nab;

import java.time.LocalDateTime;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeFormatterBuilder;
import java.time.format.DateTimeParseException;
import java.time.format.ResolverStyle;
import java.time.temporal.ChronoField;
import java.time.temporal.TemporalAccessor;

/**
 * The timestamps of a corpus, its labels and results files: NAB's {@code 2014-04-10 07:15:00}, and the
 * common ISO 8601 variants (a {@code T} for the space, no seconds, a fraction, a {@code Z} or an offset such
 * as {@code +01:00}, {@code +0100}, {@code +01}). A timestamp with an offset is taken as its UTC time; one
 * without is taken as written (NAB's are local times without a zone).
 */
final class NabTimestamps {
    /** What an unreadable timestamp is told to look like. */
    static final String EXPECTED = "yyyy-MM-dd HH:mm:ss (or ISO 8601)";

    private static final DateTimeFormatter PARSER = new DateTimeFormatterBuilder()
            .appendPattern("uuuu-MM-dd HH:mm")
            .optionalStart().appendPattern(":ss")
            .optionalStart().appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true).optionalEnd()
            .optionalEnd()
            // "+0100" before the lenient "+01:00" / "+01", which would stop after "+01" of it
            .optionalStart().appendOffset("+HHMM", "Z").optionalEnd()
            .optionalStart().parseLenient().appendOffset("+HH:MM:ss", "Z").parseStrict().optionalEnd()
            .toFormatter()
            .withResolverStyle(ResolverStyle.STRICT);

    /** NAB's format; a fraction of a second only when there is one. */
    static final DateTimeFormatter OUT = new DateTimeFormatterBuilder()
            .appendPattern("uuuu-MM-dd HH:mm:ss")
            .appendFraction(ChronoField.NANO_OF_SECOND, 0, 9, true)
            .toFormatter();

    private NabTimestamps() {}

    /** The timestamp written as {@code text}, or null when it is none of the accepted forms. */
    static LocalDateTime parse(String text) {
        String s = text.strip();
        if (s.length() > 10 && (s.charAt(10) == 'T' || s.charAt(10) == 't')) {
            s = s.substring(0, 10) + ' ' + s.substring(11);
        }
        try {
            TemporalAccessor parsed = PARSER.parse(s);
            if (parsed.isSupported(ChronoField.OFFSET_SECONDS)) {
                return OffsetDateTime.from(parsed).withOffsetSameInstant(ZoneOffset.UTC).toLocalDateTime();
            }
            return LocalDateTime.from(parsed);
        } catch (DateTimeParseException e) {
            return null;
        }
    }
}

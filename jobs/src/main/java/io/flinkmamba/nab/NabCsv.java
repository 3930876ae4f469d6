package io.flinkmamba.nab;

import java.io.BufferedReader;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.zip.GZIPInputStream;
import java.util.zip.ZipException;

/**
 * A CSV file of a corpus or of a detector's results ({@code .gz}: gzip-compressed), read line by line: a
 * header line naming the columns, then one row per line. Cells are split at commas and trimmed, one pair of
 * surrounding double quotes removed (a quoted comma is not supported: the row then has too many cells).
 * Column names match case-insensitively. Every problem is an {@link IOException} naming the file and line.
 */
final class NabCsv implements Closeable {
    private final Path file;
    private final BufferedReader in;
    private final List<String> header;
    private int line = 1;

    private NabCsv(Path file, BufferedReader in, List<String> header) {
        this.file = file;
        this.in = in;
        this.header = header;
    }

    /** Opens the file and reads its header line. */
    static NabCsv open(Path file) throws IOException {
        BufferedReader in = reader(file);
        try {
            String first = in.readLine();
            if (first == null) {
                throw new IOException(file + ": empty file (it needs a header line, then a line per row)");
            }
            if (first.isBlank()) {
                throw new IOException(file + " line 1: blank, not a header");
            }
            if (first.startsWith("\uFEFF")) {
                first = first.substring(1);
            }
            return new NabCsv(file, in, Arrays.stream(first.split(",", -1)).map(NabCsv::clean).toList());
        } catch (IOException | RuntimeException e) {
            in.close();
            throw e;
        }
    }

    private static BufferedReader reader(Path file) throws IOException {
        InputStream raw = Files.newInputStream(file);
        try {
            InputStream in = file.toString().endsWith(".gz") ? new GZIPInputStream(raw) : raw;
            // a decoder that replaces malformed bytes: they then fail as a bad timestamp or number, with the line
            return new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        } catch (ZipException e) {
            raw.close();
            throw new IOException(file + ": not a gzip file (" + e.getMessage() + ")");
        }
    }

    /** The column's position in the header; an error when the header lacks it or names it twice. */
    int column(String name) throws IOException {
        int found = -1;
        for (int i = 0; i < header.size(); i++) {
            if (header.get(i).toLowerCase(Locale.ROOT).equals(name)) {
                if (found >= 0) {
                    throw new IOException(file + ": the header names column '" + name + "' twice");
                }
                found = i;
            }
        }
        if (found < 0) {
            throw new IOException(file + ": the header has no column '" + name + "' (it has "
                    + String.join(", ", header) + ")");
        }
        return found;
    }

    /** How many columns the header names. */
    int width() {
        return header.size();
    }

    /**
     * The next row's cells (as many as the header's columns, else an error), or null at the end of the file.
     * Blank lines are skipped and counted.
     */
    String[] next(CorpusNotes notes) throws IOException {
        while (true) {
            String text;
            try {
                text = in.readLine();
            } catch (IOException e) {
                throw new IOException(file + " line " + (line + 1) + ": unreadable (" + e.getMessage() + ")");
            }
            if (text == null) {
                return null;
            }
            line++;
            if (text.isBlank()) {
                notes.count(CorpusNotes.Kind.BLANK_LINE, where());
                continue;
            }
            String[] cells = text.split(",", -1);
            if (cells.length != header.size()) {
                throw new IOException(where() + ": " + cells.length + " cells, the header has " + header.size());
            }
            for (int i = 0; i < cells.length; i++) {
                cells[i] = clean(cells[i]);
            }
            return cells;
        }
    }

    /** The file and the line of the row last read (the header is line 1). */
    String where() {
        return file + " line " + line;
    }

    Path file() {
        return file;
    }

    private static String clean(String cell) {
        String s = cell.strip();
        return s.length() >= 2 && s.startsWith("\"") && s.endsWith("\"") ? s.substring(1, s.length() - 1).strip() : s;
    }

    @Override
    public void close() throws IOException {
        in.close();
    }
}

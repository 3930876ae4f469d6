package io.flinkmamba.nab;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;

import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A small corpus in NAB's layout, written into a test's temporary folder (no config/): by default two
 * series of 20 rows a minute apart from 2015-01-01 00:00, {@code cat/a.csv} with a window over minutes
 * 10..12 and {@code cat/b.csv} with one over minutes 5..6; each test then breaks one thing.
 */
final class TestCorpus {
    static final int ROWS = 20;

    final Path dir;

    private TestCorpus(Path dir) {
        this.dir = dir;
    }

    static TestCorpus standard(Path dir) throws IOException {
        return new TestCorpus(dir).data("cat/a.csv", rows(ROWS)).data("cat/b.csv", rows(ROWS))
                .labels("{\"cat/a.csv\": [[\"" + at(10) + "\", \"" + at(12) + "\"]],"
                        + " \"cat/b.csv\": [[\"" + at(5) + "\", \"" + at(6) + "\"]]}");
    }

    /** The timestamp of minute m of the corpus, in NAB's format. */
    static String at(int minute) {
        return String.format("2015-01-01 %02d:%02d:00", minute / 60, minute % 60);
    }

    /** A header and n rows: minute i has value i. */
    static String rows(int n) {
        StringBuilder s = new StringBuilder("timestamp,value\n");
        for (int i = 0; i < n; i++) {
            s.append(at(i)).append(',').append(i).append('\n');
        }
        return s.toString();
    }

    TestCorpus data(String name, String content) throws IOException {
        return write(dir.resolve("data").resolve(name), content);
    }

    TestCorpus labels(String json) throws IOException {
        return write(dir.resolve("labels").resolve("combined_windows.json"), json);
    }

    /** A detector's results file in its folder {@code results/<detector>}; gzipped for a {@code .gz} name. */
    TestCorpus results(String relative, String content) throws IOException {
        Path file = dir.resolve("results").resolve(relative);
        if (!relative.endsWith(".gz")) {
            return write(file, content);
        }
        Files.createDirectories(file.getParent());
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(content.getBytes(StandardCharsets.UTF_8));
        }
        return this;
    }

    private TestCorpus write(Path file, String content) throws IOException {
        Files.createDirectories(file.getParent());
        Files.writeString(file, content);
        return this;
    }

    /** Where a data file lies, as the corpus's messages name it. */
    String file(String name) {
        return dir.resolve("data").resolve(name).toString();
    }

    String labelsFile() {
        return dir.resolve("labels").resolve("combined_windows.json").toString();
    }

    NabCorpus load() throws IOException {
        return NabCorpus.load(dir);
    }

    /** The one-line message loading fails with. */
    String loadError() {
        return assertThrows(IOException.class, this::load).getMessage();
    }
}

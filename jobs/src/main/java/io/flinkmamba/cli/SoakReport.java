package io.flinkmamba.cli;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/** The soak run's samples as a CSV and as an HTML page of line plots (inline SVG, no scripts). */
final class SoakReport {
    private SoakReport() {}

    /** Which columns share a plot: title, unit, column names. */
    private record Plot(String title, String unit, String... columns) {}

    private static final List<Plot> PLOTS = List.of(
            new Plot("Throughput", "results/s", "results_per_s"),
            new Plot("Latency (input written to result visible, read_committed)", "ms", "latency_p50_ms", "latency_p99_ms"),
            new Plot("Process memory (resident)", "MiB", "jobmanager_rss_mib", "taskmanagers_rss_mib"),
            new Plot("State on disk", "MiB", "rocksdb_mib", "checkpoints_mib"));
    private static final String[] COLORS = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};

    static void write(Path csv, Path html, String[] header, List<double[]> rows, String subtitle) throws IOException {
        StringBuilder text = new StringBuilder(String.join(",", header)).append('\n');
        for (double[] row : rows) {
            List<String> cells = new ArrayList<>();
            for (double v : row) {
                cells.add(Double.isFinite(v) ? (v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v)
                        : String.format(Locale.ROOT, "%.3f", v)) : "");
            }
            text.append(String.join(",", cells)).append('\n');
        }
        Files.writeString(csv, text);

        StringBuilder page = new StringBuilder("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>flink-mamba soak</title>"
                + "<style>body{font-family:sans-serif;margin:2em}svg{margin:1em 0;border:1px solid #ddd}</style></head><body>");
        page.append("<h1>flink-mamba soak</h1><p>").append(escape(subtitle)).append("</p>");
        for (Plot plot : PLOTS) {
            page.append(svg(plot, header, rows));
        }
        page.append("<p>Samples: ").append(csv.getFileName()).append("</p></body></html>\n");
        Files.writeString(html, page);
    }

    private static String svg(Plot plot, String[] header, List<double[]> rows) {
        int width = 900, height = 260, left = 70, right = 20, top = 30, bottom = 40;
        int time = column(header, "seconds");
        double maxT = rows.stream().mapToDouble(r -> r[time]).max().orElse(1);
        double maxY = 0;
        for (String name : plot.columns()) {
            int c = column(header, name);
            maxY = Math.max(maxY, rows.stream().mapToDouble(r -> r[c]).filter(Double::isFinite).max().orElse(0));
        }
        maxY = maxY <= 0 ? 1 : maxY * 1.1;
        StringBuilder svg = new StringBuilder(String.format(Locale.ROOT,
                "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\">", width, height));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"18\" font-size=\"14\" font-weight=\"bold\">%s (%s)</text>",
                left, escape(plot.title()), escape(plot.unit())));
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>",
                left, height - bottom, width - right, height - bottom));
        svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"#333\"/>",
                left, top, left, height - bottom));
        for (int i = 0; i <= 4; i++) {
            double value = maxY * i / 4;
            double y = height - bottom - (height - top - bottom) * i / 4.0;
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%.1f\" font-size=\"11\" text-anchor=\"end\">%s</text>",
                    left - 5, y + 4, format(value)));
            double t = maxT * i / 4;
            double x = left + (width - left - right) * i / 4.0;
            svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"%d\" font-size=\"11\" text-anchor=\"middle\">%s s</text>",
                    x, height - bottom + 16, format(t)));
        }
        for (int s = 0; s < plot.columns().length; s++) {
            int c = column(header, plot.columns()[s]);
            StringBuilder points = new StringBuilder();
            for (double[] row : rows) {
                if (Double.isFinite(row[c])) {
                    double x = left + (width - left - right) * row[time] / maxT;
                    double y = height - bottom - (height - top - bottom) * row[c] / maxY;
                    points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x, y));
                }
            }
            String color = COLORS[s % COLORS.length];
            svg.append("<polyline fill=\"none\" stroke=\"").append(color).append("\" stroke-width=\"1.5\" points=\"")
                    .append(points.toString().strip()).append("\"/>");
            svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"12\" fill=\"%s\">%s</text>",
                    width - right - 220, top + 14 + 16 * s, color, escape(plot.columns()[s])));
        }
        return svg.append("</svg>").toString();
    }

    private static int column(String[] header, String name) {
        for (int i = 0; i < header.length; i++) {
            if (header[i].equals(name)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no column " + name);
    }

    private static String format(double v) {
        return v >= 100 || v == Math.rint(v) ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}

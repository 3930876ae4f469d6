package io.flinkmamba.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;

/** The training and validation loss per epoch as a self-contained HTML page with an inline SVG chart. */
final class LossCurve {
    private static final int WIDTH = 640;
    private static final int HEIGHT = 360;
    private static final int MARGIN = 50;

    private LossCurve() {}

    static void write(Path file, String title, List<double[]> curve) throws IOException {
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double[] point : curve) {
            for (double v : point) {
                if (Double.isFinite(v)) {
                    min = Math.min(min, v);
                    max = Math.max(max, v);
                }
            }
        }
        if (!(max > min)) {
            max = min + 1;
        }
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg xmlns='http://www.w3.org/2000/svg' width='%d' height='%d'>%n",
                WIDTH, HEIGHT));
        svg.append(String.format(Locale.ROOT, "<rect x='%d' y='%d' width='%d' height='%d' fill='none' stroke='#999'/>%n",
                MARGIN, MARGIN / 2, WIDTH - MARGIN - 20, HEIGHT - MARGIN - MARGIN / 2));
        for (int i = 0; i <= 4; i++) {
            double v = min + (max - min) * i / 4;
            svg.append(String.format(Locale.ROOT, "<text x='4' y='%.1f' font-size='11'>%.3f</text>%n", y(v, min, max) + 4, v));
        }
        svg.append(String.format(Locale.ROOT, "<text x='%d' y='%d' font-size='11'>epoch (1..%d)</text>%n",
                WIDTH / 2 - 30, HEIGHT - 8, curve.size()));
        String[] colors = {"#1f77b4", "#d62728"};
        String[] names = {"train", "validation"};
        for (int series = 0; series < 2; series++) {
            StringBuilder points = new StringBuilder();
            for (int e = 0; e < curve.size(); e++) {
                double v = curve.get(e)[series];
                if (Double.isFinite(v)) {
                    points.append(String.format(Locale.ROOT, "%.1f,%.1f ", x(e, curve.size()), y(v, min, max)));
                }
            }
            if (points.length() > 0) {
                svg.append(String.format(Locale.ROOT,
                        "<polyline fill='none' stroke='%s' stroke-width='2' points='%s'/>%n", colors[series], points));
                svg.append(String.format(Locale.ROOT, "<text x='%d' y='%d' font-size='12' fill='%s'>%s</text>%n",
                        WIDTH - 150, 40 + 16 * series, colors[series], names[series]));
            }
        }
        svg.append("</svg>\n");
        StringBuilder table = new StringBuilder("<table><tr><th>epoch</th><th>train NLL</th><th>validation NLL</th></tr>\n");
        for (int e = 0; e < curve.size(); e++) {
            table.append(String.format(Locale.ROOT, "<tr><td>%d</td><td>%.5f</td><td>%.5f</td></tr>%n", e + 1,
                    curve.get(e)[0], curve.get(e)[1]));
        }
        table.append("</table>\n");
        String html = "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>" + escape(title) + "</title>"
                + "<style>body{font-family:sans-serif} td,th{padding:2px 10px;text-align:right}</style></head><body>\n"
                + "<h1>" + escape(title) + "</h1>\n<p>Mean negative log-likelihood per predicted event (nats).</p>\n"
                + svg + table + "</body></html>\n";
        Files.writeString(file, html, StandardCharsets.UTF_8);
    }

    private static double x(int epoch, int epochs) {
        return MARGIN + (epochs == 1 ? 0.5 : (double) epoch / (epochs - 1)) * (WIDTH - MARGIN - 20);
    }

    private static double y(double v, double min, double max) {
        return MARGIN / 2.0 + (1 - (v - min) / (max - min)) * (HEIGHT - MARGIN - MARGIN / 2.0);
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}

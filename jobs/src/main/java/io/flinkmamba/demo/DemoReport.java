package io.flinkmamba.demo;

import io.flinkmamba.demo.SyntheticMetrics.Anomaly;
import io.flinkmamba.demo.SyntheticMetrics.Series;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/** The demo's HTML report: a summary table and, per key, inline SVG plots of the series, score and anomaly score. */
public final class DemoReport {
    private static final int WIDTH = 1100;
    private static final int PLOT_LEFT = 50;

    private DemoReport() {}

    public static void write(Path file, List<Series> series, Map<String, double[]> scores, Map<String, double[]> anomalyScores,
                             Detections.Result result, double threshold, List<String> summary) throws IOException {
        StringBuilder html = new StringBuilder();
        html.append("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>flink-mamba demo</title><style>")
                .append("body{font-family:sans-serif;margin:20px;color:#222}svg{display:block;margin-bottom:4px}")
                .append("h2{font-size:16px;margin:24px 0 4px}pre{background:#f4f4f4;padding:8px}.legend span{margin-right:16px}")
                .append("</style></head><body>\n<h1>flink-mamba demo: anomaly detection on Kafka</h1>\n<pre>");
        summary.forEach(line -> html.append(escape(line)).append('\n'));
        html.append("</pre>\n<p class=\"legend\"><span style=\"color:#1f77b4\">&#9632; metric</span>")
                .append("<span style=\"color:#f4a582\">&#9632; injected anomaly (window: +").append(Detections.WINDOW)
                .append(" events)</span><span style=\"color:#d62728\">| alarm in a window</span>")
                .append("<span style=\"color:#555\">| false alarm</span><span>score = NLL (nats); anomaly score threshold ")
                .append(String.format(Locale.ROOT, "%.5f", threshold)).append(" dashed</span></p>\n");
        for (Series s : series) {
            List<Integer> alarms = result.alarms().get(s.key());
            html.append("<h2>").append(escape(s.key())).append(": ").append(s.anomalies().size()).append(" anomalies, ")
                    .append(alarms.size()).append(" alarms</h2>\n");
            html.append(panel(s, s.values(), alarms, 150, Double.NaN, "cpu", true));
            html.append(panel(s, s.load(), alarms, 60, Double.NaN, "load", false));
            html.append(panel(s, scores.get(s.key()), alarms, 70, Double.NaN, "score", false));
            html.append(panel(s, anomalyScores.get(s.key()), alarms, 70, threshold, "anomaly score", false));
        }
        html.append("</body></html>\n");
        Files.writeString(file, html);
    }

    private static String panel(Series s, double[] y, List<Integer> alarms, int height, double threshold, String label,
                                boolean anomalyLabels) {
        int n = s.values().length;
        double min = Double.POSITIVE_INFINITY;
        double max = Double.NEGATIVE_INFINITY;
        for (double v : y) {
            if (Double.isFinite(v)) {
                min = Math.min(min, v);
                max = Math.max(max, v);
            }
        }
        if (label.equals("anomaly score")) {
            min = 0;
            max = 1;
        }
        if (!(max > min)) {
            max = min + 1;
        }
        double plotWidth = WIDTH - PLOT_LEFT - 10;
        StringBuilder svg = new StringBuilder();
        svg.append(String.format(Locale.ROOT, "<svg width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">", WIDTH, height + 10, WIDTH, height + 10));
        svg.append(String.format(Locale.ROOT, "<text x=\"2\" y=\"%d\" font-size=\"11\">%s</text>", height / 2, label));
        for (Anomaly a : s.anomalies()) {
            double x0 = PLOT_LEFT + plotWidth * a.start() / n;
            double x1 = PLOT_LEFT + plotWidth * Math.max(a.end(), a.start() + 1) / n;
            double x2 = PLOT_LEFT + plotWidth * Math.min(n, a.end() + Detections.WINDOW) / n;
            svg.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"5\" width=\"%.1f\" height=\"%d\" fill=\"#f4a582\" opacity=\"0.6\"/>",
                    x0, Math.max(1.5, x1 - x0), height));
            svg.append(String.format(Locale.ROOT, "<rect x=\"%.1f\" y=\"5\" width=\"%.1f\" height=\"%d\" fill=\"#f4a582\" opacity=\"0.2\"/>",
                    x1, x2 - x1, height));
            if (anomalyLabels) {
                svg.append(String.format(Locale.ROOT, "<text x=\"%.1f\" y=\"16\" font-size=\"10\">%s</text>", x0 + 2, a.kind().label()));
            }
        }
        for (int alarm : alarms) {
            double x = PLOT_LEFT + plotWidth * alarm / n;
            boolean hit = s.anomalies().stream().anyMatch(a -> Detections.inWindow(a, alarm));
            svg.append(String.format(Locale.ROOT, "<line x1=\"%.1f\" x2=\"%.1f\" y1=\"5\" y2=\"%d\" stroke=\"%s\" stroke-width=\"1.2\"/>",
                    x, x, height + 5, hit ? "#d62728" : "#555"));
        }
        if (Double.isFinite(threshold)) {
            double ty = 5 + height * (1 - (threshold - min) / (max - min));
            svg.append(String.format(Locale.ROOT, "<line x1=\"%d\" x2=\"%d\" y1=\"%.1f\" y2=\"%.1f\" stroke=\"#888\" stroke-dasharray=\"4 3\"/>",
                    PLOT_LEFT, WIDTH - 10, ty, ty));
        }
        svg.append("<polyline fill=\"none\" stroke=\"#1f77b4\" stroke-width=\"0.8\" points=\"");
        for (int t = 0; t < y.length; t++) {
            if (Double.isFinite(y[t])) {
                svg.append(String.format(Locale.ROOT, "%.1f,%.1f ", PLOT_LEFT + plotWidth * t / n,
                        5 + height * (1 - (y[t] - min) / (max - min))));
            }
        }
        svg.append("\"/>");
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"12\" font-size=\"9\" text-anchor=\"end\">%.3g</text>", PLOT_LEFT - 4, max));
        svg.append(String.format(Locale.ROOT, "<text x=\"%d\" y=\"%d\" font-size=\"9\" text-anchor=\"end\">%.3g</text>", PLOT_LEFT - 4, height + 5, min));
        svg.append("</svg>\n");
        return svg.toString();
    }

    private static String escape(String text) {
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;");
    }
}

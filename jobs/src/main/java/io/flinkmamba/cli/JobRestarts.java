package io.flinkmamba.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.apache.flink.api.common.JobID;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.OptionalLong;

/**
 * A job's restart count, the job metric {@code numRestarts} from the Flink REST API of the cluster that runs
 * it (a local MiniCluster's too). The cluster refreshes its metrics every few seconds
 * (metrics.fetcher.update-interval).
 */
final class JobRestarts {
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final ObjectMapper json = new ObjectMapper();
    private static final long REFRESH_NANOS = 2_000_000_000L;

    private final URI metric;
    private long latest = -1;
    private long readAt;

    JobRestarts(String host, int port, JobID job) {
        this.metric = URI.create("http://" + host + ":" + port + "/jobs/" + job + "/metrics?get=numRestarts");
    }

    /** The count read at most every 2 s, else the last one read; -1 while none could be read. */
    long latest() {
        if (readAt == 0 || System.nanoTime() - readAt >= REFRESH_NANOS) {
            read().ifPresent(count -> latest = count);
            readAt = System.nanoTime();
        }
        return latest;
    }

    /** The count, or empty when the cluster does not answer (yet) or has no such metric for the job. */
    OptionalLong read() {
        try {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(metric).timeout(Duration.ofSeconds(2)).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                return OptionalLong.empty();
            }
            for (JsonNode entry : json.readTree(response.body())) {
                if (entry.path("id").asText().equals("numRestarts")) {
                    return OptionalLong.of(Long.parseLong(entry.path("value").asText()));
                }
            }
            return OptionalLong.empty();
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return OptionalLong.empty();
        }
    }
}

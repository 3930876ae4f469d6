package io.flinkmamba.nab;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** A NAB scoring profile: the weights of a detected window, a false detection and a missed window. */
public record Profile(String name, double tpWeight, double fpWeight, double fnWeight) {

    /** NAB's three profiles (its {@code config/profiles.json}): for a corpus without one. */
    public static final List<Profile> NAB = List.of(
            new Profile("standard", 1.0, 0.11, 1.0),
            new Profile("reward_low_FP_rate", 1.0, 0.22, 1.0),
            new Profile("reward_low_FN_rate", 1.0, 0.11, 2.0));

    /** The profiles of a file in the format of NAB's {@code config/profiles.json}, in the file's order. */
    public static List<Profile> load(Path profilesJson) throws IOException {
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(profilesJson.toFile());
        } catch (JsonProcessingException e) {
            throw new IOException(profilesJson + ": not valid JSON: "
                    + String.valueOf(e.getOriginalMessage()).lines().findFirst().orElse(""));
        }
        List<Profile> profiles = new ArrayList<>();
        if (root != null && root.isObject()) {
            for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String name = e.getKey();
                JsonNode costs = e.getValue().path("CostMatrix");
                profiles.add(new Profile(name, weight(costs, "tpWeight", name, profilesJson),
                        weight(costs, "fpWeight", name, profilesJson), weight(costs, "fnWeight", name, profilesJson)));
            }
        }
        if (profiles.isEmpty()) {
            throw new IOException(profilesJson + ": no profiles (a JSON object of name to {\"CostMatrix\": {...}})");
        }
        return profiles;
    }

    private static double weight(JsonNode costs, String field, String profile, Path file) throws IOException {
        JsonNode w = costs.get(field);
        double v = w == null || !w.isNumber() ? Double.NaN : w.asDouble();
        // the TP weight above 0: the perfect detector must score above the null one for the normalization
        boolean tp = field.equals("tpWeight");
        if (!Double.isFinite(v) || (tp ? v <= 0 : v < 0)) {
            throw new IOException(file + ": profile " + profile + ": CostMatrix." + field + " must be a finite number"
                    + (tp ? " above 0" : " at or above 0"));
        }
        return v;
    }
}

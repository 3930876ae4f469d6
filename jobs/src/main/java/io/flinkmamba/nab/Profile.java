package io.flinkmamba.nab;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;

/** A NAB scoring profile: the weights of a detected window, a missed window and a false detection. */
public record Profile(String name, double tpWeight, double fpWeight, double fnWeight) {

    /** The profiles of NAB's {@code config/profiles.json}, in the file's order. */
    public static List<Profile> load(Path profilesJson) throws IOException {
        JsonNode root = new ObjectMapper().readTree(profilesJson.toFile());
        List<Profile> profiles = new ArrayList<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = root.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            String name = e.getKey();
            JsonNode costs = e.getValue().path("CostMatrix");
            profiles.add(new Profile(name, weight(costs, "tpWeight", name, profilesJson),
                    weight(costs, "fpWeight", name, profilesJson), weight(costs, "fnWeight", name, profilesJson)));
        }
        if (profiles.isEmpty()) {
            throw new IOException(profilesJson + ": no profiles");
        }
        return profiles;
    }

    private static double weight(JsonNode costs, String field, String profile, Path file) throws IOException {
        JsonNode w = costs.get(field);
        if (w == null || !w.isNumber()) {
            throw new IOException(file + ": profile " + profile + " has no numeric CostMatrix." + field);
        }
        return w.asDouble();
    }
}

package io.flinkmamba.safetensors;

import com.fasterxml.jackson.core.JsonParser;
import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A sharded checkpoint: {@code model.safetensors.index.json}, holding {@code {"metadata": {...},
 * "weight_map": {tensor: shard file name}}}, and the shard files beside it. All shards are opened and
 * validated at open, and every tensor must be in the shard the map names.
 */
public final class ShardedSafetensors implements TensorSource {
    // A tensor listed twice in the weight_map is ambiguous: refuse it rather than let the last entry win.
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(JsonParser.Feature.STRICT_DUPLICATE_DETECTION);

    private final Path index;
    private final Map<String, SafetensorsFile> byTensor;
    private final Map<String, SafetensorsFile> shards;
    private final Map<String, String> metadata;

    private ShardedSafetensors(Path index, Map<String, SafetensorsFile> byTensor, Map<String, SafetensorsFile> shards,
                               Map<String, String> metadata) {
        this.index = index;
        this.byTensor = byTensor;
        this.shards = shards;
        this.metadata = metadata;
    }

    /**
     * Opens the index and every shard it names.
     *
     * @throws SafetensorsException if the index is missing or malformed, names a shard that does not exist
     *     beside it, a shard is malformed, or a tensor is not in the shard the index names
     */
    public static ShardedSafetensors open(Path indexJson) throws SafetensorsException {
        JsonNode root = readIndex(indexJson);
        JsonNode weightMap = root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new SafetensorsException(indexJson + ": shard index has no weight_map object");
        }
        Map<String, String> metadata = parseMetadata(indexJson, root.get("metadata"));
        Path dir = indexJson.toAbsolutePath().normalize().getParent();
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byTensor = new TreeMap<>();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                String tensor = entry.getKey();
                String shardName = shardName(indexJson, dir, tensor, entry.getValue());
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    shard = SafetensorsFile.open(dir.resolve(shardName));
                    shards.put(shardName, shard);
                }
                if (!shard.contains(tensor)) {
                    throw new SafetensorsException(indexJson + ": tensor " + tensor + " is not in shard "
                            + shard.path().getFileName() + ", where the index puts it");
                }
                byTensor.put(tensor, shard);
            }
        } catch (SafetensorsException | RuntimeException e) {
            shards.values().forEach(SafetensorsFile::close);
            throw e;
        }
        return new ShardedSafetensors(indexJson, Collections.unmodifiableMap(byTensor), shards, metadata);
    }

    private static JsonNode readIndex(Path indexJson) throws SafetensorsException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(indexJson));
        } catch (NoSuchFileException e) {
            throw new SafetensorsException(indexJson + ": no such shard index", e);
        } catch (JsonProcessingException e) {
            throw new SafetensorsException(indexJson + ": shard index is not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new SafetensorsException(indexJson + ": cannot read shard index: " + e, e);
        }
        if (root == null || !root.isObject()) {
            throw new SafetensorsException(indexJson + ": shard index is not a JSON object");
        }
        return root;
    }

    /** The index's metadata; HF writes numbers ({"total_size": 123}), so any scalar is kept as its text. */
    private static Map<String, String> parseMetadata(Path indexJson, JsonNode node) throws SafetensorsException {
        if (node == null || node.isNull()) {
            return Collections.emptyMap();
        }
        if (!node.isObject()) {
            throw new SafetensorsException(indexJson + ": shard index metadata must be an object, not " + node);
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
            Map.Entry<String, JsonNode> e = it.next();
            metadata.put(e.getKey(), e.getValue().isValueNode() ? e.getValue().asText() : e.getValue().toString());
        }
        return Collections.unmodifiableMap(metadata);
    }

    /**
     * The file name of the shard a weight_map value names. It must be an existing file beside the index: a path
     * out of the folder is refused.
     */
    private static String shardName(Path indexJson, Path dir, String tensor, JsonNode value)
            throws SafetensorsException {
        String where = indexJson + ": tensor " + tensor;
        if (!value.isTextual()) {
            throw new SafetensorsException(where + " maps to " + value + ", not a shard file name");
        }
        String name = value.textValue();
        Path shard = dir.resolve(name).normalize();
        if (name.isEmpty() || !dir.equals(shard.getParent())) {
            throw new SafetensorsException(where + " maps to '" + name + "', not a file name beside the index");
        }
        if (!Files.isRegularFile(shard)) {
            throw new SafetensorsException(where + " maps to shard " + name + ", which does not exist in " + dir);
        }
        return shard.getFileName().toString();
    }

    private SafetensorsFile shardOf(String name) throws SafetensorsException {
        SafetensorsFile shard = byTensor.get(name);
        if (shard == null) {
            throw new SafetensorsException(index + ": no tensor named " + name + " in the weight_map");
        }
        return shard;
    }

    @Override
    public Set<String> names() {
        return byTensor.keySet();
    }

    @Override
    public boolean contains(String name) {
        return byTensor.containsKey(name);
    }

    @Override
    public TensorInfo info(String name) throws SafetensorsException {
        return shardOf(name).info(name);
    }

    @Override
    public float[] readFloats(String name) throws SafetensorsException {
        return shardOf(name).readFloats(name);
    }

    @Override
    public long[] readLongs(String name) throws SafetensorsException {
        return shardOf(name).readLongs(name);
    }

    @Override
    public Map<String, String> metadata() {
        return metadata;
    }

    @Override
    public Path path() {
        return index;
    }

    @Override
    public void close() {
        shards.values().forEach(SafetensorsFile::close);
    }
}

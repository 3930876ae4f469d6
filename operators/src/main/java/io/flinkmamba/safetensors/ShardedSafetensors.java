package io.flinkmamba.safetensors;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Collections;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * A sharded checkpoint: {@code model.safetensors.index.json} ({"metadata": {...}, "weight_map":
 * {tensor: shard file}}) and the shard files beside it. Every tensor must be in the shard the map names.
 */
public final class ShardedSafetensors implements TensorSource {
    private static final ObjectMapper JSON = new ObjectMapper();

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

    public static ShardedSafetensors open(Path indexJson) throws SafetensorsException {
        JsonNode root;
        try {
            root = JSON.readTree(Files.readAllBytes(indexJson));
        } catch (IOException e) {
            throw new SafetensorsException(indexJson + ": cannot read shard index: " + e.getMessage(), e);
        }
        JsonNode weightMap = root == null ? null : root.get("weight_map");
        if (weightMap == null || !weightMap.isObject()) {
            throw new SafetensorsException(indexJson + ": shard index has no weight_map object");
        }
        Map<String, String> metadata = new LinkedHashMap<>();
        JsonNode meta = root.get("metadata");
        if (meta != null && meta.isObject()) {
            meta.fields().forEachRemaining(e -> metadata.put(e.getKey(), e.getValue().asText()));
        }
        Map<String, SafetensorsFile> shards = new LinkedHashMap<>();
        Map<String, SafetensorsFile> byTensor = new TreeMap<>();
        Path dir = indexJson.toAbsolutePath().getParent();
        try {
            for (Iterator<Map.Entry<String, JsonNode>> it = weightMap.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> entry = it.next();
                String shardName = entry.getValue().asText();
                Path shardPath = dir.resolve(shardName).normalize();
                if (!entry.getValue().isTextual() || !shardPath.getParent().equals(dir.normalize())) {
                    throw new SafetensorsException(indexJson + ": tensor " + entry.getKey() + " maps to '"
                            + entry.getValue() + "', not a shard file beside the index");
                }
                if (!Files.isRegularFile(shardPath)) {
                    throw new SafetensorsException(indexJson + ": tensor " + entry.getKey() + " maps to shard "
                            + shardName + ", which does not exist");
                }
                SafetensorsFile shard = shards.get(shardName);
                if (shard == null) {
                    shard = SafetensorsFile.open(shardPath);
                    shards.put(shardName, shard);
                }
                if (!shard.contains(entry.getKey())) {
                    throw new SafetensorsException(indexJson + ": tensor " + entry.getKey() + " is not in shard "
                            + shardName + " as the index says");
                }
                byTensor.put(entry.getKey(), shard);
            }
        } catch (SafetensorsException | RuntimeException e) {
            shards.values().forEach(SafetensorsFile::close);
            throw e;
        }
        return new ShardedSafetensors(indexJson, Collections.unmodifiableMap(byTensor), shards,
                Collections.unmodifiableMap(metadata));
    }

    private SafetensorsFile shardOf(String name) throws SafetensorsException {
        SafetensorsFile shard = byTensor.get(name);
        if (shard == null) {
            throw new SafetensorsException(index + ": no tensor named " + name);
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

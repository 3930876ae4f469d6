package io.flinkmamba.model;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.flinkmamba.model.MambaConfig.LayerType;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ConfigParserTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    private static MambaConfig parse(String json) throws Exception {
        return ConfigParser.parse(JSON.readTree(json));
    }

    private static String error(String json) {
        return assertThrows(IllegalArgumentException.class, () -> parse(json)).getMessage();
    }

    @Test
    void mambaSsmDefaults() throws Exception {
        MambaConfig c = parse("{\"d_model\": 100, \"n_layer\": 3, \"vocab_size\": 100}");
        assertEquals(LayerType.MAMBA1, c.layer());
        assertEquals(104, c.vocabSize(), "padded to a multiple of 8");
        assertEquals(16, c.dState());
        assertEquals(4, c.dConv());
        assertEquals(200, c.dInner());
        assertEquals(7, c.dtRank(), "ceil(100 / 16)");
        assertTrue(c.rmsNorm());
        assertTrue(c.tieEmbeddings());
        assertTrue(c.convBias());
        assertFalse(c.projBias());
        assertEquals(1e-5f, c.normEps());
    }

    @Test
    void mambaSsmMamba2() throws Exception {
        MambaConfig c = parse("{\"d_model\": 64, \"n_layer\": 2, \"vocab_size\": 100, \"rms_norm\": false,"
                + " \"pad_vocab_size_multiple\": 16, \"ssm_cfg\": {\"layer\": \"Mamba2\", \"d_state\": 32,"
                + " \"headdim\": 16, \"ngroups\": 2, \"D_has_hdim\": true, \"norm_before_gate\": true,"
                + " \"chunk_size\": 16}}");
        assertEquals(LayerType.MAMBA2, c.layer());
        assertEquals(112, c.vocabSize());
        assertEquals(8, c.nHeads());
        assertEquals(128 + 2 * 2 * 32, c.convChannels());
        assertEquals(128 + c.convChannels() + 8, c.inProjSize());
        assertTrue(c.dHasHdim());
        assertTrue(c.normBeforeGate());
        assertTrue(c.gatedRmsNorm());
        assertFalse(c.rmsNorm());
    }

    @Test
    void transformersMamba() throws Exception {
        MambaConfig c = parse("{\"model_type\": \"mamba\", \"hidden_size\": 64, \"num_hidden_layers\": 2,"
                + " \"vocab_size\": 101, \"state_size\": 8, \"conv_kernel\": 3, \"time_step_rank\": \"auto\","
                + " \"layer_norm_epsilon\": 1e-6, \"use_bias\": true, \"use_conv_bias\": false}");
        assertEquals(101, c.vocabSize(), "transformers does not pad");
        assertEquals(4, c.dtRank());
        assertEquals(3, c.dConv());
        assertEquals(8, c.dState());
        assertEquals(1e-6f, c.normEps());
        assertTrue(c.projBias());
        assertFalse(c.convBias());
        assertTrue(c.rmsNorm());
    }

    @Test
    void transformersMamba2() throws Exception {
        MambaConfig c = parse("{\"model_type\": \"mamba2\", \"hidden_size\": 64, \"num_hidden_layers\": 2,"
                + " \"vocab_size\": 100, \"state_size\": 16, \"num_heads\": 8, \"head_dim\": 16, \"n_groups\": 2}");
        assertEquals(LayerType.MAMBA2, c.layer());
        assertEquals(8, c.nHeads());
        assertEquals(2, c.nGroups());
        assertFalse(c.tieEmbeddings(), "Mamba2Config does not tie by default");
        assertTrue(error("{\"model_type\": \"mamba2\", \"hidden_size\": 64, \"num_hidden_layers\": 2,"
                + " \"num_heads\": 7, \"head_dim\": 16}").contains("num_heads * head_dim"));
    }

    @Test
    void unsupportedAndMalformedSettingsAreNamed() {
        assertTrue(error("{\"d_model\": 64, \"d_intermediate\": 128}").contains("d_intermediate"));
        assertTrue(error("{\"d_model\": 64, \"attn_layer_idx\": [1]}").contains("attn_layer_idx"));
        assertTrue(error("{\"d_model\": 64, \"ssm_cfg\": {\"layer\": \"Mamba3\"}}").contains("Mamba3"));
        assertTrue(error("{\"d_model\": \"big\"}").contains("'d_model' must be an integer"));
        assertTrue(error("{\"d_model\": 64, \"rms_norm\": 1}").contains("'rms_norm' must be true or false"));
        assertTrue(error("{\"d_model\": 64, \"n_layer\": 0}").contains("n_layer"));
        assertTrue(error("{\"model_type\": \"mamba\", \"hidden_size\": 64}").contains("num_hidden_layers"));
        assertTrue(error("{\"model_type\": \"jamba\", \"hidden_size\": 64, \"num_hidden_layers\": 1}")
                .contains("jamba"));
        assertTrue(error("{\"foo\": 1}").contains("not a Mamba config"));
        assertTrue(error("[1]").contains("JSON object"));
        assertTrue(error("{\"d_model\": 64, \"ssm_cfg\": {\"layer\": \"Mamba2\", \"headdim\": 48}}")
                .contains("headdim"));
    }

    @Test
    void writtenConfigReadsBackIdentically() throws Exception {
        MambaConfig c = new MambaConfig(LayerType.MAMBA2, 30, 2, 24, 6, 3, 2, 0, 5, 2, true, true, true, false,
                1e-5f, true, false, false);
        assertEquals(c, ConfigParser.parse(ModelWriter.configJson(c)));
    }
}

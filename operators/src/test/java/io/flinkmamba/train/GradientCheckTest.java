package io.flinkmamba.train;

import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventModels;
import io.flinkmamba.event.EventSchema;
import io.flinkmamba.train.EventNetwork.Encoded;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The backward pass against central finite differences of the forward, for every parameter tensor: the
 * six entries with the largest gradients of each tensor must agree to 2% (plus 5e-5). The forward runs in
 * float32 (as the engine does), so the differences use a step of 1e-2 and the loss is summed in double; the
 * model is made livelier than a fresh one (larger B, C, dt) so that the selective scan's parameters have
 * gradients well above that noise.
 */
class GradientCheckTest {
    private static final EventSchema SCHEMA = new EventSchema(List.of("a", "b"), "kind", List.of("x", "y", "z"));

    @Test
    void gradientsMatchFiniteDifferencesForEveryParameterKind() {
        EventModel model = EventModels.random(SCHEMA, new float[] {1f, -2f}, new float[] {2f, 0.5f}, 8, 2, 4, 11);
        ParameterLayout layout = new ParameterLayout(SCHEMA, model.backbone().config());
        EventNetwork network = new EventNetwork(layout);
        SplittableRandom random = new SplittableRandom(3);
        float[] w = layout.flatten(model);
        for (int j = 0; j < w.length; j++) {
            w[j] += (float) ((random.nextDouble() - 0.5) * 0.2); // no norm at exactly 1, no zero bias
        }
        for (ParameterLayout.Segment segment : layout.segments) {
            if (segment.name().endsWith("x_proj.weight") || segment.name().endsWith("dt_proj.weight")) {
                // larger B, C and dt: the selective scan, not the D skip, carries the signal
                for (int j = segment.offset(); j < segment.offset() + segment.size(); j++) {
                    w[j] *= 6;
                }
            }
            if (segment.name().endsWith("dt_proj.bias")) {
                // dt near 0.5 rather than the initial 0.001..0.1, so that dt and A get gradients worth checking
                for (int j = segment.offset(); j < segment.offset() + segment.size(); j++) {
                    w[j] = (float) (random.nextDouble() - 0.8);
                }
            }
        }
        int length = 12;
        float[] z = new float[length * 2];
        int[] category = new int[length];
        for (int t = 0; t < length; t++) {
            z[2 * t] = (float) Math.sin(t * 0.7);
            z[2 * t + 1] = (float) (random.nextDouble() * 2 - 1);
            category[t] = random.nextInt(3);
        }
        Encoded seq = new Encoded("k", length, z, category);
        // A stretch in the middle of the sequence, from a state that earlier events left.
        float[] state0 = new float[network.stateLayout().floatsPerKey()];
        EventNetwork.Workspace ws = network.workspace(8);
        network.run(w, seq, 0, 4, state0, null, 0, ws);
        int start = 4;
        int span = 7;
        float[] grad = new float[w.length];
        network.run(w, seq, start, span, state0.clone(), grad, 0, ws);

        List<String> failures = new ArrayList<>();
        int checked = 0;
        for (ParameterLayout.Segment segment : layout.segments) {
            int[] top = IntStream.range(segment.offset(), segment.offset() + segment.size()).boxed()
                    .sorted(Comparator.comparingDouble(j -> -Math.abs(grad[j]))).limit(6)
                    .mapToInt(Integer::intValue).toArray();
            double largest = Math.abs(grad[top[0]]);
            assertTrue(largest > 1e-3, segment.name() + " has too small a gradient to check: " + largest);
            for (int j : top) {
                double eps = 1e-2 * Math.max(1, Math.abs(w[j]));
                float saved = w[j];
                w[j] = (float) (saved + eps);
                double plus = network.run(w, seq, start, span, state0.clone(), null, 0, ws);
                w[j] = (float) (saved - eps);
                double minus = network.run(w, seq, start, span, state0.clone(), null, 0, ws);
                w[j] = saved;
                double step = ((float) (saved + eps) - (float) (saved - eps));
                double numeric = (plus - minus) / step;
                double error = Math.abs(numeric - grad[j]);
                // float32 forward: the differences are good to about 2e-5 here
                if (error > 0.02 * Math.abs(grad[j]) + 5e-5) {
                    failures.add(segment.name() + "[" + (j - segment.offset()) + "]: backward " + grad[j]
                            + ", finite difference " + numeric);
                }
                checked++;
            }
        }
        assertEquals(List.of(), failures);
        assertTrue(checked > 100, "checked " + checked);
    }
}

package io.flinkmamba.operator.internal;

import io.flinkmamba.engine.MambaEngine;
import io.flinkmamba.engine.StepBatch;
import io.flinkmamba.event.AnomalyLikelihood;
import io.flinkmamba.event.EventFields;
import io.flinkmamba.event.EventModel;
import io.flinkmamba.event.EventPrediction;
import org.apache.flink.annotation.Internal;

import java.util.Arrays;

/**
 * How surprising each event is under its key's previous prediction. Token models: the negative
 * log-likelihood of the event's token under the LM head's softmax, from the logits of the key's previous
 * event (the batch's logits within a bundle, else the LM head over the key's stored hidden). Event models:
 * {@link EventModel#assess} under the key's previous hidden, which also updates the key's
 * {@link AnomalyLikelihood}. Plain feature models have no score (NaN).
 */
@Internal
public final class Scorer {

    /** An event model's view of one event; reused from event to event. */
    public static final class EventAssessment {
        private double score;
        private double likelihood;
        private EventPrediction prediction;

        /** The event's score (NaN at a key's or session's start). */
        public double score() {
            return score;
        }

        /** The key's anomaly likelihood after the score. */
        public double likelihood() {
            return likelihood;
        }

        /** The prediction of the key's next event. */
        public EventPrediction prediction() {
            return prediction;
        }
    }

    private final MambaEngine engine;
    private final StepBatch batch;
    private final int dModel;
    private final int vocab;
    /** Token models: the stored hiddens to score, and the LM head's logits for them; else null. */
    private final float[] scoreHidden;
    private final float[] scoreLogits;
    /** The batch row of each scored hidden. */
    private final int[] scoredRow;
    private final EventModel eventModel;
    private final EventFields eventFields;
    private final AnomalyLikelihood likelihood;
    private final EventAssessment assessment = new EventAssessment();

    /**
     * @param batch      the batch the steppers fill; token models' tokens and logits are read from it
     * @param eventModel the event model, or null for a plain model
     * @param likelihood the per-key anomaly likelihood of an event model
     */
    public Scorer(MambaEngine engine, StepBatch batch, EventModel eventModel, AnomalyLikelihood likelihood) {
        this.engine = engine;
        this.batch = batch;
        this.dModel = batch.dModel();
        this.vocab = batch.vocabSize();
        boolean tokens = batch.input() == StepBatch.Input.TOKENS;
        this.scoreHidden = tokens ? new float[batch.capacity() * dModel] : null;
        this.scoreLogits = tokens ? new float[batch.capacity() * vocab] : null;
        this.scoredRow = new int[batch.capacity()];
        this.eventModel = eventModel;
        this.eventFields = eventModel == null ? null : new EventFields(eventModel.schema());
        this.likelihood = likelihood;
    }

    /** Whether events are scored by an event model ({@link #assess}). */
    public boolean assessesEvents() {
        return eventModel != null;
    }

    /**
     * Token models, before the step: scores[r] for the token in batch row r, under the stored hidden of
     * {@code live[r]}, for r < rows; NaN where the key has none (and for every row of other models).
     */
    public void scoreRows(LiveKey[] live, int rows, double[] scores) {
        Arrays.fill(scores, 0, rows, Double.NaN);
        if (scoreHidden == null) {
            return;
        }
        int scored = 0;
        for (int r = 0; r < rows; r++) {
            float[] previous = live[r].lastHidden;
            if (previous != null) {
                System.arraycopy(previous, 0, scoreHidden, scored * dModel, dModel);
                scoredRow[scored++] = r;
            }
        }
        scoreStored(scored, scores);
    }

    /**
     * Token models, before a sequence step: the scores of the rows that are their key's first in the bundle
     * ({@code firstOfKey}; key i's first row is the i-th such row), under the hidden stored with the key,
     * where the row does not start a session; NaN for every other row of the first {@code rows}.
     */
    public void scoreFirstRows(LiveKey[] live, int rows, boolean[] firstOfKey, boolean[] sessionStart,
                               double[] scores) {
        Arrays.fill(scores, 0, rows, Double.NaN);
        if (scoreHidden == null) {
            return;
        }
        int scored = 0;
        int key = -1;
        for (int r = 0; r < rows; r++) {
            if (!firstOfKey[r]) {
                continue;
            }
            key++;
            if (!sessionStart[r] && live[key].lastHidden != null) {
                System.arraycopy(live[key].lastHidden, 0, scoreHidden, scored * dModel, dModel);
                scoredRow[scored++] = r;
            }
        }
        scoreStored(scored, scores);
    }

    /**
     * Token models, after a sequence step: the scores of the later rows of each key that start no session,
     * from the logits the engine produced for the key's previous row.
     */
    public void scoreFromPreviousRows(int rows, boolean[] firstOfKey, boolean[] sessionStart, double[] scores) {
        if (scoreHidden == null) {
            return;
        }
        for (int r = 0; r < rows; r++) {
            if (!firstOfKey[r] && !sessionStart[r]) {
                scores[r] = MambaEngine.negativeLogLikelihood(batch.logits(), r - 1, vocab, batch.tokens()[r]);
            }
        }
    }

    /**
     * Event models: the event's score under the key's previous hidden ({@code key.lastHidden}, NaN at a
     * session's start or else {@code score}), the key's likelihood updated with it, and the prediction from
     * the event's own {@code hidden}. The result is valid until the next call.
     */
    public EventAssessment assess(LiveKey key, BufferedEvent<?, ?> event, boolean sessionStart, double score,
                                  float[] hidden) {
        double improbability = Double.NaN;
        if (!sessionStart && key.lastHidden != null) {
            eventFields.clear();
            System.arraycopy(event.numeric(), 0, eventFields.numeric(), 0, event.numeric().length);
            eventFields.category(event.category());
            EventModel.Assessment assessed = eventModel.assess(key.lastHidden, eventFields);
            score = assessed.score();
            improbability = assessed.improbability();
        }
        if (key.likelihood == null) {
            key.likelihood = new double[likelihood.stateSize()];
        }
        assessment.score = score;
        assessment.likelihood = likelihood.update(key.likelihood, score, improbability);
        assessment.prediction = eventModel.predict(hidden);
        return assessment;
    }

    /** scores[scoredRow[s]] from the LM head over the first {@code scored} rows of scoreHidden. */
    private void scoreStored(int scored, double[] scores) {
        if (scored == 0) {
            return;
        }
        engine.logits(scoreHidden, scored, scoreLogits);
        for (int s = 0; s < scored; s++) {
            int r = scoredRow[s];
            scores[r] = MambaEngine.negativeLogLikelihood(scoreLogits, s, vocab, batch.tokens()[r]);
        }
    }
}

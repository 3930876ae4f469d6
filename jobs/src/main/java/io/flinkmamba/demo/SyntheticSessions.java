package io.flinkmamba.demo;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * The demo's session stream: users browsing a shop, each session a walk of a fixed Markov chain over
 * {@link #ACTIONS} that starts at home or search and ends at logout (or after {@link #MAX_LENGTH} events), events
 * 5 to 60 s apart, a user's sessions 2 to 6 hours apart. The chain is known, so the best possible next-event
 * accuracy and surprise are too.
 */
public final class SyntheticSessions {
    public static final List<String> ACTIONS = List.of("home", "search", "view", "cart", "checkout", "logout");
    static final int MAX_LENGTH = 30;
    private static final int LOGOUT = 5;
    private static final double[] START = {0.6, 0.4, 0, 0, 0, 0};
    /** Rows: from home, search, view, cart, checkout; columns: to the actions in order. */
    private static final double[][] TRANSITIONS = {
            {0.05, 0.45, 0.35, 0.05, 0.00, 0.10},
            {0.05, 0.20, 0.60, 0.05, 0.00, 0.10},
            {0.10, 0.25, 0.30, 0.25, 0.00, 0.10},
            {0.05, 0.10, 0.20, 0.05, 0.50, 0.10},
            {0.30, 0.05, 0.05, 0.00, 0.00, 0.60}};

    /** One session: its user, and per event the action index and the time. */
    public record Session(String user, int index, int[] actions, long[] times) {}

    private SyntheticSessions() {}

    public static List<Session> generate(int users, int sessionsPerUser, long start, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<Session> sessions = new ArrayList<>();
        for (int u = 0; u < users; u++) {
            String user = String.format(Locale.ROOT, "user-%03d", u);
            long time = start + random.nextLong(3_600_000L);
            for (int s = 0; s < sessionsPerUser; s++) {
                List<Integer> actions = new ArrayList<>();
                List<Long> times = new ArrayList<>();
                int action = draw(START, random);
                while (true) {
                    actions.add(action);
                    times.add(time);
                    time += 5_000L + random.nextLong(55_000L);
                    if (action == LOGOUT || actions.size() == MAX_LENGTH) {
                        break;
                    }
                    action = draw(TRANSITIONS[action], random);
                }
                sessions.add(new Session(user, s, actions.stream().mapToInt(Integer::intValue).toArray(),
                        times.stream().mapToLong(Long::longValue).toArray()));
                time += 2 * 3_600_000L + random.nextLong(4 * 3_600_000L);
            }
        }
        return sessions;
    }

    /** The chain's probability of {@code next} after {@code previous}. */
    public static double probability(int previous, int next) {
        return TRANSITIONS[previous][next];
    }

    /** The chain's most likely action after {@code previous}. */
    public static int mostLikely(int previous) {
        int best = 0;
        for (int i = 1; i < ACTIONS.size(); i++) {
            if (TRANSITIONS[previous][i] > TRANSITIONS[previous][best]) {
                best = i;
            }
        }
        return best;
    }

    private static int draw(double[] p, SplittableRandom random) {
        double u = random.nextDouble();
        for (int i = 0; i < p.length; i++) {
            u -= p[i];
            if (u < 0) {
                return i;
            }
        }
        return p.length - 1;
    }
}

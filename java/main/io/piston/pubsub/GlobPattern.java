package io.piston.pubsub;

/**
 * A channel pattern as Redis PSUBSCRIBE reads it: {@code *} any run of characters, {@code ?} one
 * character, {@code [abc]}, {@code [^a]} and {@code [a-z]} classes, {@code \} escapes the next
 * character. Immutable; any thread.
 */
final class GlobPattern {
    private final String pattern;

    GlobPattern(String pattern) {
        this.pattern = pattern;
    }

    boolean matches(String text) {
        return match(pattern, 0, text, 0);
    }

    private static boolean match(String p, int pi, String s, int si) {
        int pn = p.length();
        int sn = s.length();
        while (pi < pn) {
            char c = p.charAt(pi);
            switch (c) {
                case '*' -> {
                    while (pi + 1 < pn && p.charAt(pi + 1) == '*') pi++;
                    if (pi + 1 == pn) return true;
                    for (int k = si; k <= sn; k++) {
                        if (match(p, pi + 1, s, k)) return true;
                    }
                    return false;
                }
                case '?' -> {
                    if (si >= sn) return false;
                    pi++;
                    si++;
                }
                case '[' -> {
                    if (si >= sn) return false;
                    int end = classEnd(p, pi);
                    if (end < 0) {
                        // an unclosed '[' matches itself
                        if (s.charAt(si) != '[') return false;
                        pi++;
                        si++;
                        break;
                    }
                    if (!inClass(p, pi + 1, end, s.charAt(si))) return false;
                    pi = end + 1;
                    si++;
                }
                case '\\' -> {
                    if (pi + 1 < pn) pi++;
                    if (si >= sn || p.charAt(pi) != s.charAt(si)) return false;
                    pi++;
                    si++;
                }
                default -> {
                    if (si >= sn || c != s.charAt(si)) return false;
                    pi++;
                    si++;
                }
            }
        }
        return si == sn;
    }

    private static int classEnd(String p, int open) {
        for (int i = open + 1; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c == '\\') i++;
            else if (c == ']' && i > open + 1 + (p.charAt(open + 1) == '^' ? 1 : 0)) return i;
        }
        return -1;
    }

    private static boolean inClass(String p, int from, int end, char c) {
        boolean negate = p.charAt(from) == '^';
        if (negate) from++;
        boolean found = false;
        for (int i = from; i < end; i++) {
            char a = p.charAt(i);
            if (a == '\\' && i + 1 < end) {
                a = p.charAt(++i);
                if (a == c) found = true;
            } else if (i + 2 < end && p.charAt(i + 1) == '-') {
                char b = p.charAt(i + 2);
                char lo = (char) Math.min(a, b);
                char hi = (char) Math.max(a, b);
                if (c >= lo && c <= hi) found = true;
                i += 2;
            } else if (a == c) {
                found = true;
            }
        }
        return found != negate;
    }

    @Override
    public String toString() {
        return pattern;
    }
}

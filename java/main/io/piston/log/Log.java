package io.piston.log;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * The server's log: one line per event on standard error, from any thread. The stream is
 * replaceable so the Ruby side can point it at its own $stderr. Messages carry what clients and
 * apps sent (request targets, header names), so control characters in them are escaped: a CR
 * or LF from outside can never start a line that looks like an entry of its own. Only a line
 * break followed by a tab stays, for backtraces: such a line continues the entry above it.
 */
public final class Log {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");
    private static volatile PrintStream out = System.err;

    private Log() {}

    public static void setStream(PrintStream stream) {
        out = stream;
    }

    public static void info(String message) {
        line("INFO", escape(message));
    }

    public static void warn(String message) {
        line("WARN", escape(message));
    }

    /** The message, then the cause's stack trace, each line indented as a continuation line. */
    public static void error(String message, Throwable cause) {
        if (cause == null) {
            line("ERROR", escape(message));
            return;
        }
        StringWriter trace = new StringWriter();
        cause.printStackTrace(new PrintWriter(trace));
        StringBuilder text = new StringBuilder(escape(message));
        for (String traceLine : trace.toString().stripTrailing().split("\n")) {
            text.append(traceLine.startsWith("\t") ? "\n" : "\n\t").append(escape(traceLine));
        }
        line("ERROR", text.toString());
    }

    /**
     * {@code s} with CR as \\r, LF as \\n (unless a tab follows) and other control characters
     * as \\xNN; itself when it has none.
     */
    static String escape(String s) {
        if (s == null) return "null";
        int i = 0;
        while (i < s.length() && !mustEscape(s, i)) i++;
        if (i == s.length()) return s;
        StringBuilder b = new StringBuilder(s.length() + 16).append(s, 0, i);
        for (; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!mustEscape(s, i)) b.append(c);
            else if (c == '\r') b.append("\\r");
            else if (c == '\n') b.append("\\n");
            else b.append(String.format("\\x%02x", (int) c));
        }
        return b.toString();
    }

    private static boolean mustEscape(String s, int i) {
        char c = s.charAt(i);
        if (c == '\n') return i + 1 == s.length() || s.charAt(i + 1) != '\t';
        return (c < 0x20 && c != '\t') || c == 0x7f;
    }

    private static void line(String level, String message) {
        String text = LocalDateTime.now().format(TIME) + " " + level + " [" + Thread.currentThread().getName()
                + "] " + message;
        PrintStream stream = out;
        synchronized (stream) {
            stream.println(text);
            stream.flush();
        }
    }
}

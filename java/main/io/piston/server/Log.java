package io.piston.server;

import java.io.PrintStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;

/**
 * The server's log: one line per event on standard error, from any thread. The stream is
 * replaceable so the Ruby side can point it at its own $stderr.
 */
public final class Log {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm:ss.SSS");
    private static volatile PrintStream out = System.err;

    private Log() {}

    public static void setStream(PrintStream stream) {
        out = stream;
    }

    public static void info(String message) {
        line("INFO", message);
    }

    public static void warn(String message) {
        line("WARN", message);
    }

    public static void error(String message, Throwable cause) {
        StringWriter trace = new StringWriter();
        if (cause != null) cause.printStackTrace(new PrintWriter(trace));
        line("ERROR", cause == null ? message : message + "\n" + trace.toString().stripTrailing());
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

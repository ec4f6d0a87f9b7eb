package io.piston.http;

import java.io.FileOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * One line per finished response, in the Common Log Format with the duration appended:
 * {@code 127.0.0.1 - - [27/Nov/2026:18:00:00 +0000] "GET / HTTP/1.1" 200 12 0.0004}.
 * Written from worker threads; each line is written whole.
 */
public final class AccessLog {
    private static final DateTimeFormatter TIME = DateTimeFormatter.ofPattern("dd/MMM/yyyy:HH:mm:ss Z", Locale.ROOT);
    private final PrintStream out;

    private AccessLog(PrintStream out) {
        this.out = out;
    }

    /** {@code "-"} is standard output, anything else a file appended to. */
    public static AccessLog open(String target) throws IOException {
        OutputStream stream = "-".equals(target) ? System.out : new FileOutputStream(target, true);
        return new AccessLog(new PrintStream(stream, true, StandardCharsets.UTF_8));
    }

    void log(HttpExchange ex) {
        InetSocketAddress remote = ex.remoteAddress();
        String who = remote == null ? "-" : remote.getAddress().getHostAddress();
        double seconds = (System.nanoTime() - ex.startNanos()) / 1e9;
        String line = who + " - - [" + ZonedDateTime.now().format(TIME) + "] \"" + ex.request().method() + " "
                + ex.request().uri() + " " + ex.request().protocolVersion() + "\" " + ex.status() + " "
                + (ex.bytesSent() == 0 ? "-" : Long.toString(ex.bytesSent())) + " " + String.format(Locale.ROOT, "%.4f", seconds);
        out.println(line);
    }
}

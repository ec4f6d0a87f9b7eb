package io.piston.bench;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.piston.http.ResponseHead;
import io.piston.server.PistonServer;
import io.piston.server.ServerConfig;
import java.nio.charset.StandardCharsets;

/**
 * Piston's HTTP core with a Java app in place of the Ruby one: the same IO threads, worker pool,
 * request handling and hand-offs as Piston, but no JRuby. Run in {@code bench/http.sh} (as
 * PISTON_CMD) it splits Piston's distance from the ceiling into what its Java request path costs,
 * the two hand-offs included, and what the Ruby side adds. The app runs on the worker threads and
 * answers as Piston does for bench/hello.ru; {@code main} starts the server and blocks until the
 * process is killed (no graceful stop: it is a benchmark target).
 */
public final class HelloWorkerServer {
    private static final byte[] BODY = "Hello World!".getBytes(StandardCharsets.US_ASCII);
    // As bench/hello.ru spells them, so this server sends the bytes Piston sends for it.
    private static final AsciiString CONTENT_TYPE = AsciiString.cached("Content-Type");
    private static final AsciiString CONTENT_LENGTH = AsciiString.cached("Content-Length");
    private static final byte[] TEXT_HTML = "text/html".getBytes(StandardCharsets.US_ASCII);
    private static final byte[] TWELVE = "12".getBytes(StandardCharsets.US_ASCII);

    public static void main(String[] args) throws Exception {
        ServerConfig.Builder config = ServerConfig.builder().host("127.0.0.1").port(9292);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) usage(null);
            if (!a.matches("--port|-p|--bind|-b|--threads|-t")) usage("unknown option " + a);
            if (i + 1 >= args.length) usage("missing value for " + a);
            String v = args[++i];
            try {
                switch (a) {
                    case "--port", "-p" -> config.port(Integer.parseInt(v));
                    case "--bind", "-b" -> config.host(v);
                    default -> config.threads(Integer.parseInt(v));
                }
            } catch (NumberFormatException e) {
                usage("not a number for " + a + ": " + v);
            }
        }
        ServerConfig settings = null;
        try {
            settings = config.build();
        } catch (IllegalArgumentException e) {
            usage(e.getMessage());
        }
        PistonServer server = new PistonServer(settings, exchange -> {
            if (!exchange.takesReadyMade(200)) { // HEAD, HTTP/1.0: the general path, as on the Rack side
                HttpHeaders headers = DefaultHttpHeadersFactory.headersFactory().newHeaders();
                headers.add(CONTENT_TYPE, "text/html");
                headers.add(CONTENT_LENGTH, "12");
                exchange.respond(200, headers, Unpooled.wrappedBuffer(BODY), true);
                return;
            }
            // The ready-made path the Rack side takes for an Array body with plain headers.
            ResponseHead head = new ResponseHead(200);
            head.add(CONTENT_TYPE, TEXT_HTML, 0, TEXT_HTML.length);
            head.add(CONTENT_LENGTH, TWELVE, 0, TWELVE.length);
            exchange.respond(head, Unpooled.wrappedBuffer(BODY));
        }).start();
        System.out.println("Listening on http://" + server.host() + ":" + server.port() + " (" + server.transport() + ", "
                + server.config().threads + " worker threads)");
        System.out.flush();
        server.awaitStopped();
    }

    private static void usage(String error) {
        String usage = "usage: HelloWorkerServer [--port N] [--bind ADDR] [--threads N]";
        if (error == null) {
            System.out.println(usage);
            System.exit(0);
        }
        System.err.println("HelloWorkerServer: " + error);
        System.err.println(usage);
        System.exit(2);
    }
}

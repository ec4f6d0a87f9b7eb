package io.piston.bench;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.util.AsciiString;
import io.piston.server.PistonServer;
import io.piston.server.ServerConfig;
import java.nio.charset.StandardCharsets;

/**
 * Piston's HTTP core with a Java app in place of the Ruby one: the same IO threads, worker pool
 * and hand-offs as Piston, but no JRuby. Run in {@code bench/http.sh} (as PISTON_CMD) it splits
 * Piston's distance from the ceiling into what the two hand-offs per request cost and what the
 * Ruby side costs. The app runs on the worker threads and answers "Hello World!" with the
 * headers bench/hello.ru returns.
 */
public final class HelloWorkerServer {
    private static final byte[] BODY = "Hello World!".getBytes(StandardCharsets.US_ASCII);
    // As bench/hello.ru spells them, so both servers send the same bytes.
    private static final AsciiString CONTENT_TYPE = AsciiString.cached("Content-Type");
    private static final AsciiString CONTENT_LENGTH = AsciiString.cached("Content-Length");
    private static final AsciiString TWELVE = AsciiString.cached("12");
    private static final DefaultHttpHeadersFactory HEADERS = DefaultHttpHeadersFactory.headersFactory().withValidation(false);

    public static void main(String[] args) throws Exception {
        ServerConfig.Builder config = new ServerConfig.Builder().host("127.0.0.1").port(9292);
        for (int i = 0; i < args.length; i++) {
            String a = args[i];
            if (a.equals("-h") || a.equals("--help")) usage(null);
            if (i + 1 >= args.length) usage("missing value for " + a);
            String v = args[++i];
            switch (a) {
                case "--port", "-p" -> config.port(Integer.parseInt(v));
                case "--bind", "-b" -> config.host(v);
                case "--threads", "-t" -> config.threads(Integer.parseInt(v));
                default -> usage("unknown option " + a);
            }
        }
        PistonServer server = new PistonServer(config.build(), exchange -> {
            HttpHeaders headers = HEADERS.newHeaders();
            headers.add(CONTENT_TYPE, HttpHeaderValues.TEXT_HTML);
            headers.add(CONTENT_LENGTH, TWELVE);
            exchange.respond(200, headers, Unpooled.wrappedBuffer(BODY.clone()), true);
        }).start();
        System.out.println("Listening on http://" + server.host() + ":" + server.port() + " (" + server.transport() + ", "
                + server.config().threads + " worker threads)");
        System.out.flush();
        server.awaitStopped();
    }

    private static void usage(String error) {
        if (error != null) System.err.println("HelloWorkerServer: " + error);
        System.err.println("usage: HelloWorkerServer [--port N] [--bind ADDR] [--threads N]");
        System.exit(error == null ? 0 : 2);
    }
}

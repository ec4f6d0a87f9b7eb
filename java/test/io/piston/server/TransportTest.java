package io.piston.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaders;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each transport this machine has serves a request over a real socket, and a transport is named
 * as the options name it. On Linux with io_uring allowed, all three run.
 */
class TransportTest {
    @ParameterizedTest
    @EnumSource(Transport.class)
    void servesHttpOnEachTransportThePlatformHas(Transport transport) throws Exception {
        assumeTrue(transport.isAvailable(), transport.label() + " is not available here");
        ServerConfig config = ServerConfig.builder().host("127.0.0.1").port(0).threads(1).ioThreads(1)
                .transport(transport.label()).build();
        PistonServer server = new PistonServer(config, exchange -> {
            HttpHeaders headers = DefaultHttpHeadersFactory.headersFactory().newHeaders();
            headers.add("Content-Length", "2");
            exchange.respond(200, headers, Unpooled.copiedBuffer("ok", StandardCharsets.US_ASCII), true);
        }).start();
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            assertEquals(transport.label(), server.transport());
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write("GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String response = new String(in.readAllBytes(), StandardCharsets.US_ASCII);
            assertTrue(response.startsWith("HTTP/1.1 200"), response);
            assertTrue(response.endsWith("\r\n\r\nok"), response);
        } finally {
            server.stop();
        }
    }

    @Test
    void namesAreTheOptionsValues() {
        assertNull(Transport.named("auto"));
        assertEquals(Transport.IO_URING, Transport.named("io_uring"));
        assertEquals(Transport.EPOLL, Transport.named("EPOLL"));
        assertEquals(Transport.NIO, Transport.named("nio"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> ServerConfig.builder().transport("kqueue").build());
        assertEquals("transport must be auto, io_uring, epoll or nio, got kqueue", e.getMessage());
    }

    @Test
    void autoTakesTheFirstPreferredTransportThePlatformHas() {
        Transport expected = null;
        for (Transport t : Transport.PREFERRED) {
            if (t.isAvailable()) {
                expected = t;
                break;
            }
        }
        assertEquals(expected, Transport.choose("auto"));
        assertEquals(Transport.NIO, Transport.choose("nio"));
    }
}

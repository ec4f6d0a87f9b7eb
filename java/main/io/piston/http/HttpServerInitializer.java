package io.piston.http;

import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelPipeline;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.HttpDecoderConfig;
import io.netty.handler.codec.http.HttpRequestDecoder;

/**
 * The whole pipeline of a connection, top to bottom. Runs on the IO thread that accepted it.
 * <pre>
 *   bytes ─▶ HttpRequestDecoder (parse, limits on request line and headers; CL+TE refused)
 *         ─▶ HttpRequestHandler (body, timeouts, order) ─▶ worker pool
 *   bytes ◀─ ResponseEncoder (every other response) ◀─ HttpRequestHandler
 *         ◀─────────────────── ready-made responses (ResponseHead), past the encoder
 * </pre>
 */
public final class HttpServerInitializer extends ChannelInitializer<SocketChannel> {
    private final HttpServerContext server;
    private final HttpDecoderConfig decoderConfig;

    public HttpServerInitializer(HttpServerContext server) {
        this.server = server;
        this.decoderConfig = decoderConfig(server.config);
    }

    static HttpDecoderConfig decoderConfig(HttpConfig config) {
        return new HttpDecoderConfig()
                .setMaxInitialLineLength(config.maxRequestLine)
                .setMaxHeaderSize(config.maxHeaderSize)
                .setMaxChunkSize(64 * 1024)
                .setValidateHeaders(true)
                // Content-Length together with Transfer-Encoding is an error, not a hint (smuggling).
                .setUseRfc9112TransferEncoding(true)
                .setStrictLineParsing(true);
    }

    @Override
    protected void initChannel(SocketChannel ch) {
        ChannelPipeline p = ch.pipeline();
        HttpRequestHandler requests = new HttpRequestHandler(server);
        p.addLast("decoder", new HttpRequestDecoder(decoderConfig));
        p.addLast("encoder", new ResponseEncoder(requests::answeringHead));
        p.addLast("requests", requests);
    }
}

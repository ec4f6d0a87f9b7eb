package io.piston.upgrade;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufUtil;
import io.netty.buffer.CompositeByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelPipeline;
import io.netty.handler.codec.DecoderException;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.websocketx.BinaryWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CloseWebSocketFrame;
import io.netty.handler.codec.http.websocketx.ContinuationWebSocketFrame;
import io.netty.handler.codec.http.websocketx.CorruptedWebSocketFrameException;
import io.netty.handler.codec.http.websocketx.PingWebSocketFrame;
import io.netty.handler.codec.http.websocketx.PongWebSocketFrame;
import io.netty.handler.codec.http.websocketx.TextWebSocketFrame;
import io.netty.handler.codec.http.websocketx.Utf8FrameValidator;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameDecoder;
import io.netty.handler.codec.http.websocketx.WebSocket13FrameEncoder;
import io.netty.handler.codec.http.websocketx.WebSocketDecoderConfig;
import io.netty.handler.codec.http.websocketx.WebSocketFrame;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionData;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketExtensionUtil;
import io.netty.handler.codec.http.websocketx.extensions.WebSocketServerExtension;
import io.netty.handler.codec.http.websocketx.extensions.compression.PerMessageDeflateServerExtensionHandshaker;
import io.netty.handler.flush.FlushConsolidationHandler;
import io.netty.util.ReferenceCountUtil;
import io.piston.log.Log;
import io.piston.pubsub.WireFormat;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * A WebSocket connection (RFC 6455) after the handshake. Netty's frame decoder checks masking,
 * reserved bits, opcodes and frame sizes (1002 / 1009), the UTF-8 validator checks text (1007);
 * this handler checks the peer's Close (1002 / 1007) and the reserved bits that permessage-deflate
 * lets through (1002), assembles fragmented messages up to the size limit (1009), answers pings
 * within the outbound limit, runs the closing handshake in both directions and pings an idle
 * peer. Netty methods run on the channel's IO thread; {@link #handshake} on the worker that
 * accepted the upgrade.
 *
 * <pre>
 *   bytes ─▶ flush consolidation ─▶ frame decoder ─▶ [inflate] ─▶ UTF-8 check ─▶ this ─▶ callback queue
 *   bytes ◀─ flush consolidation ◀─ frame encoder ◀─ [deflate] ◀─ writes (frames, or pre-encoded buffers)
 * </pre>
 */
final class WebSocketConnection extends UpgradedConnection {
    private WebSocketServerExtension deflate;
    private CompositeByteBuf assembling;
    private boolean assemblingBinary;
    private boolean pingOutstanding;
    private ScheduledFuture<?> closeTimer;
    private ChannelHandlerContext encoderContext; // set with the handlers, on the IO thread

    WebSocketConnection(Channel channel, Executor workers, UpgradeConfig config, UpgradeHandler handler,
                        Set<UpgradedConnection> live) {
        super(channel, workers, config, handler, live);
    }

    @Override
    public Protocol protocol() {
        return Protocol.WEBSOCKET;
    }

    @Override
    public WireFormat wireFormat() {
        return WebSocketFrames.PUBLISHED;
    }

    @Override
    HttpResponse handshake(HttpRequest request, HttpHeaders headers) {
        headers.remove(HttpHeaderNames.CONTENT_LENGTH);
        headers.remove(HttpHeaderNames.TRANSFER_ENCODING);
        headers.set(HttpHeaderNames.UPGRADE, HttpHeaderValues.WEBSOCKET);
        headers.set(HttpHeaderNames.CONNECTION, HttpHeaderValues.UPGRADE);
        headers.set(HttpHeaderNames.SEC_WEBSOCKET_ACCEPT,
                UpgradeDetector.acceptKey(request.headers().get(HttpHeaderNames.SEC_WEBSOCKET_KEY)));
        headers.remove(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS);
        String offered = request.headers().get(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS);
        if (config.deflate && offered != null) {
            // Netty's inflater fails when less than 512 bytes of its buffer are left after a step, so a
            // message at the limit needs that much more; onData refuses what passes the limit (1009).
            int inflateBuffer = (int) Math.min(Integer.MAX_VALUE, config.maxMessage + 512L);
            PerMessageDeflateServerExtensionHandshaker handshaker =
                    new PerMessageDeflateServerExtensionHandshaker(6, true, 15, true, false, inflateBuffer);
            for (WebSocketExtensionData data : WebSocketExtensionUtil.extractExtensions(offered)) {
                WebSocketServerExtension ext = handshaker.handshakeExtension(data);
                if (ext != null) {
                    deflate = ext;
                    headers.set(HttpHeaderNames.SEC_WEBSOCKET_EXTENSIONS, describe(ext.newReponseData()));
                    break;
                }
            }
        }
        return new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.SWITCHING_PROTOCOLS,
                Unpooled.EMPTY_BUFFER, headers, HttpHeaders.EMPTY_HEADERS);
    }

    private static String describe(WebSocketExtensionData data) {
        StringBuilder sb = new StringBuilder(data.name());
        for (Map.Entry<String, String> p : data.parameters().entrySet()) {
            sb.append("; ").append(p.getKey());
            if (p.getValue() != null) sb.append('=').append(p.getValue());
        }
        return sb.toString();
    }

    @Override
    void addHandlers(ChannelPipeline p) {
        WebSocketDecoderConfig decoder = WebSocketDecoderConfig.newBuilder()
                .maxFramePayloadLength(deflate == null ? config.maxMessage : compressedLimit(config.maxMessage))
                .expectMaskedFrames(true)
                .allowMaskMismatch(false)
                .allowExtensions(deflate != null)
                .closeOnProtocolViolation(true)
                .build();
        p.addLast("ws-flush", new FlushConsolidationHandler(256, true));
        p.addLast("ws-encoder", new WebSocket13FrameEncoder(false));
        encoderContext = p.context("ws-encoder");
        p.addLast("ws-decoder", new FrameDecoder(decoder));
        if (deflate != null) {
            p.addLast("ws-deflate", deflate.newExtensionEncoder());
            p.addLast("ws-inflate", deflate.newExtensionDecoder());
        }
        p.addLast("ws-utf8", new Utf8FrameValidator(true));
        p.addLast("ws", this);
    }

    /**
     * The largest compressed frame a message of {@code max} bytes can take: data that does not
     * compress goes in stored blocks, 5 bytes of header for each 64 KiB, a little over its size.
     */
    static int compressedLimit(int max) {
        return (int) Math.min(Integer.MAX_VALUE - 8, max + (max >> 10) + 64L);
    }

    /**
     * Netty's decoder, leaving the body of a Close to {@link #onPeerClose}: Netty lets codes above
     * 4999 through, and answers the codes it refuses without a Close frame.
     */
    private static final class FrameDecoder extends WebSocket13FrameDecoder {
        FrameDecoder(WebSocketDecoderConfig config) {
            super(config);
        }

        @Override
        protected void checkCloseFrameBody(ChannelHandlerContext ctx, ByteBuf buffer) {}
    }

    @Override
    Object encode(byte[] data, int offset, int length, boolean binary) {
        if (deflate != null) {
            // compressed per connection by the deflate encoder
            var content = channel.alloc().buffer(length).writeBytes(data, offset, length);
            return binary ? new BinaryWebSocketFrame(content) : new TextWebSocketFrame(content);
        }
        return WebSocketFrames.encode(channel.alloc(), binary ? WebSocketFrames.BINARY : WebSocketFrames.TEXT, data,
                offset, length);
    }

    @Override
    ChannelHandlerContext framedWrites() {
        return encoderContext; // a buffer passes the deflate encoder and the frame encoder untouched
    }

    @Override
    int frameSize(byte[] data, int offset, int length, boolean binary) {
        return deflate != null ? -1 : WebSocketFrames.sizeOf(length); // the deflate encoder compresses each frame
    }

    @Override
    void frameInto(byte[] out, int at, byte[] data, int offset, int length, boolean binary, int size) {
        WebSocketFrames.frameInto(out, at, binary ? WebSocketFrames.BINARY : WebSocketFrames.TEXT, data, offset, length);
    }

    @Override
    public void channelRead(ChannelHandlerContext ctx, Object msg) {
        lastReadNanos = System.nanoTime();
        pingOutstanding = false;
        sentWhileBacklogged();
        if (msg instanceof TextWebSocketFrame || msg instanceof BinaryWebSocketFrame
                || msg instanceof ContinuationWebSocketFrame) {
            onData((WebSocketFrame) msg);
        } else if (msg instanceof PingWebSocketFrame ping) {
            if (ping.rsv() != 0) {
                ping.release();
                fail(1002, "reserved bits set on a ping");
            } else if (closeSent || !roomFor(2 + ping.content().readableBytes())) {
                ping.release();
            } else {
                ctx.writeAndFlush(new PongWebSocketFrame(ping.content()));
            }
        } else if (msg instanceof CloseWebSocketFrame close) {
            onPeerClose(close);
        } else {
            // a pong; with permessage-deflate the decoder lets reserved bits through on it
            boolean rsv = msg instanceof WebSocketFrame f && f.rsv() != 0;
            ReferenceCountUtil.release(msg);
            if (rsv) fail(1002, "reserved bits set on a pong");
        }
    }

    private void onData(WebSocketFrame frame) {
        try {
            if (closeSent) return;
            if (frame.rsv() != 0) { // RSV1 of a compressed message is gone once inflated: what is left has no meaning
                fail(1002, "reserved bits set on a data frame");
                return;
            }
            boolean continuation = frame instanceof ContinuationWebSocketFrame;
            int size = frame.content().readableBytes() + (assembling == null ? 0 : assembling.readableBytes());
            if (size > config.maxMessage) {
                fail(1009, "message over " + config.maxMessage + " bytes");
                return;
            }
            if (!continuation && frame.isFinalFragment()) {
                dispatch(ByteBufUtil.getBytes(frame.content()), frame instanceof BinaryWebSocketFrame);
                return;
            }
            if (!continuation) {
                assembling = ctx.alloc().compositeBuffer(64);
                assemblingBinary = frame instanceof BinaryWebSocketFrame;
            } else if (assembling == null) {
                fail(1002, "continuation frame without a message to continue");
                return;
            }
            assembling.addComponent(true, frame.content().retain());
            if (frame.isFinalFragment()) {
                byte[] data = ByteBufUtil.getBytes(assembling);
                assembling.release();
                assembling = null;
                dispatch(data, assemblingBinary);
            }
        } finally {
            frame.release();
        }
    }

    /**
     * The peer's Close: echo it (RFC 6455 5.5.1) unless it answers ours; then the server closes TCP.
     * A Close the peer may not send fails the connection (the decoder leaves its body to this).
     */
    private void onPeerClose(CloseWebSocketFrame close) {
        int code = close.statusCode();
        int error = close.rsv() != 0 ? 1002 : closeBodyError(close.content());
        String problem = close.rsv() != 0 ? "reserved bits set on a Close" : error == 1007 ? "Close reason not in UTF-8"
                : "Close of " + close.content().readableBytes() + " bytes with code " + code;
        close.release();
        if (error != 0) {
            fail(error, problem);
            return;
        }
        if (closeSent) {
            ctx.close();
            return;
        }
        closeSent = true;
        closing();
        if (!roomFor(4)) return;
        CloseWebSocketFrame echo = code < 0 ? new CloseWebSocketFrame(true, 0, Unpooled.EMPTY_BUFFER)
                : new CloseWebSocketFrame(code, "");
        ctx.writeAndFlush(echo).addListener(ChannelFutureListener.CLOSE);
    }

    /**
     * 0 when the body of a peer's Close is valid: empty, or a code the peer may send (RFC 6455
     * 7.4: 1000-1003, 1007-1014, 3000-4999) and a reason in UTF-8. Otherwise the code that fails
     * the connection: 1007 for a reason that is not UTF-8 (RFC 6455 8.1), 1002 for the rest.
     */
    static int closeBodyError(ByteBuf body) {
        int n = body.readableBytes();
        if (n == 0) return 0;
        if (n == 1) return 1002;
        int code = body.getUnsignedShort(body.readerIndex());
        boolean valid = code >= 1000 && code <= 1003 || code >= 1007 && code <= 1014 || code >= 3000 && code <= 4999;
        if (!valid) return 1002;
        return ByteBufUtil.isText(body, body.readerIndex() + 2, n - 2, StandardCharsets.UTF_8) ? 0 : 1007;
    }

    @Override
    void closeGracefully(int code) {
        if (closeSent || !channel.isActive()) return;
        closeSent = true;
        if (!roomFor(4)) return;
        ctx.writeAndFlush(new CloseWebSocketFrame(code, ""));
        closeTimer = ctx.executor().schedule(() -> {
            ctx.close();
        }, config.closeTimeout.toMillis(), TimeUnit.MILLISECONDS);
    }

    /** Fails the connection: a Close frame with {@code code}, then TCP closes without waiting for an answer. */
    private void fail(int code, String reason) {
        if (closeSent) {
            ctx.close();
            return;
        }
        closeSent = true;
        closing();
        Log.warn("closing WebSocket " + channel.remoteAddress() + " with " + code + ": " + reason);
        if (!fits(4 + reason.length())) { // nor does it read: the Close would only wait in the queue
            ctx.close();
            return;
        }
        ctx.writeAndFlush(new CloseWebSocketFrame(code, reason)).addListener(ChannelFutureListener.CLOSE);
    }

    @Override
    void idle(long interval) {
        if (System.nanoTime() - lastReadNanos < interval || closeSent) return;
        if (pingOutstanding) {
            if (!channel.isWritable()) { // reading paused: it has not read what it was sent for a whole interval
                closeSlow("it has not read for " + TimeUnit.NANOSECONDS.toSeconds(interval) + " s; "
                        + queuedBytes() + " bytes queued");
                return;
            }
            Log.info("closing WebSocket " + channel.remoteAddress() + ": no answer to a ping");
            ctx.close();
            return;
        }
        pingOutstanding = true;
        if (roomFor(2)) ctx.writeAndFlush(new PingWebSocketFrame());
    }

    @Override
    void released() {
        if (assembling != null) {
            assembling.release();
            assembling = null;
        }
        if (closeTimer != null) {
            closeTimer.cancel(false);
            closeTimer = null;
        }
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        if (cause instanceof CorruptedWebSocketFrameException e) {
            // the decoder or the UTF-8 check already sent its Close frame (1002, 1007, 1009) and closes
            closeSent = true;
            closing();
            Log.warn("WebSocket " + channel.remoteAddress() + " broke the protocol: " + e.getMessage());
            if (closeTimer == null) {
                closeTimer = ctx.executor().schedule(() -> {
                    ctx.close();
                }, config.closeTimeout.toMillis(), TimeUnit.MILLISECONDS);
            }
        } else if (cause instanceof DecoderException e) {
            fail(1009, "could not inflate the message: " + e.getMessage());
        } else if (cause instanceof IOException) {
            ctx.close();
        } else {
            Log.error("WebSocket " + channel.remoteAddress() + " failed", cause);
            ctx.close();
        }
    }
}

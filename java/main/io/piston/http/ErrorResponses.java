package io.piston.http;

import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.codec.http.DefaultHttpHeadersFactory;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpResponseStatus;
import java.nio.charset.StandardCharsets;

/** The short plain-text answers the server gives on its own (400, 413, 503...). Any thread. */
final class ErrorResponses {
    private ErrorResponses() {}

    static HttpHeaders textHeaders() {
        HttpHeaders headers = DefaultHttpHeadersFactory.headersFactory().newHeaders();
        headers.set(HttpHeaderNames.CONTENT_TYPE, "text/plain; charset=utf-8");
        return headers;
    }

    static ByteBuf body(ByteBufAllocator alloc, int status) {
        byte[] text = (status + " " + HttpResponseStatus.valueOf(status).reasonPhrase() + "\n").getBytes(StandardCharsets.UTF_8);
        return alloc.buffer(text.length).writeBytes(text);
    }
}

package io.piston.http;

import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseEncoder;
import io.netty.handler.codec.http.HttpStatusClass;
import java.util.function.BooleanSupplier;

/**
 * Encodes every response that is not sent ready-made ({@link ResponseHead}): streamed ones, those
 * of the general path, the server's own errors, interim and upgrade heads. Knows from the
 * connection's handler when the response answers a HEAD request, which then has no body whatever
 * its headers say. One per connection, IO thread.
 */
final class ResponseEncoder extends HttpResponseEncoder {
    private final BooleanSupplier answeringHead;

    ResponseEncoder(BooleanSupplier answeringHead) {
        this.answeringHead = answeringHead;
    }

    @Override
    protected boolean isContentAlwaysEmpty(HttpResponse msg) {
        if (msg.status().codeClass() != HttpStatusClass.INFORMATIONAL && answeringHead.getAsBoolean()) return true;
        return super.isContentAlwaysEmpty(msg);
    }
}

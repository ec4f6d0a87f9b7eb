package io.piston.http;

import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpRequest;
import io.netty.handler.codec.http.LastHttpContent;
import io.piston.log.Log;
import java.io.IOException;

/**
 * Collects the body of the request being read into a {@link RequestBody} (memory, or a temp file
 * past bodyMemory), within maxBody, and says after each piece where the body stands. A chunked
 * body has no length up front, so the limit is checked as it arrives. One per connection, on its
 * IO thread; the handler answers what {@link #add} reports.
 */
final class BodyReader {
    /** Where the body stands after a piece. */
    enum Step {
        /** More is to come. */
        MORE,
        /** The body is complete: {@link #take} it. */
        DONE,
        /** The decoder failed inside the body (a bad chunk size or trailer): the body is cut short. */
        MALFORMED,
        /** A chunked body passed maxBody. */
        TOO_LARGE,
        /** The body could not be stored (logged). */
        FAILED
    }

    private final HttpConfig config;
    private HttpRequest request;
    private RequestBody body;

    BodyReader(HttpConfig config) {
        this.config = config;
    }

    /** Starts reading the body of {@code request}; {@code length} is its Content-Length, -1 for none. */
    void start(HttpRequest request, long length) {
        this.request = request;
        this.body = new RequestBody(config.bodyMemory, config.tempDir, length);
    }

    /** True between {@link #start} and the body's end (taken or discarded). */
    boolean reading() {
        return request != null;
    }

    /** The request whose body is being read, or null. */
    HttpRequest request() {
        return request;
    }

    /** Adds one piece of the body (the caller keeps the buffer). After anything but MORE the body is done or discarded. */
    Step add(HttpContent content) {
        if (content.decoderResult().isFailure()) {
            discard();
            return Step.MALFORMED;
        }
        try {
            if (body.size() + content.content().readableBytes() > config.maxBody) {
                discard();
                return Step.TOO_LARGE;
            }
            body.append(content.content());
            if (!(content instanceof LastHttpContent)) return Step.MORE;
            body.complete();
            return Step.DONE;
        } catch (IOException e) {
            Log.error("could not store request body", e);
            discard();
            return Step.FAILED;
        }
    }

    /** The complete body, handed to whoever answers the request; the reader is free for the next one. */
    RequestBody take() {
        RequestBody done = body;
        request = null;
        body = null;
        return done;
    }

    /** Drops the body being read, if any (its temp file is removed). */
    void discard() {
        if (body != null) body.discard();
        request = null;
        body = null;
    }
}

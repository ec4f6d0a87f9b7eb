package io.piston.http;

/**
 * What the HTTP layer hands a complete request to. {@link #serve} runs on a worker thread (never
 * an IO thread) and must finish the exchange: respond, stream and end, or hijack.
 */
public interface Application {
    void serve(HttpExchange exchange);
}

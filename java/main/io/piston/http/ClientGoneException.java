package io.piston.http;

/**
 * Thrown on a worker thread when it writes to a connection the client has closed (or that was cut
 * for not reading). Unwinds the app's body iteration so {@code body.close} still runs.
 */
public final class ClientGoneException extends RuntimeException {
    public ClientGoneException(String message) {
        super(message, null, false, false);
    }
}

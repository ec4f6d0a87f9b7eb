package io.piston.http;

import io.netty.util.concurrent.EventExecutor;
import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * The one timer of an HTTP connection, on its IO thread: the header deadline (slowloris), the
 * body deadline with its byte-rate extension, and the keep-alive idle timeout. It is rescheduled
 * only when it fires: arming and disarming just move a deadline, so a busy keep-alive connection
 * does no timer work per request. A deadline that passes while the connection waits on the client
 * ends it through {@link Expiry}: with a 408, or (idle keep-alive) by just closing.
 */
final class RequestTimer {
    /** Each this many bytes of a request body that arrive give the client one more second to send the rest. */
    static final int BODY_BYTES_PER_SECOND = 16 * 1024;

    /** What the connection does when a deadline passes. IO thread. */
    interface Expiry {
        /** False while the server, not the client, has the next move (a response in flight, a hijack). */
        boolean waitingOnClient();

        /** The deadline passed: answer 408 and close when {@code answer408}, else just close. */
        void expired(boolean answer408);
    }

    private final EventExecutor loop;
    private final Expiry expiry;
    private ScheduledFuture<?> scheduled;
    private boolean armed;
    private boolean answers408;
    private long deadline;
    private long firesAt;

    RequestTimer(EventExecutor loop, Expiry expiry) {
        this.loop = loop;
        this.expiry = expiry;
    }

    /** Sets the deadline {@code after} from now, replacing any other; {@code answer408}: a request is late, not an idle connection. */
    void arm(Duration after, boolean answer408) {
        deadline = now() + after.toNanos();
        answers408 = answer408;
        armed = true;
        if (scheduled != null && firesAt - deadline > 0) {
            scheduled.cancel(false); // the new deadline is earlier than the scheduled check
            scheduled = null;
        }
        if (scheduled == null) schedule(after.toNanos());
    }

    /**
     * A body's deadline moves later by each piece that arrives, in proportion to its size
     * ({@link #BODY_BYTES_PER_SECOND}), so an upload at a fair rate always finishes and a body
     * trickled a byte at a time cannot hold the connection for ever.
     */
    void extend(int bytes) {
        if (armed) deadline += bytes * (1_000_000_000L / BODY_BYTES_PER_SECOND);
    }

    /** No deadline until the next {@link #arm}. */
    void disarm() {
        armed = false;
    }

    boolean armed() {
        return armed;
    }

    /** A deadline that passed while the check was skipped (a response was in flight) is checked now. */
    void recheck() {
        if (armed && scheduled == null) schedule(Math.max(0, deadline - now()));
    }

    /** The connection left HTTP or closed: no deadline, and nothing left scheduled. */
    void stop() {
        armed = false;
        if (scheduled != null) {
            scheduled.cancel(false);
            scheduled = null;
        }
    }

    private long now() {
        return loop.ticker().nanoTime();
    }

    private void schedule(long delayNanos) {
        firesAt = now() + delayNanos;
        scheduled = loop.schedule(this::fired, delayNanos, TimeUnit.NANOSECONDS);
    }

    private void fired() {
        scheduled = null;
        if (!armed || !expiry.waitingOnClient()) return;
        long left = deadline - now();
        if (left > 0) {
            schedule(left);
            return;
        }
        armed = false;
        expiry.expired(answers408);
    }
}

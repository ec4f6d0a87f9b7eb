package io.piston.upgrade;

import java.util.concurrent.Executor;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The process's own callback threads, shared by every server: a pool of named daemon threads
 * (piston-pubsub-N) that runs the blocks of global subscriptions (Piston.subscribe), which belong
 * to no server, and the callbacks of connections whose server's worker pool has shut down; and
 * one timer thread (piston-upgrade-retry) that retries a submit while the worker queue is full.
 * Any thread.
 */
public final class CallbackPool {
    private static final int RETRIES = 1000;
    private static final ScheduledExecutorService RETRY = Executors.newSingleThreadScheduledExecutor(
            named("piston-upgrade-retry"));
    private static final ExecutorService POOL = Executors.newCachedThreadPool(named("piston-pubsub"));

    private CallbackPool() {}

    /** A queue of its own on this pool: runs the tasks given to it one at a time, in order (a global subscription). */
    public static Executor newSerialQueue() {
        return new CallbackQueue(null, POOL);
    }

    /**
     * Submits {@code task} to {@code workers}, retrying while their queue is full; once they are
     * shut down (the server is stopping) the task runs on this pool instead.
     */
    static void submit(Executor workers, Runnable task) {
        submit(workers, task, 0);
    }

    private static void submit(Executor workers, Runnable task, int attempt) {
        try {
            workers.execute(task);
        } catch (RejectedExecutionException e) {
            boolean shutDown = workers instanceof ExecutorService pool && pool.isShutdown();
            if (attempt >= RETRIES || shutDown) {
                POOL.execute(task);
            } else {
                RETRY.schedule(() -> submit(workers, task, attempt + 1), 2, TimeUnit.MILLISECONDS);
            }
        }
    }

    private static ThreadFactory named(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix.endsWith("retry") ? prefix : prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }
}

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
 * Where callback work goes when the worker pool cannot take it: a full queue is retried shortly
 * (from one named timer thread, piston-upgrade-retry), a pool that was shut down hands the work
 * to a small pool of named daemon threads (piston-pubsub-N), which also runs the blocks of global
 * Piston.subscribe calls. Any thread.
 */
final class FallbackExecutor {
    private static final int RETRIES = 1000;
    private static final ScheduledExecutorService RETRY = Executors.newSingleThreadScheduledExecutor(
            named("piston-upgrade-retry"));
    private static final ExecutorService POOL = Executors.newCachedThreadPool(named("piston-pubsub"));

    private FallbackExecutor() {}

    /** The pool for work that belongs to no server: global subscriptions. */
    static Executor pool() {
        return POOL;
    }

    /** Submits {@code task} to {@code workers}, retrying while the pool's queue is full. */
    static void submit(Executor workers, Runnable task) {
        submit(workers, task, 0);
    }

    private static void submit(Executor workers, Runnable task, int attempt) {
        try {
            workers.execute(task);
        } catch (RejectedExecutionException e) {
            boolean shutDown = (workers instanceof ExecutorService es && es.isShutdown())
                    || String.valueOf(e.getMessage()).contains("shut down");
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

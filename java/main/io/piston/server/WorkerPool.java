package io.piston.server;

import io.netty.util.concurrent.FastThreadLocalThread;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bounded pool of named Ruby worker threads (piston-rack-N) that run the app and every
 * callback. IO threads submit; a full queue rejects at once (the IO thread answers 503). Code
 * that must tell a full pool from a stopped one asks {@link #isShutdown()}.
 */
public final class WorkerPool extends ThreadPoolExecutor {
    public WorkerPool(int threads, int queue) {
        super(threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(queue), workerThreads(),
                (task, pool) -> {
                    throw new RejectedExecutionException(pool.isShutdown()
                            ? "worker pool is shut down" : "worker queue is full (" + queue + " tasks)");
                });
        prestartAllCoreThreads();
    }

    private static ThreadFactory workerThreads() {
        AtomicInteger counter = new AtomicInteger();
        return r -> {
            // A FastThreadLocalThread takes Netty's fast path for thread-locals, the buffer
            // allocator's caches among them: workers allocate every response buffer.
            Thread t = new FastThreadLocalThread(r, "piston-rack-" + counter.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Lets queued and running work finish up to the deadline; true when everything finished. */
    public boolean shutdownWithin(long timeoutMillis) throws InterruptedException {
        shutdown();
        return awaitTermination(timeoutMillis, TimeUnit.MILLISECONDS);
    }
}

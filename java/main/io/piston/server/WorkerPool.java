package io.piston.server;

import java.util.concurrent.LinkedBlockingQueue;
import io.netty.util.concurrent.FastThreadLocalThread;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.RejectedExecutionHandler;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The bounded pool of named Ruby worker threads (piston-rack-N) that run the app and every
 * callback. IO threads submit; a full queue rejects at once (the IO thread answers 503).
 */
public final class WorkerPool implements Executor {
    private final ThreadPoolExecutor executor;

    public WorkerPool(int threads, int queue) {
        AtomicInteger counter = new AtomicInteger();
        ThreadFactory factory = r -> {
            // A FastThreadLocalThread takes Netty's fast path for thread-locals, the buffer
            // allocator's caches among them: workers allocate every response buffer.
            Thread t = new FastThreadLocalThread(r, "piston-rack-" + counter.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
        // The messages say why: FallbackExecutor hands work elsewhere when the pool is shut down.
        RejectedExecutionHandler refuse = (task, pool) -> {
            throw new RejectedExecutionException(pool.isShutdown()
                    ? "worker pool is shut down" : "worker queue is full (" + queue + " tasks)");
        };
        executor = new ThreadPoolExecutor(threads, threads, 60, TimeUnit.SECONDS, new LinkedBlockingQueue<>(queue), factory,
                refuse);
        executor.prestartAllCoreThreads();
    }

    @Override
    public void execute(Runnable task) {
        executor.execute(task);
    }

    /** Lets queued and running work finish up to the deadline; true when everything finished. */
    public boolean shutdown(long timeoutMillis) throws InterruptedException {
        executor.shutdown();
        return executor.awaitTermination(timeoutMillis, TimeUnit.MILLISECONDS);
    }

    public void shutdownNow() {
        executor.shutdownNow();
    }
}

package io.piston.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.concurrent.FastThreadLocalThread;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The worker pool's own contract, with real threads: its size, its named threads, a bounded queue
 * that rejects at once, and the two ways it stops. Long tasks block on a latch the tests release
 * at the end.
 */
class WorkerPoolTest {
    private final CountDownLatch release = new CountDownLatch(1);
    private WorkerPool pool;

    @AfterEach
    void stop() {
        release.countDown();
        if (pool != null) pool.shutdownNow();
    }

    private Runnable blocking(CountDownLatch started) {
        return () -> {
            started.countDown();
            try {
                release.await(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        };
    }

    @Test
    void runsAsManyTasksSideBySideAsItHasThreads() throws Exception {
        pool = new WorkerPool(8, 1024);
        CountDownLatch started = new CountDownLatch(8);
        for (int i = 0; i < 8; i++) pool.execute(blocking(started));
        assertTrue(started.await(5, TimeUnit.SECONDS), (8 - started.getCount()) + " of 8 tasks started");
    }

    @Test
    void aTaskQueuedBehindALongOneStartsOnAnotherWorkerSoon() throws Exception {
        pool = new WorkerPool(4, 1024);
        CountDownLatch longStarted = new CountDownLatch(1);
        CountDownLatch shortRan = new CountDownLatch(1);
        pool.execute(blocking(longStarted)); // runs until the test ends
        pool.execute(shortRan::countDown);
        assertTrue(longStarted.await(5, TimeUnit.SECONDS));
        assertTrue(shortRan.await(2, TimeUnit.SECONDS), "the short task waited for the long one");
    }

    @Test
    void aTaskThatThrowsLeavesThePoolServing() throws Exception {
        pool = new WorkerPool(1, 16);
        CountDownLatch ran = new CountDownLatch(1);
        pool.execute(() -> {
            throw new IllegalStateException("task failed on purpose");
        });
        pool.execute(ran::countDown);
        assertTrue(ran.await(5, TimeUnit.SECONDS));
    }

    @Test
    void workersAreNamedDaemonFastThreadLocalThreads() throws Exception {
        pool = new WorkerPool(2, 16);
        AtomicReference<Thread> worker = new AtomicReference<>();
        CountDownLatch ran = new CountDownLatch(1);
        pool.execute(() -> {
            worker.set(Thread.currentThread());
            ran.countDown();
        });
        assertTrue(ran.await(5, TimeUnit.SECONDS));
        assertTrue(worker.get().getName().matches("piston-rack-[12]"), worker.get().getName());
        assertTrue(worker.get().isDaemon());
        assertTrue(worker.get() instanceof FastThreadLocalThread);
    }

    @Test
    void aFullQueueRejectsAtOnce() throws Exception {
        pool = new WorkerPool(1, 2);
        CountDownLatch started = new CountDownLatch(1);
        pool.execute(blocking(started));
        assertTrue(started.await(5, TimeUnit.SECONDS));
        pool.execute(() -> {});
        pool.execute(() -> {});
        RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> pool.execute(() -> {}));
        assertTrue(e.getMessage().contains("full"), e.getMessage());
        assertFalse(pool.isShutdown());
    }

    @Test
    void shutdownLetsQueuedTasksFinishThenRefusesMore() throws Exception {
        pool = new WorkerPool(1, 16);
        AtomicInteger finished = new AtomicInteger();
        for (int i = 0; i < 3; i++) {
            pool.execute(() -> {
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    return;
                }
                finished.incrementAndGet();
            });
        }
        assertTrue(pool.shutdownWithin(5000));
        assertEquals(3, finished.get());
        assertThrows(RejectedExecutionException.class, () -> pool.execute(() -> {}));
        assertTrue(pool.isShutdown());
    }

    @Test
    void shutdownGivesUpAtTheDeadlineAndShutdownNowInterrupts() throws Exception {
        pool = new WorkerPool(1, 16);
        CountDownLatch started = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        pool.execute(() -> {
            started.countDown();
            try {
                Thread.sleep(10_000);
            } catch (InterruptedException e) {
                interrupted.countDown();
            }
        });
        assertTrue(started.await(5, TimeUnit.SECONDS));
        assertFalse(pool.shutdownWithin(50));
        pool.shutdownNow();
        assertTrue(interrupted.await(5, TimeUnit.SECONDS));
    }
}

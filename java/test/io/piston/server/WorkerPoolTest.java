package io.piston.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.netty.util.concurrent.DefaultEventExecutor;
import io.netty.util.concurrent.EventExecutor;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The worker pool with real threads: tasks submitted from a Netty event loop (as the IO threads
 * do) and from a plain thread. Long tasks block on latches the tests release at the end.
 */
class WorkerPoolTest {
    private final EventExecutor loop = new DefaultEventExecutor();
    private final CountDownLatch release = new CountDownLatch(1);
    private WorkerPool pool;

    @AfterEach
    void stop() throws InterruptedException {
        release.countDown();
        if (pool != null) pool.shutdownNow();
        loop.shutdownGracefully(0, 1, TimeUnit.SECONDS).await(5, TimeUnit.SECONDS);
    }

    /** Submits on the event loop, as an IO thread would, and waits until it was submitted. */
    private void submitFromLoop(Runnable task) throws Exception {
        loop.submit(() -> pool.execute(task)).get(5, TimeUnit.SECONDS);
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
    void aTaskQueuedBehindALongOneStartsOnAnotherWorkerSoon() throws Exception {
        pool = new WorkerPool(4, 1024);
        CountDownLatch longStarted = new CountDownLatch(1);
        CountDownLatch shortRan = new CountDownLatch(1);
        loop.submit(() -> {
            pool.execute(blocking(longStarted)); // runs until the test ends
            pool.execute(shortRan::countDown);
        }).get(5, TimeUnit.SECONDS);
        assertTrue(longStarted.await(5, TimeUnit.SECONDS));
        assertTrue(shortRan.await(2, TimeUnit.SECONDS), "the short task waited for the long one");
    }

    @Test
    void blockingTasksFromTheLoopRunSideBySide() throws Exception {
        pool = new WorkerPool(8, 1024);
        CountDownLatch started = new CountDownLatch(8);
        for (int i = 0; i < 8; i++) submitFromLoop(blocking(started));
        assertTrue(started.await(5, TimeUnit.SECONDS), (8 - started.getCount()) + " of 8 tasks started");
    }

    @Test
    void tasksFromOtherThreadsWakeAWorkerEach() throws Exception {
        // Many rounds: a worker that has just taken a task must not count as free for the next.
        for (int round = 0; round < 30; round++) {
            WorkerPool roundPool = new WorkerPool(4, 1024);
            try {
                CountDownLatch started = new CountDownLatch(4);
                CountDownLatch done = new CountDownLatch(1);
                for (int i = 0; i < 4; i++) {
                    roundPool.execute(() -> {
                        started.countDown();
                        try {
                            done.await(10, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    });
                }
                assertTrue(started.await(5, TimeUnit.SECONDS),
                        "round " + round + ": " + (4 - started.getCount()) + " of 4 tasks started");
                done.countDown();
            } finally {
                roundPool.shutdownNow();
            }
        }
    }

    @Test
    void aTaskThatLeavesItsThreadInterruptedDoesNotMakeTheWorkerSpin() throws Exception {
        pool = new WorkerPool(1, 16);
        Thread[] worker = new Thread[1];
        CountDownLatch ran = new CountDownLatch(1);
        pool.execute(() -> {
            worker[0] = Thread.currentThread();
            Thread.currentThread().interrupt(); // as a task does that restores an interrupt it caught
            ran.countDown();
        });
        assertTrue(ran.await(5, TimeUnit.SECONDS));
        Thread.sleep(100); // the worker has parked by now
        ThreadMXBean threads = ManagementFactory.getThreadMXBean();
        long before = threads.getThreadCpuTime(worker[0].getId());
        Thread.sleep(300);
        long used = threads.getThreadCpuTime(worker[0].getId()) - before;
        assertTrue(used < TimeUnit.MILLISECONDS.toNanos(100), "the parked worker used " + used / 1_000_000 + " ms of CPU in 300 ms");
        CountDownLatch next = new CountDownLatch(1);
        pool.execute(next::countDown);
        assertTrue(next.await(5, TimeUnit.SECONDS));
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
    }

    @Test
    void aTaskThatThrowsLeavesItsWorkerServing() throws Exception {
        pool = new WorkerPool(1, 16);
        CountDownLatch ran = new CountDownLatch(1);
        pool.execute(() -> {
            throw new IllegalStateException("task failed on purpose");
        });
        pool.execute(ran::countDown);
        assertTrue(ran.await(5, TimeUnit.SECONDS));
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
        assertTrue(pool.shutdown(5000));
        assertEquals(3, finished.get());
        RejectedExecutionException e = assertThrows(RejectedExecutionException.class, () -> pool.execute(() -> {}));
        assertTrue(e.getMessage().contains("shut down"), e.getMessage());
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
        assertEquals(false, pool.shutdown(50));
        pool.shutdownNow();
        assertTrue(interrupted.await(5, TimeUnit.SECONDS));
    }
}

package io.piston.server;

import io.netty.util.concurrent.EventExecutor;
import io.netty.util.concurrent.FastThreadLocal;
import io.netty.util.concurrent.FastThreadLocalThread;
import io.netty.util.internal.ThreadExecutorMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * The bounded pool of named Ruby worker threads (piston-rack-N) that run the app and every
 * callback. {@link #execute} runs on any thread (mostly the IO threads); a full queue rejects at
 * once (the IO thread answers 503). Each worker runs {@link Worker#run} on its own thread.
 *
 * <p>Waking a parked thread costs several microseconds of kernel time on both sides, more than
 * a small request takes in Ruby, and a pool that wakes a worker for every task spends most of its
 * time on that. So while tasks are short (their recent mean under {@link #SHORT_TASK_NANOS}), an
 * IO thread wakes a worker only when none is awake, and the awake ones take a burst of tasks one
 * after the other. When the oldest queued task has waited {@link #DEFAULT_STALL_NANOS} (one of
 * those tasks turned out long), a worker is woken for every queued task, checked by a timer on
 * the submitting IO thread's event loop. While tasks are long, and off the IO threads where no
 * timer can run, every task beyond the workers between tasks wakes one at once.
 *
 * <p>Besides the queue itself, the IO thread's path reads only fields that change rarely (the
 * awake count, whether tasks are long), not the ones the workers write for every task.
 */
public final class WorkerPool implements Executor {
    /** Tasks shorter than this on average are run back to back by the awake workers. */
    static final long SHORT_TASK_NANOS = TimeUnit.MICROSECONDS.toNanos(50);
    /**
     * A task that waited this long wakes workers for the queue, found by a timer of the same
     * period armed while short tasks are submitted.
     */
    static final long DEFAULT_STALL_NANOS = TimeUnit.MILLISECONDS.toNanos(1);
    /** A task longer than this counts as this long in the average, so one stream cannot skew it. */
    private static final long LONGEST_SAMPLE_NANOS = 10 * SHORT_TASK_NANOS;

    private static final int PARKED = 0, SEARCHING = 1, RUNNING = 2;

    /**
     * A submitted task, when it was queued (System.nanoTime), and whether its submitter woke a
     * worker for it (rather than leaving it to the awake workers).
     */
    private record Task(Runnable runnable, long queuedAt, boolean wokeForIt) {}

    private final ConcurrentLinkedQueue<Task> queue = new ConcurrentLinkedQueue<>();
    private final AtomicInteger queued = new AtomicInteger();
    /** Parked workers, most recently parked first: its caches are the warmest. */
    private final ConcurrentLinkedDeque<Worker> parked = new ConcurrentLinkedDeque<>();
    private final Worker[] workers;
    private final int capacity;
    private final long stallNanos;
    /** Workers that are not parked. */
    private final AtomicInteger awake;
    /** Moving average of task times, written racily by the workers (which is enough). */
    private volatile long meanTaskNanos;
    /** Whether {@link #meanTaskNanos} is {@link #SHORT_TASK_NANOS} or more; written only when that flips. */
    private volatile boolean longTasks;
    private volatile boolean accepting = true;
    private volatile boolean stopped;
    /** Whether this pool has a recheck scheduled on the current IO thread's event loop. */
    private final FastThreadLocal<boolean[]> recheckArmed = new FastThreadLocal<>() {
        @Override
        protected boolean[] initialValue() {
            return new boolean[1];
        }
    };

    public WorkerPool(int threads, int queueCapacity) {
        this(threads, queueCapacity, DEFAULT_STALL_NANOS);
    }

    /** With another stall time: tests make it long so that only what they test wakes workers. */
    WorkerPool(int threads, int queueCapacity, long stallNanos) {
        if (threads < 1) throw new IllegalArgumentException("threads must be at least 1");
        capacity = queueCapacity;
        this.stallNanos = stallNanos;
        workers = new Worker[threads];
        awake = new AtomicInteger(threads);
        for (int i = 0; i < threads; i++) workers[i] = new Worker("piston-rack-" + (i + 1));
        for (Worker w : workers) w.thread.start();
    }

    @Override
    public void execute(Runnable runnable) {
        if (runnable == null) throw new NullPointerException("task");
        // Counted before the check: shutdown sees either this task or accepting == false here.
        int count = queued.incrementAndGet();
        if (!accepting) {
            queued.decrementAndGet();
            throw new RejectedExecutionException("worker pool is shut down");
        }
        if (count > capacity) {
            queued.decrementAndGet();
            throw new RejectedExecutionException("worker queue is full (" + capacity + " tasks)");
        }
        long now = System.nanoTime();
        EventExecutor loop = ThreadExecutorMap.currentExecutor();
        boolean wakeForIt = loop == null || !loop.inEventLoop() || longTasks;
        queue.offer(new Task(runnable, now, wakeForIt));
        if (wakeForIt) {
            wakeForEveryTask();
            return;
        }
        if (awake.get() == 0) wakeOne();
        armRecheck(loop);
    }

    private boolean stalled(long now) {
        Task head = queue.peek();
        return head != null && now - head.queuedAt >= stallNanos;
    }

    /** Wakes one parked worker for every queued task that no worker between tasks will take. */
    private void wakeForEveryTask() {
        int searching = 0;
        for (Worker w : workers) if (w.state == SEARCHING) searching++;
        for (int wake = queued.get() - searching; wake > 0 && wakeOne(); wake--) {
            // each woken worker takes one of the tasks
        }
    }

    /** IO thread: makes sure tasks left to busy workers are looked at again. */
    private void armRecheck(EventExecutor loop) {
        boolean[] armed = recheckArmed.get();
        if (armed[0]) return;
        armed[0] = true;
        try {
            loop.schedule(() -> {
                armed[0] = false;
                if (stalled(System.nanoTime())) wakeForEveryTask();
                if (queued.get() > 0) armRecheck(loop);
            }, stallNanos, TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException e) {
            armed[0] = false; // the event loop is shutting down: nothing left to wait for
            wakeForEveryTask();
        }
    }

    private boolean wakeOne() {
        Worker w = parked.pollFirst();
        if (w == null) return false;
        w.state = SEARCHING; // awake from now on, before it even runs
        awake.incrementAndGet();
        LockSupport.unpark(w.thread);
        return true;
    }

    /**
     * Stops taking tasks and lets queued and running ones finish, up to the deadline; true when
     * everything finished. The workers then exit.
     */
    public boolean shutdown(long timeoutMillis) throws InterruptedException {
        accepting = false;
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMillis);
        while (!idle()) {
            if (System.nanoTime() - deadline > 0) return false;
            Thread.sleep(5);
        }
        stopWorkers(false);
        return true;
    }

    /** Stops at once: queued tasks are dropped and running ones interrupted. */
    public void shutdownNow() {
        accepting = false;
        queue.clear();
        queued.set(0);
        stopWorkers(true);
    }

    private boolean idle() {
        if (queued.get() > 0) return false;
        for (Worker w : workers) if (w.state == RUNNING) return false;
        return true;
    }

    private void stopWorkers(boolean interrupt) {
        stopped = true;
        for (Worker w : workers) {
            if (interrupt) w.thread.interrupt();
            LockSupport.unpark(w.thread);
        }
    }

    /** One worker thread: takes tasks until the queue is empty, then parks until woken. */
    private final class Worker implements Runnable {
        final Thread thread;
        volatile int state = SEARCHING;

        Worker(String name) {
            // A FastThreadLocalThread takes Netty's fast path for thread-locals, the buffer
            // allocator's caches among them: workers allocate every response buffer.
            thread = new FastThreadLocalThread(this, name);
            thread.setDaemon(true);
        }

        @Override
        public void run() {
            try {
                serve();
            } finally {
                // Stopped, or killed by an Error outside any task: no longer counts as awake.
                if (state != PARKED) {
                    state = PARKED;
                    awake.decrementAndGet();
                }
            }
        }

        private void serve() {
            while (!stopped) {
                Task task = queue.poll();
                if (task == null) {
                    park();
                    continue;
                }
                state = RUNNING; // before it leaves the queued count: shutdown always sees one of them
                queued.decrementAndGet();
                Thread.interrupted(); // an interrupt meant for the last task does not reach this one
                if (stopped) thread.interrupt(); // ...unless it is shutdownNow's
                // A submitter may have counted this worker as free after it took this task; the
                // last worker to start running sees every other's state and wakes who is missing.
                if (task.wokeForIt && queued.get() > 0) wakeForEveryTask();
                long start = System.nanoTime();
                try {
                    task.runnable.run();
                } catch (Throwable t) {
                    Log.error("uncaught error in " + thread.getName(), t);
                } finally {
                    state = SEARCHING;
                    long mean = meanTaskNanos;
                    mean += (Math.min(System.nanoTime() - start, LONGEST_SAMPLE_NANOS) - mean) >> 3;
                    meanTaskNanos = mean;
                    boolean isLong = mean >= SHORT_TASK_NANOS;
                    if (isLong != longTasks) longTasks = isLong;
                }
            }
        }

        /**
         * Parks until {@link #wakeOne} picks this worker. The queue is looked at again after this
         * worker is listed as parked: a task offered in between is then either seen here or
         * sees this worker parked and wakes it.
         */
        private void park() {
            state = PARKED;
            awake.decrementAndGet();
            parked.addFirst(this);
            if (!queue.isEmpty() || stopped) {
                // Take it back unless a submitter already picked this worker (and set SEARCHING).
                if (parked.removeFirstOccurrence(this)) {
                    state = SEARCHING;
                    awake.incrementAndGet();
                }
            }
            while (state == PARKED && !stopped) {
                LockSupport.park(this);
                // park returns at once while the interrupt flag is set: a task that left it set
                // (or Thread#raise from Ruby) would make this loop spin.
                Thread.interrupted();
            }
        }
    }
}

package io.piston.upgrade;

import io.piston.log.Log;
import java.util.ArrayDeque;
import java.util.concurrent.Executor;

/**
 * Runs the callbacks of one connection (or one global subscription) one at a time, in the order
 * they were added, on the worker pool. Tasks are added from any thread: IO threads (messages,
 * close), workers and app threads (block subscriptions, handler switches). There is no thread per
 * connection: the queue submits itself to the pool while it has work and gives the worker back
 * after a batch, so a busy connection cannot starve the others. Its deque is allocated on first use.
 */
final class CallbackQueue implements Runnable, Executor {
    private static final int BATCH = 32;
    private static final ThreadLocal<CallbackQueue> CURRENT = new ThreadLocal<>();

    /** The connection whose callbacks these are; null for a global subscription's queue. */
    final Object owner;
    private final Executor workers;
    private ArrayDeque<Runnable> tasks;
    private boolean scheduled;
    private boolean ended;

    CallbackQueue(Object owner, Executor workers) {
        this.owner = owner;
        this.workers = workers;
    }

    /** The queue whose task runs on this thread right now, or null. */
    static CallbackQueue current() {
        return CURRENT.get();
    }

    boolean isCurrent() {
        return CURRENT.get() == this;
    }

    /** Adds a task; dropped once the queue has ended. */
    @Override
    public void execute(Runnable task) {
        add(task);
    }

    /** Adds a task; false once the queue has ended. */
    boolean add(Runnable task) {
        return add(task, false);
    }

    /** Adds the final task (on_close): nothing added later runs. */
    boolean addLast(Runnable task) {
        return add(task, true);
    }

    private boolean add(Runnable task, boolean last) {
        synchronized (this) {
            if (ended) return false;
            if (last) ended = true;
            if (tasks == null) tasks = new ArrayDeque<>(4);
            tasks.add(task);
            if (scheduled) return true;
            scheduled = true;
        }
        CallbackPool.submit(workers, this);
        return true;
    }

    synchronized boolean hasEnded() {
        return ended;
    }

    /** Worker thread: runs up to a batch of tasks, then hands the rest to a later turn. */
    @Override
    public void run() {
        CallbackQueue outer = CURRENT.get();
        CURRENT.set(this);
        try {
            for (int i = 0; i < BATCH; i++) {
                Runnable task;
                synchronized (this) {
                    task = tasks.poll();
                    if (task == null) {
                        scheduled = false;
                        return;
                    }
                }
                try {
                    task.run();
                } catch (Throwable t) {
                    Log.error("connection callback failed", t);
                }
            }
        } finally {
            CURRENT.set(outer);
        }
        CallbackPool.submit(workers, this);
    }
}

// Swift Concurrency's global executor for devsyncd: a fixed pool of pthreads that sleep on a condition variable.
//
// Why: on Linux the default global executor enqueues jobs on libdispatch's non-overcommit global queues. The
// first worker thread of such a queue starts libdispatch's workqueue monitor (`_dispatch_workq_init_once` in
// swift-corelibs-libdispatch's src/event/workqueue.c), a timer on the manager queue that fires every second for
// the rest of the process's life to check whether the pool needs another thread. That timer was devsyncd's
// only wakeup when idle (docs/benchmarks.md). Serial DispatchQueues, which the C-library wrappers use, run on
// the overcommit root queue, whose workers are not monitored; so moving just the global executor off
// libdispatch removes the timer.
//
// How: the runtime's documented hook `swift_task_enqueueGlobal_hook` receives every job meant for the global
// executor; the pool queues it (FIFO; job priorities are not honoured, which a device daemon does not need) and a
// worker runs it with `swift_job_run` on the generic executor, as libdispatch's worker would. Workers are
// started on demand up to the limit, block every signal (libdispatch delivers signals through signalfd, which
// needs them blocked), and wait without a timeout. Delayed jobs (`Task.sleep`) still go to libdispatch; the
// daemon sleeps nowhere, and a sleep would only bring the monitor back, not break anything.
#define _GNU_SOURCE  // pthread_setname_np
#include "devsync_task_pool.h"

#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

typedef struct SwiftJob SwiftJob;

// The runtime's SerialExecutorRef; {NULL, 0} is the generic (global) executor.
typedef struct {
    void *identity;
    uintptr_t implementation;
} SerialExecutorRef;

typedef __attribute__((swiftcall)) void (*EnqueueOriginal)(SwiftJob *job);
extern __attribute__((swiftcall)) void (*swift_task_enqueueGlobal_hook)(SwiftJob *job, EnqueueOriginal original);
extern __attribute__((swiftcall)) void swift_job_run(SwiftJob *job, SerialExecutorRef executor);

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t available = PTHREAD_COND_INITIALIZER;
// A ring of queued jobs, grown by doubling; guarded by `lock`.
static SwiftJob **ring;
static size_t capacity, head, count;
static unsigned workers, idle, limit;
static unsigned long jobs_run;

static void *worker(void *unused) {
    (void)unused;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (count == 0) {
            idle++;
            pthread_cond_wait(&available, &lock);
            idle--;
        }
        SwiftJob *job = ring[head];
        head = (head + 1) % capacity;
        count--;
        jobs_run++;
        pthread_mutex_unlock(&lock);
        swift_job_run(job, (SerialExecutorRef){NULL, 0});
        pthread_mutex_lock(&lock);
    }
    return NULL;
}

// Called with `lock` held.
static void start_worker(void) {
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pthread_t thread;
    if (pthread_create(&thread, NULL, worker, NULL) == 0) {
        pthread_setname_np(thread, "devsync-task");
        pthread_detach(thread);
        workers++;
    }
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
}

__attribute__((swiftcall)) static void enqueue(SwiftJob *job, EnqueueOriginal original) {
    pthread_mutex_lock(&lock);
    if (count == capacity) {
        size_t grown = capacity ? capacity * 2 : 64;
        SwiftJob **bigger = malloc(grown * sizeof *bigger);
        if (bigger == NULL) {
            pthread_mutex_unlock(&lock);
            original(job);  // No memory for the queue: let libdispatch run it.
            return;
        }
        for (size_t i = 0; i < count; i++) bigger[i] = ring[(head + i) % capacity];
        free(ring);
        ring = bigger;
        capacity = grown;
        head = 0;
    }
    ring[(head + count) % capacity] = job;
    count++;
    if (idle > 0) {
        pthread_cond_signal(&available);
    } else if (workers < limit) {
        start_worker();
    }
    pthread_mutex_unlock(&lock);
}

void devsync_task_pool_install(unsigned threads) {
    pthread_mutex_lock(&lock);
    if (limit == 0) {
        long cpus = sysconf(_SC_NPROCESSORS_ONLN);
        limit = threads ? threads : (cpus > 0 ? (unsigned)cpus : 2);
        swift_task_enqueueGlobal_hook = enqueue;
    }
    pthread_mutex_unlock(&lock);
}

unsigned long devsync_task_pool_jobs_run(void) {
    pthread_mutex_lock(&lock);
    unsigned long value = jobs_run;
    pthread_mutex_unlock(&lock);
    return value;
}

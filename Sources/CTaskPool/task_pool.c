// SPDX-License-Identifier: Apache-2.0
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

#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
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

// Giving memory back after a burst of work (docs/benchmarks.md, "Memory after floods").
//
// glibc keeps what a burst freed: each thread's arena holds its free chunks, and only the top of the main arena is
// ever returned by free() itself. After 10,050 concurrent D-Bus calls devsyncd stayed at 5-7 times its resident
// baseline, all of it free heap (malloc_trim gave it back). So once the pool has been idle for `trim_quiet_ms`
// after at least `trim_min_work` units of work (jobs run here, plus what devsync_task_pool_note_work reports
// from the dispatch queues), the last worker to go idle calls malloc_trim(0). The timed wait happens only after
// such a burst, once: an idle daemon still never wakes up, and a single hotplug (a few dozen jobs) trims nothing.
static unsigned long work_done, work_at_last_trim;
static unsigned long trim_min_work = 4096;
static long trim_quiet_ms = 500;
static int trim_waiting;
static unsigned long trims;

// Whether a trim is owed and nobody waits for quiet yet; called with `lock` held.
static int trim_due(void) {
    return trim_min_work > 0 && !trim_waiting && work_done - work_at_last_trim >= trim_min_work;
}

// Waits (as an idle worker) until the pool has been quiet for trim_quiet_ms, then trims; called with `lock` held,
// returns with it held. New work ends the wait without trimming; the next idle worker waits again.
static void wait_and_trim(void) {
    trim_waiting = 1;
    struct timespec deadline;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += trim_quiet_ms / 1000;
    deadline.tv_nsec += (trim_quiet_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    int result = 0;
    unsigned long work_before = work_done;
    while (count == 0 && work_done == work_before && result != ETIMEDOUT) {
        result = pthread_cond_clockwait(&available, &lock, CLOCK_MONOTONIC, &deadline);
    }
    trim_waiting = 0;
    if (count != 0 || work_done != work_before) return;
    work_at_last_trim = work_done;
    trims++;
    pthread_mutex_unlock(&lock);
    malloc_trim(0);
    pthread_mutex_lock(&lock);
}

// One malloc arena for the whole process (docs/benchmarks.md, "Memory after floods"). glibc gives a thread that
// meets contention an arena of its own, and malloc_trim() gives back only the free chunks inside such an arena,
// never its top chunk (mtrim trims the top of the main arena alone): after a flood of calls, a pool worker's arena
// kept up to 1.5 MB of free top resident, which neither the trim nor a later free() gave back (the trim threshold
// had risen with the flood's large messages). In the one arena the top is trimmed too. It packs devices' data as
// well: with an arena per worker, each held devices' records among the cold-plug's freed chunks (10.1 against
// 8.25 KiB a device; docs/benchmarks.md, issue 17). devsyncd's few threads (the
// event loop on the main thread, a worker per CPU) serve most small allocations from their tcaches, without the
// arena's lock.
void devsync_malloc_one_arena(void) {
    mallopt(M_ARENA_MAX, 1);
}

static void *worker(void *unused) {
    (void)unused;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (count == 0) {
            idle++;
            if (idle == workers && trim_due()) {
                wait_and_trim();
            } else {
                pthread_cond_wait(&available, &lock);
            }
            idle--;
        }
        SwiftJob *job = ring[head];
        head = (head + 1) % capacity;
        count--;
        jobs_run++;
        work_done++;
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

void devsync_task_pool_note_work(unsigned long units) {
    pthread_mutex_lock(&lock);
    work_done += units;
    // Work done off the pool (a dispatch queue) finds every worker asleep: wake one to wait for quiet and trim.
    if (idle > 0 && idle == workers && count == 0 && trim_due()) pthread_cond_signal(&available);
    pthread_mutex_unlock(&lock);
}

void devsync_task_pool_set_trim(unsigned long min_work, unsigned quiet_ms) {
    pthread_mutex_lock(&lock);
    trim_min_work = min_work;
    trim_quiet_ms = quiet_ms;
    pthread_mutex_unlock(&lock);
}

unsigned long devsync_task_pool_trims(void) {
    pthread_mutex_lock(&lock);
    unsigned long value = trims;
    pthread_mutex_unlock(&lock);
    return value;
}

unsigned long devsync_task_pool_jobs_run(void) {
    pthread_mutex_lock(&lock);
    unsigned long value = jobs_run;
    pthread_mutex_unlock(&lock);
    return value;
}

// SPDX-License-Identifier: Apache-2.0
#ifndef DEVSYNC_TASK_POOL_H
#define DEVSYNC_TASK_POOL_H

/// Runs Swift Concurrency's global executor on `threads` pthreads of this module instead of libdispatch's
/// global queues, so that an idle daemon makes no wakeups (see task_pool.c). Call once, before any task runs on
/// the global executor; later calls do nothing. `threads` 0 means one per online CPU.
void devsync_task_pool_install(unsigned threads);

/// Counts `units` of work done outside the pool (messages a D-Bus connection's queue handled), so that a burst of
/// it is followed by a trim like a burst of jobs (see task_pool.c, "Giving memory back"). Safe from any thread.
void devsync_task_pool_note_work(unsigned long units);

/// Makes every thread allocate from glibc's main arena, whose free top malloc_trim() gives back (see task_pool.c,
/// "One malloc arena"). Call first in main, before any other thread runs.
void devsync_malloc_one_arena(void);

/// Sets when memory is given back: `min_work` units of work (jobs or noted units) since the last trim, then
/// `quiet_ms` without any. 0 for `min_work` turns trimming off. The defaults are 4,096 and 500 ms.
void devsync_task_pool_set_trim(unsigned long min_work, unsigned quiet_ms);

/// How many times the pool has trimmed the heap, for tests and benchmarks.
unsigned long devsync_task_pool_trims(void);

/// How many jobs the pool has run, for tests and benchmarks.
unsigned long devsync_task_pool_jobs_run(void);

/// Drains libdispatch's main queue on the calling thread, which must be the process's main thread, and never
/// returns: queues that target the main queue then run on this thread, which sleeps in poll() between their jobs
/// and never exits (see main_queue.c).
__attribute__((noreturn)) void devsync_main_queue_run(void);

#endif

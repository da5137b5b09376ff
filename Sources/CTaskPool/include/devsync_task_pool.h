#ifndef DEVSYNC_TASK_POOL_H
#define DEVSYNC_TASK_POOL_H

/// Runs Swift Concurrency's global executor on `threads` pthreads of this module instead of libdispatch's
/// global queues, so that an idle daemon makes no wakeups (see task_pool.c). Call once, before any task runs on
/// the global executor; later calls do nothing. `threads` 0 means one per online CPU.
void devsync_task_pool_install(unsigned threads);

/// How many jobs the pool has run, for tests and benchmarks.
unsigned long devsync_task_pool_jobs_run(void);

#endif

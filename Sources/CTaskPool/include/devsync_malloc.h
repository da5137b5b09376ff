// SPDX-License-Identifier: Apache-2.0
#ifndef DEVSYNC_MALLOC_H
#define DEVSYNC_MALLOC_H

/// Makes glibc's malloc keep one arena for every thread (M_ARENA_MAX 1). Call before any thread but the main one
/// exists (docs/benchmarks.md, issue 17).
void devsync_malloc_use_one_arena(void);

#endif

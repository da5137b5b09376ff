// SPDX-License-Identifier: Apache-2.0
// glibc gives each thread that meets contention an arena (a heap) of its own, up to eight per core. devsyncd's
// work runs on one serial queue and a pool of two workers: an arena each bought it no speed, only heaps that each
// held devices' data among the cold-plug's freed fragments. One arena packs them (docs/benchmarks.md, issue 17).
// Swift's Glibc module does not export <malloc.h>, hence this file.
#include "devsync_malloc.h"

#include <malloc.h>

void devsync_malloc_use_one_arena(void) { mallopt(M_ARENA_MAX, 1); }
